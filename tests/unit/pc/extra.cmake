# pc_browser_peer: the native end of tests/integration/pc_chromium.sh (a helper
# executable driven by tools/browser/run.sh, not a ctest of its own).
add_executable(pc_browser_peer ${CMAKE_CURRENT_LIST_DIR}/pc_browser_peer.c)
target_link_libraries(pc_browser_peer PRIVATE cwebrtc_static)

# pc_relay_peer: two rtc_peer with iceTransportPolicy "relay" through real TURN servers
# (our turn-server and coTURN over UDP/TCP/TLS): the native end of
# tests/integration/pc_relay.sh.
add_executable(pc_relay_peer ${CMAKE_CURRENT_LIST_DIR}/pc_relay_peer.c)
target_link_libraries(pc_relay_peer PRIVATE cwebrtc_static)
