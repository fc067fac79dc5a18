# tests/unit/turn/extra.cmake: helper programs for the TURN integration tests (executables,
# not ctest tests). turn_probe drives the TURN client core against a real server
# (tests/integration/turnclient_coturn.sh).
add_executable(turn_probe ${CMAKE_CURRENT_LIST_DIR}/turn_probe.c)
target_link_libraries(turn_probe PRIVATE cwebrtc_static)
