# usrsctp (Debian libusrsctp-dev) is the reference peer of test_sctp_usrsctp_interop; the
# top level already ran find_library(USRSCTP_LIB usrsctp) and find_path(USRSCTP_INCLUDE).
if(TARGET test_sctp_usrsctp_interop AND USRSCTP_LIB AND USRSCTP_INCLUDE)
  target_compile_definitions(test_sctp_usrsctp_interop PRIVATE HAVE_USRSCTP=1)
  target_include_directories(test_sctp_usrsctp_interop PRIVATE ${USRSCTP_INCLUDE})
  target_link_libraries(test_sctp_usrsctp_interop PRIVATE ${USRSCTP_LIB})
  set_tests_properties(test_sctp_usrsctp_interop PROPERTIES TIMEOUT 120)
endif()
