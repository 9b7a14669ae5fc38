# Sanitizer builds (issue 7 item 4; run by tests/sanitize/run.sh).
# CALLPUSH_SANITIZE is the -fsanitize= list: "address,undefined" or "thread".
# Every target of the tree is compiled and linked with it; the Debian shared
# libraries (gRPC, protobuf, abseil, libpqxx, nghttp2) stay uninstrumented.
#
# The level comes after CMAKE_CXX_FLAGS_<CONFIG> on the command line and so
# wins over RelWithDebInfo's -O2 -g. ASan+UBSan: -O0 -g1, a translation unit
# compiles in 60% of the time of -O1 -g (CI's 45-minute budget, issue 7) and
# the tests, I/O-bound, run fast enough. TSan: -O1 -g1; unoptimized, its
# tests run slow enough to shift gRPC's internal hand-offs into orders that
# tsan.supp has to name one by one. -g1: stacks name every frame and line.
# -fno-sanitize-recover=all: a UBSan finding aborts the process (a failed
# test), as ASan and TSan findings do, instead of printing and going on.

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  message(WARNING "CALLPUSH_SANITIZE is tested with GCC 12 only "
                  "(compiler here: ${CMAKE_CXX_COMPILER_ID})")
endif()
if(CALLPUSH_SANITIZE MATCHES "thread" AND CALLPUSH_SANITIZE MATCHES "address")
  message(FATAL_ERROR "CALLPUSH_SANITIZE: thread cannot be combined with "
                      "address (got '${CALLPUSH_SANITIZE}')")
endif()

message(STATUS "Sanitizers: -fsanitize=${CALLPUSH_SANITIZE}")
if(CALLPUSH_SANITIZE MATCHES "thread")
  set(_callpush_sanitize_opt -O1)
else()
  set(_callpush_sanitize_opt -O0)
endif()
add_compile_options(
  -fsanitize=${CALLPUSH_SANITIZE}
  -fno-sanitize-recover=all
  -fno-omit-frame-pointer
  ${_callpush_sanitize_opt} -g1)
add_link_options(-fsanitize=${CALLPUSH_SANITIZE})


if(CALLPUSH_SANITIZE MATCHES "thread")
  # GCC 12 warns (-Wtsan, an error with CALLPUSH_WERROR) that TSan does not
  # model std::atomic_thread_fence. Only Boost.Asio's fenced_block uses one
  # (around handler calls); Asio's scheduler hands work between threads
  # with a mutex and eventfd/epoll, which TSan sees. callpush has no fence.
  add_compile_options(-Wno-tsan)

  # Debian's protobuf is not built with TSan, and its map_field.h changes a
  # class layout under TSan: every TU is made to see the library's layout
  # (tests/sanitize/protobuf_tsan_abi.h says how).
  add_compile_options(
    "SHELL:-include ${PROJECT_SOURCE_DIR}/tests/sanitize/protobuf_tsan_abi.h")

  # Nor is Debian's abseil: TSan cannot see absl::Mutex, CondVar,
  # Notification, BlockingCounter or absl::Status's reference count order
  # anything, and would report every guarded member as a race. This shared
  # library annotates them for TSan (tests/sanitize/absl_sync_tsan.cc says
  # how); linked first into every target below, it is loaded before abseil
  # and its definitions win for our code, gRPC and abseil alike.
  find_package(absl CONFIG REQUIRED)
  add_library(callpush_absl_sync_tsan SHARED
    "${PROJECT_SOURCE_DIR}/tests/sanitize/absl_sync_tsan.cc")
  target_link_libraries(callpush_absl_sync_tsan PRIVATE
    absl::synchronization absl::status ${CMAKE_DL_LIBS})
  link_libraries(callpush_absl_sync_tsan)
endif()
