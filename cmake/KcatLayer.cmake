# One static library per layer of DESIGN.md: kcat_<layer> from src/<layer>/*.cc, public headers in
# include/kcat/<layer>/. Adding a file to a layer needs no CMake edit (CONFIGURE_DEPENDS re-globs).
function(kcat_layer name)
  cmake_parse_arguments(L "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/src/${name}/*.cc")
  if(NOT _srcs)
    add_library(kcat_${name} INTERFACE)
    target_include_directories(kcat_${name} INTERFACE "${CMAKE_SOURCE_DIR}/include")
    foreach(_d ${L_DEPS})
      target_link_libraries(kcat_${name} INTERFACE kcat_${_d})
    endforeach()
    target_link_libraries(kcat_${name} INTERFACE ${L_LIBS})
    return()
  endif()
  add_library(kcat_${name} STATIC ${_srcs})
  target_include_directories(kcat_${name} PUBLIC "${CMAKE_SOURCE_DIR}/include")
  target_compile_options(kcat_${name} PRIVATE ${KCAT_WARNINGS})
  foreach(_d ${L_DEPS})
    target_link_libraries(kcat_${name} PUBLIC kcat_${_d})
  endforeach()
  target_link_libraries(kcat_${name} PUBLIC ${L_LIBS})
endfunction()

# tests/<layer>/*_test.cc -> one GoogleTest binary per layer, run by ctest.
function(kcat_layer_tests name)
  cmake_parse_arguments(T "" "" "LIBS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/tests/${name}/*_test.cc")
  if(NOT _srcs)
    return()
  endif()
  add_executable(kcat_${name}_test ${_srcs})
  target_compile_options(kcat_${name}_test PRIVATE ${KCAT_WARNINGS})
  target_include_directories(kcat_${name}_test PRIVATE "${CMAKE_SOURCE_DIR}/tests")
  if(TARGET kcat_${name})
    target_link_libraries(kcat_${name}_test PRIVATE kcat_${name})
  endif()
  target_link_libraries(kcat_${name}_test PRIVATE kcat_testsupport ${T_LIBS}
                        GTest::gmock GTest::gtest_main)
  target_compile_definitions(kcat_${name}_test PRIVATE
    KCAT_SOURCE_DIR="${CMAKE_SOURCE_DIR}" KCAT_BINARY="$<TARGET_FILE:kcat>")
  add_dependencies(kcat_${name}_test kcat)
  add_test(NAME ${name} COMMAND kcat_${name}_test --gtest_brief=1
           WORKING_DIRECTORY "${CMAKE_BINARY_DIR}")
  # The command-line suite drives the real binary (tmux, chromium, sshd, fault sweeps): under
  # ASan+UBSan on the 2-core CI machine it outgrew 900 s in session 7 (the others take < 2 min).
  set(_timeout 900)
  if(name STREQUAL "cli")
    set(_timeout 2400)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${_timeout}
    ENVIRONMENT "KCAT_SOURCE_DIR=${CMAKE_SOURCE_DIR};KCAT_BINARY=$<TARGET_FILE:kcat>")
endfunction()
