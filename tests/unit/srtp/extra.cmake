# libsrtp2 is the reference oracle for the differential test only (never linked into the
# library). Without it test_srtp_libsrtp builds as a stub that exits 77 (skipped).
if(TARGET test_srtp_libsrtp)
  set_tests_properties(test_srtp_libsrtp PROPERTIES SKIP_RETURN_CODE 77)
  if(TARGET PkgConfig::SRTP2)
    target_link_libraries(test_srtp_libsrtp PRIVATE PkgConfig::SRTP2)
    target_compile_definitions(test_srtp_libsrtp PRIVATE RTC_HAVE_LIBSRTP2=1)
  endif()
endif()
