// Shared by the nas_fused kernels: activations (vector and scalar) and per-thread scratch buffers.
#pragma once
#include <ATen/ATen.h>
#include <immintrin.h>

#include <algorithm>
#include <string>
#include <vector>

// Fully unroll a micro-kernel's fixed-size loops over pixels and channel blocks. Without it gcc -O3
// unrolls them but keeps the accumulator arrays on the stack, one store per FMA (half the speed).
#define NAS_UNROLL _Pragma("GCC unroll 16")

namespace nas_fused {

enum Act { A_NONE = 0, A_RELU = 1, A_RELU6 = 2, A_HSWISH = 3, A_HSIGMOID = 4 };

inline int parse_act(const std::string& s) {
  if (s == "none" || s.empty()) return A_NONE;
  if (s == "relu") return A_RELU;
  if (s == "relu6") return A_RELU6;
  if (s == "h_swish") return A_HSWISH;
  if (s == "h_sigmoid") return A_HSIGMOID;
  TORCH_CHECK(false, "nas_fused: unknown activation '", s, "' (none, relu, relu6, h_swish, h_sigmoid)");
  return A_NONE;
}

template <int A>
inline __m256 act_v(__m256 x) {
  if constexpr (A == A_NONE) {
    return x;
  } else if constexpr (A == A_RELU) {
    return _mm256_max_ps(x, _mm256_setzero_ps());
  } else if constexpr (A == A_RELU6) {
    return _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(6.f));
  } else {
    __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(x, _mm256_set1_ps(3.f)), _mm256_setzero_ps()),
                             _mm256_set1_ps(6.f));
    if constexpr (A == A_HSWISH) return _mm256_div_ps(_mm256_mul_ps(x, t), _mm256_set1_ps(6.f));
    else return _mm256_div_ps(t, _mm256_set1_ps(6.f));
  }
}

inline float act_s(float x, int a) {
  switch (a) {
    case A_RELU: return x > 0.f ? x : 0.f;
    case A_RELU6: return std::min(std::max(x, 0.f), 6.f);
    case A_HSWISH: return x * std::min(std::max(x + 3.f, 0.f), 6.f) / 6.f;
    case A_HSIGMOID: return std::min(std::max(x + 3.f, 0.f), 6.f) / 6.f;
    default: return x;
  }
}

template <typename T>
T* scratch(std::vector<T>& v, size_t n) {
  if (v.size() < n + 16) v.resize(n + 16);
  return v.data();
}
}  // namespace nas_fused
