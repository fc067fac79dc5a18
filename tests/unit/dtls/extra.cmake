# dtls_peer: drives our DTLS core over a real UDP socket for tests/integration/dtls_*.sh
# (interop with `openssl s_server` / `s_client`). A helper executable, not a ctest.
add_executable(dtls_peer ${CMAKE_CURRENT_LIST_DIR}/dtls_peer.c)
target_link_libraries(dtls_peer PRIVATE cwebrtc_static)
