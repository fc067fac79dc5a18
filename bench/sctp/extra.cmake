# usrsctp, when found by the top level, is the reference the bench compares against.
if(USRSCTP_LIB AND USRSCTP_INCLUDE)
  target_compile_definitions(bench_sctp PRIVATE HAVE_USRSCTP=1)
  target_include_directories(bench_sctp PRIVATE ${USRSCTP_INCLUDE})
  target_link_libraries(bench_sctp PRIVATE ${USRSCTP_LIB})
endif()
