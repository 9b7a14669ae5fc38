# libFuzzer builds (tests/fuzz, -DCALLPUSH_FUZZ=ON): every target is compiled
# with coverage instrumentation for libFuzzer plus ASan and UBSan, so that
# the code under test (gateway, push clients, config parsing) is what the
# fuzzers explore; only the fuzzer executables link libFuzzer itself
# (tests/fuzz/CMakeLists.txt adds -fsanitize=fuzzer there). Included from the
# top-level CMakeLists.txt before any target is defined. Needs clang
# (Debian's clang 14 and libclang-rt-14-dev, from deploy/install-deps.sh).
include_guard(GLOBAL)

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR
    "CALLPUSH_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++ "
    "-DCMAKE_C_COMPILER=clang (tests/fuzz/run.sh does)")
endif()

if(CALLPUSH_SANITIZE)
  message(FATAL_ERROR
    "CALLPUSH_FUZZ brings its own sanitizers (address,undefined): "
    "configure it without CALLPUSH_SANITIZE, in a build dir of its own")
endif()

# -O1 -g1: fast enough to fuzz, exact enough to read a stack (file and line
# of every frame; full debug info costs 20% more compile time). UB stops the
# run (a report that scrolls by is not a finding). -O1 -g1 come after the
# build type's -O2 -g and so win.
add_compile_options(
  -O1 -g1 -fno-omit-frame-pointer
  -fsanitize=fuzzer-no-link,address,undefined
  -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)
set(CALLPUSH_FUZZ_INSTRUMENTED ON)
