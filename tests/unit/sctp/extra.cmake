# usrsctp (Debian libusrsctp-dev) is the reference peer of test_sctp_usrsctp_interop; the
# top level already ran find_library(USRSCTP_LIB usrsctp) and find_path(USRSCTP_INCLUDE).
if(TARGET test_sctp_usrsctp_interop AND USRSCTP_LIB AND USRSCTP_INCLUDE)
  target_compile_definitions(test_sctp_usrsctp_interop PRIVATE HAVE_USRSCTP=1)
  target_include_directories(test_sctp_usrsctp_interop PRIVATE ${USRSCTP_INCLUDE})
  target_link_libraries(test_sctp_usrsctp_interop PRIVATE ${USRSCTP_LIB})
  set_tests_properties(test_sctp_usrsctp_interop PROPERTIES TIMEOUT 120)
endif()

# test_bulk.c: one scenario per ctest test so they run side by side (the auto-registered
# test_sctp_bulk runs loss0). Together 1 GiB in the normal build, 1/32 of it under ASan.
if(TARGET test_sctp_bulk)
  foreach(sc loss1 loss10 loss30)
    add_test(NAME test_sctp_bulk_${sc} COMMAND test_sctp_bulk ${sc} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
    set_tests_properties(test_sctp_bulk_${sc} PROPERTIES LABELS unit TIMEOUT 300)
  endforeach()
endif()
