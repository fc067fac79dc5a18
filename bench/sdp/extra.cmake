# bench_sdp reads its default inputs from the source tree's SDP corpus.
target_compile_definitions(bench_sdp PRIVATE RTC_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
