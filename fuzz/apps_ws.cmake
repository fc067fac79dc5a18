# fuzz/apps_ws.cmake: included by cmake/fuzz.cmake with ${exe} = fuzz_apps_ws.
# The target tests the cwebrtc app's WebSocket client, so it compiles that source in.
target_sources(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/apps/cwebrtc/ws.c)
target_include_directories(${exe} PRIVATE ${CMAKE_SOURCE_DIR}/apps/cwebrtc)
