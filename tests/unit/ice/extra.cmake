# tests/unit/ice/extra.cmake: ICE with the real TURN client and server cores on the
# simulator (turn_sim.c). Built only when the turn and net layers and the simulator are in
# the build, so that RTC_LAYERS="util;stun;ice;sim" still links.
rtc_selected(turn ice_turn_sel)
rtc_selected(net ice_net_sel) # src/turn uses the stream framer of src/net
if(ice_turn_sel AND ice_net_sel AND TARGET rtc_test_support)
  add_executable(test_ice_turn ${CMAKE_CURRENT_LIST_DIR}/turn_sim.c)
  target_include_directories(test_ice_turn PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(test_ice_turn PRIVATE cwebrtc_static rtc_test_support)
  target_compile_definitions(test_ice_turn PRIVATE RTC_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  add_test(NAME test_ice_turn COMMAND test_ice_turn WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(test_ice_turn PROPERTIES LABELS unit TIMEOUT 300)
endif()

# The two-process loopback test again, over src/net's sockets, clock and interface list.
if(ice_net_sel)
  add_executable(test_ice_net_loopback ${CMAKE_CURRENT_LIST_DIR}/test_loopback.c)
  target_include_directories(test_ice_net_loopback PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(test_ice_net_loopback PRIVATE cwebrtc_static)
  target_compile_definitions(test_ice_net_loopback PRIVATE ICE_USE_RTC_NET=1)
  add_test(NAME test_ice_net_loopback COMMAND test_ice_net_loopback WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(test_ice_net_loopback PROPERTIES LABELS unit TIMEOUT 60)
endif()
