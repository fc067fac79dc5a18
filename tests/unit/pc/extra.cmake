# pc_browser_peer: the native end of tests/integration/pc_chromium.sh (a helper
# executable driven by tools/browser/run.sh, not a ctest of its own).
add_executable(pc_browser_peer ${CMAKE_CURRENT_LIST_DIR}/pc_browser_peer.c)
target_link_libraries(pc_browser_peer PRIVATE cwebrtc_static)
