# bench_pc reuses the in-memory pair harness of the unit tests.
target_include_directories(bench_pc PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit/pc ${CMAKE_SOURCE_DIR}/tests)
# mem.c names allocation sites with dladdr + addr2line (bench_pc mem).
target_link_libraries(bench_pc PRIVATE ${CMAKE_DL_LIBS})
