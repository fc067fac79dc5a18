# apps/cwebrtc/extra.cmake: included right after add_executable(cwebrtc ...) with ${app} = cwebrtc.
# `cwebrtc signal-server` needs libwebsockets (HTTP + WebSocket server) and jansson (JSON).
# tools/install-deps.sh installs them (Debian: libwebsockets-dev, libjansson-dev), so a missing
# one is a broken setup, not an optional feature: fail loudly here instead of building a
# cwebrtc without its signaling server.
pkg_check_modules(LWS IMPORTED_TARGET libwebsockets)
pkg_check_modules(JANSSON IMPORTED_TARGET jansson)
if(NOT LWS_FOUND)
  message(FATAL_ERROR "cwebrtc signal-server needs libwebsockets: apt-get install -y libwebsockets-dev "
                      "(or run tools/install-deps.sh)")
endif()
if(NOT JANSSON_FOUND)
  message(FATAL_ERROR "cwebrtc signal-server needs jansson: apt-get install -y libjansson-dev "
                      "(or run tools/install-deps.sh)")
endif()
target_link_libraries(${app} PRIVATE PkgConfig::LWS PkgConfig::JANSSON)
# Default web root for `signal-server` when --web is not given: the source tree's web/.
target_compile_definitions(${app} PRIVATE RTC_WEB_DIR="${CMAKE_SOURCE_DIR}/web")
