// Included first in every translation unit of a TSan build (-include, from
// cmake/Sanitizers.cmake); not a header of the project.
//
// protobuf 3.21's map_field.h gives MapFieldBase two more members when
// __SANITIZE_THREAD__ is defined. Debian's libprotobuf is built without
// TSan, so code built with it would disagree with the library about the
// layout of every message that has a map field (google.protobuf.Struct,
// which the gateway's transcoder reads): wrong offsets, wild pointers (a
// SEGV in gateway.TranscoderTest). map_field.h is included here once with
// the macro hidden, so the layout is the library's; its include guard keeps
// it so for the rest of the translation unit.
#ifndef CALLPUSH_TESTS_SANITIZE_PROTOBUF_TSAN_ABI_H_
#define CALLPUSH_TESTS_SANITIZE_PROTOBUF_TSAN_ABI_H_

// libstdc++'s configuration first, while it still sees TSan (_GLIBCXX_TSAN).
#include <cstddef>

#pragma push_macro("__SANITIZE_THREAD__")
#undef __SANITIZE_THREAD__
#include <google/protobuf/map_field.h>
#pragma pop_macro("__SANITIZE_THREAD__")

#endif  // CALLPUSH_TESTS_SANITIZE_PROTOBUF_TSAN_ABI_H_
