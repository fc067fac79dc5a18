# libsrtp2 as the comparison point (never linked into the library itself).
if(TARGET PkgConfig::SRTP2)
  target_link_libraries(bench_srtp PRIVATE PkgConfig::SRTP2)
  target_compile_definitions(bench_srtp PRIVATE RTC_HAVE_LIBSRTP2=1)
endif()
