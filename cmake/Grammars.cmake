# The pinned tree-sitter grammars (tools/grammars.lock), fetched and verified by
# tools/fetch-grammars.sh, compiled as C into one static library.
# Configuring never touches the network: the grammars must be there already.
foreach(_g python cpp cuda)
  if(NOT EXISTS "${KCAT_GRAMMARS_DIR}/tree-sitter-${_g}/src/parser.c")
    message(FATAL_ERROR
      "kcat: the tree-sitter grammars are missing from ${KCAT_GRAMMARS_DIR} "
      "(no tree-sitter-${_g}/src/parser.c).\n"
      "Fetch them first (from the npm registry, verified against tools/grammars.lock), with\n"
      "  tools/install.sh\n"
      "or, without installing Debian packages,\n"
      "  tools/fetch-grammars.sh ${KCAT_GRAMMARS_DIR}\n"
      "then configure again.")
  endif()
endforeach()

set(_grammar_sources)
foreach(_g python cpp cuda)
  set(_dir "${KCAT_GRAMMARS_DIR}/tree-sitter-${_g}/src")
  add_library(kcat_grammar_${_g} STATIC "${_dir}/parser.c" "${_dir}/scanner.c")
  target_include_directories(kcat_grammar_${_g} PRIVATE "${_dir}")
  # Generated code: not ours to warn about, and optimised even in debug builds (it is large).
  target_compile_options(kcat_grammar_${_g} PRIVATE -w -O2)
  if(KCAT_SANITIZE)
    # Third-party generated code: its scanners memcpy from null with size 0 (harmless, but UBSan
    # would stop every test). ASan still covers it.
    target_compile_options(kcat_grammar_${_g} PRIVATE -fno-sanitize=undefined)
  endif()
  set_target_properties(kcat_grammar_${_g} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endforeach()
# Each grammar prefixes its symbols with its own name (tree_sitter_cuda_*), so all three link together.
add_library(kcat_grammars INTERFACE)
target_link_libraries(kcat_grammars INTERFACE kcat_grammar_python kcat_grammar_cpp kcat_grammar_cuda
                      PkgConfig::TREE_SITTER)
