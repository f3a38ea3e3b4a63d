# Fault injection (issue 8 item 3): tests/pkcs11/shim_fault.c wraps SoftHSM and fails or slows
# chosen calls from a control file ($HWJ_FAULT_CONTROL; format in the file's header and
# docs/pkcs11.md). The tests run on a token of their own (hwj-fault) in a folder of their own.
if(HWJ_WITH_PKCS11)
  add_library(hwj_p11_shim_fault MODULE pkcs11/shim_fault.c)
  target_include_directories(hwj_p11_shim_fault PRIVATE ${P11KIT_INCLUDE_DIRS})
  target_compile_definitions(hwj_p11_shim_fault PRIVATE HWJ_SOFTHSM_MODULE="${HWJ_SOFTHSM_MODULE}")
  target_link_libraries(hwj_p11_shim_fault PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
endif()
