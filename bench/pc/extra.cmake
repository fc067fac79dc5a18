# bench_pc reuses the in-memory pair harness of the unit tests.
target_include_directories(bench_pc PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit/pc ${CMAKE_SOURCE_DIR}/tests)
