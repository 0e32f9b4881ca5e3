#pragma once
// Eigen, included once for the whole project through this header. GCC 12 (Debian's, CI's
// compiler) reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics when Eigen's packet
// code inlines them (`__m256d __Y = __Y;` in avx512fintrin.h, GCC PR 105593, fixed in GCC 13);
// on an AVX-512 machine every Eigen product then fails a -Werror build. The warning stays on for
// engram's own code: only Eigen's templates are compiled under the suppression.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Dense>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
