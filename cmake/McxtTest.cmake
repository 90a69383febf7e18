# mcxt_add_test(NAME <name> COMMAND <program> [args...] [NO_WRAPPER] [LABELS l...])
#
# Registers a CTest test.  When the build is configured with
# -DMCXT_TEST_WRAPPER="valgrind --error-exitcode=99 ...", every test runs under
# that wrapper unless it says NO_WRAPPER (tests that ptrace, fork gcore, or
# time things cannot run under valgrind); such tests are then skipped from the
# wrapped run by label, never reported as passed.
set(MCXT_TEST_WRAPPER "" CACHE STRING "Command prefix for test programs (e.g. valgrind)")
separate_arguments(MCXT_TEST_WRAPPER_LIST UNIX_COMMAND "${MCXT_TEST_WRAPPER}")

function(mcxt_add_test)
  cmake_parse_arguments(T "NO_WRAPPER" "NAME" "COMMAND;LABELS" ${ARGN})
  set(labels ${T_LABELS})
  if(T_NO_WRAPPER)
    list(APPEND labels nowrap)
    add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  else()
    add_test(NAME ${T_NAME} COMMAND ${MCXT_TEST_WRAPPER_LIST} ${T_COMMAND})
  endif()
  if(labels)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${labels}")
  endif()
endfunction()
