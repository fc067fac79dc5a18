# fuzz/apps_room.cmake: included by cmake/fuzz.cmake with ${exe} = fuzz_apps_room.
# The target tests the cwebrtc app's room peer (room.c, which uses ws.c and jansson).
if(NOT TARGET PkgConfig::JANSSON)
  pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
endif()
target_sources(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/apps/cwebrtc/room.c
                              ${CMAKE_SOURCE_DIR}/apps/cwebrtc/ws.c)
target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/apps/cwebrtc)
target_link_libraries(${exe} PRIVATE PkgConfig::JANSSON)
