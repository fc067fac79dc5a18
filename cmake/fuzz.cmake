# libFuzzer targets: fuzz/<name>.c -> fuzz_<name>, each run briefly over fuzz/corpus/<name>.
# New inputs go to a scratch dir in the build tree, never into the source corpus.
set(RTC_FUZZ_SECONDS 10 CACHE STRING "seconds per fuzz target in ctest")
file(GLOB RTC_FUZZERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/*.c)
foreach(f ${RTC_FUZZERS})
  get_filename_component(fn ${f} NAME_WE)
  rtc_selected(${fn} sel)
  if(NOT sel)
    continue()
  endif()
  set(exe fuzz_${fn})
  add_executable(${exe} ${f})
  target_compile_options(${exe} PRIVATE -fsanitize=fuzzer)
  target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${exe} PRIVATE cwebrtc_static)
  # fuzz/<name>.cmake (optional): extra sources/libraries of that target, e.g. app code.
  if(EXISTS ${CMAKE_SOURCE_DIR}/fuzz/${fn}.cmake)
    include(${CMAKE_SOURCE_DIR}/fuzz/${fn}.cmake)
  endif()
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz-scratch/${fn})
  add_test(NAME ${exe}
           COMMAND ${exe} -max_total_time=${RTC_FUZZ_SECONDS} -timeout=10 -rss_limit_mb=2048
                   -print_final_stats=1
                   ${CMAKE_BINARY_DIR}/fuzz-scratch/${fn} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${fn})
  set_tests_properties(${exe} PROPERTIES LABELS fuzz TIMEOUT 120)
endforeach()
