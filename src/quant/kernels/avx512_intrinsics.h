// <immintrin.h> for the translation units compiled with AVX-512 flags (and only for them).
// GCC 12's AVX-512 headers build some results from _mm512_undefined_*(), which its own
// -Wuninitialized then flags at every use (a known false positive); the pragmas silence it for
// the rest of the including file.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
