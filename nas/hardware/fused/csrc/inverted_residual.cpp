// nas_fused::inverted_residual -- one whole OFA-MobileNetV3 inverted-residual block, inference mode,
// BN already folded into the conv weights and biases (done in Python, nas/hardware/fused/fuse.py).
//
// Layout. The op takes and returns NCHW float32 (what the surrounding eager network passes). Inside,
// every intermediate is NHWC with the channel count padded to a multiple of 8, so that the expand
// GEMM, the depthwise conv and the project GEMM all vectorize over channels with full 8-wide AVX2
// vectors and no tails (padded channels carry zero weights, so they never reach the output). The
// input is never transposed: the expand GEMM broadcasts its scalars straight from NCHW, and the
// project's NHWC tile is transposed back to NCHW while it is written (with the residual add and the
// block's post activation fused into that store).
//
// Tiling. A work item is one image and a range of output rows. It keeps a ring of K expanded input
// rows (K = depthwise kernel size, each row zero-padded by K/2 columns on both sides) in a per-thread
// buffer; going down one output row expands only the `stride` new input rows the window needs, so the
// expanded tensor is never materialized and only the K-stride halo rows at an item's first row are
// expanded twice. Depthwise output rows are collected into a small group (about 32 pixels), which is
// then projected (1x1 GEMM + bias) and stored.
//
// SE. Squeeze-excite needs the global mean of the whole depthwise output before anything can be
// projected, so SE blocks run in two passes: pass 1 runs the tiled expand + depthwise and stores the
// depthwise output (NHWC, one buffer per call) while accumulating its channel sums; then the gate is
// computed per image and folded into a per-image copy of the project weights (W'[c][o] = W[c][o]*g[c],
// cheaper than scaling the activations); pass 2 projects the stored output with them. Recomputing
// expand + depthwise in pass 2 instead would save that buffer but double the block's main cost.
//
// Weights (all float32, contiguous; Cm = mid channels padded to 8, Cp = out channels padded to 8):
//   w_expand [Cin, Cm] (transposed), b_expand [Cm]     -- undefined (None) when expand ratio is 1
//   w_dw [K*K, Cm], b_dw [Cm]
//   se_w1 [S, Cm], se_b1 [S], se_w2 [S, Cm] (transposed), se_b2 [Cm]   -- None without SE
//   w_proj [Cm, Cp] (transposed), b_proj [Cp]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace {

enum Act { A_NONE = 0, A_RELU = 1, A_RELU6 = 2, A_HSWISH = 3, A_HSIGMOID = 4 };

int parse_act(const std::string& s) {
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

// ----------------------------------------------------------------------------- GEMM micro-kernels
// C[p][n0 + j] = act(bias[j] + sum_k A(p, k) * B[k][j]) for p < PX, j < 8*CB; A(p, k) = a[p*sp + k*sk].
template <int PX, int CB, int A>
inline void gemm_tile(const float* a, int64_t sp, int64_t sk, int64_t K, const float* b, int64_t ldb,
                      const float* bias, float* c, int64_t ldc) {
  __m256 acc[PX][CB];
  for (int j = 0; j < CB; ++j) {
    __m256 bv = _mm256_loadu_ps(bias + 8 * j);
    for (int p = 0; p < PX; ++p) acc[p][j] = bv;
  }
  for (int64_t k = 0; k < K; ++k) {
    const float* brow = b + k * ldb;
    __m256 bw[CB];
    for (int j = 0; j < CB; ++j) bw[j] = _mm256_loadu_ps(brow + 8 * j);
    const float* ak = a + k * sk;
    for (int p = 0; p < PX; ++p) {
      __m256 av = _mm256_broadcast_ss(ak + p * sp);
      for (int j = 0; j < CB; ++j) acc[p][j] = _mm256_fmadd_ps(av, bw[j], acc[p][j]);
    }
  }
  for (int p = 0; p < PX; ++p)
    for (int j = 0; j < CB; ++j) _mm256_storeu_ps(c + p * ldc + 8 * j, act_v<A>(acc[p][j]));
}

template <int CB, int A, int PXMAX>
inline void gemm_cols(int64_t P, const float* a, int64_t sp, int64_t sk, int64_t K, const float* b, int64_t ldb,
                      const float* bias, float* c, int64_t ldc) {
  int64_t p = 0;
  for (; p + PXMAX <= P; p += PXMAX) gemm_tile<PXMAX, CB, A>(a + p * sp, sp, sk, K, b, ldb, bias, c + p * ldc, ldc);
  const float* ap = a + p * sp;
  float* cp = c + p * ldc;
  switch (P - p) {
    case 0: break;
    case 1: gemm_tile<1, CB, A>(ap, sp, sk, K, b, ldb, bias, cp, ldc); break;
    case 2: gemm_tile<2, CB, A>(ap, sp, sk, K, b, ldb, bias, cp, ldc); break;
    case 3: gemm_tile<3, CB, A>(ap, sp, sk, K, b, ldb, bias, cp, ldc); break;
    case 4: gemm_tile<4, CB, A>(ap, sp, sk, K, b, ldb, bias, cp, ldc); break;
    case 5: gemm_tile<5, CB, A>(ap, sp, sk, K, b, ldb, bias, cp, ldc); break;
    case 6: gemm_tile<6, CB, A>(ap, sp, sk, K, b, ldb, bias, cp, ldc); break;
    case 7: gemm_tile<7, CB, A>(ap, sp, sk, K, b, ldb, bias, cp, ldc); break;
    default: break;
  }
}

// C[P][N] (row stride ldc) = act(A[P][K] * B[K][N] + bias), N a multiple of 8.
template <int A>
void gemm(int64_t P, const float* a, int64_t sp, int64_t sk, int64_t K, const float* b, int64_t N,
          const float* bias, float* c, int64_t ldc) {
  int64_t n = 0;
  for (; n + 24 <= N; n += 24) gemm_cols<3, A, 4>(P, a, sp, sk, K, b + n, N, bias + n, c + n, ldc);
  if (N - n == 16) gemm_cols<2, A, 6>(P, a, sp, sk, K, b + n, N, bias + n, c + n, ldc);
  else if (N - n == 8) gemm_cols<1, A, 8>(P, a, sp, sk, K, b + n, N, bias + n, c + n, ldc);
}

using GemmFn = void (*)(int64_t, const float*, int64_t, int64_t, int64_t, const float*, int64_t, const float*,
                        float*, int64_t);
GemmFn gemm_for(int a) {
  switch (a) {
    case A_RELU: return gemm<A_RELU>;
    case A_RELU6: return gemm<A_RELU6>;
    case A_HSWISH: return gemm<A_HSWISH>;
    case A_HSIGMOID: return gemm<A_HSIGMOID>;
    default: return gemm<A_NONE>;
  }
}

// ----------------------------------------------------------------------------- depthwise row
// out[ox][c] = act(bias[c] + sum_{ky,kx} rows[ky][ox*S + kx][c] * w[ky*K + kx][c]); rows are padded
// NHWC rows (column 0 is input column -K/2). Adds the outputs into chsum when it is given.
template <int K, int S, int A>
void dw_row(const float* const* rows, int64_t Wo, int64_t C, const float* w, const float* bias, float* out,
            float* chsum) {
  constexpr int QX = 4;
  for (int64_t c = 0; c < C; c += 8) {
    const __m256 bv = _mm256_loadu_ps(bias + c);
    __m256 sum = _mm256_setzero_ps();
    int64_t ox = 0;
    for (; ox + QX <= Wo; ox += QX) {
      __m256 acc[QX];
      for (int q = 0; q < QX; ++q) acc[q] = bv;
      for (int ky = 0; ky < K; ++ky) {
        const float* r = rows[ky] + c + ox * S * C;
        for (int kx = 0; kx < K; ++kx) {
          const __m256 wv = _mm256_loadu_ps(w + (ky * K + kx) * C + c);
          for (int q = 0; q < QX; ++q)
            acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(r + (q * S + kx) * C), wv, acc[q]);
        }
      }
      for (int q = 0; q < QX; ++q) {
        __m256 v = act_v<A>(acc[q]);
        _mm256_storeu_ps(out + (ox + q) * C + c, v);
        sum = _mm256_add_ps(sum, v);
      }
    }
    for (; ox < Wo; ++ox) {
      __m256 acc = bv;
      for (int ky = 0; ky < K; ++ky) {
        const float* r = rows[ky] + c + ox * S * C;
        for (int kx = 0; kx < K; ++kx)
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(r + kx * C), _mm256_loadu_ps(w + (ky * K + kx) * C + c), acc);
      }
      __m256 v = act_v<A>(acc);
      _mm256_storeu_ps(out + ox * C + c, v);
      sum = _mm256_add_ps(sum, v);
    }
    if (chsum) _mm256_storeu_ps(chsum + c, _mm256_add_ps(_mm256_loadu_ps(chsum + c), sum));
  }
}

using DwFn = void (*)(const float* const*, int64_t, int64_t, const float*, const float*, float*, float*);

template <int K, int S>
DwFn dw_for_act(int a) {
  switch (a) {
    case A_RELU: return dw_row<K, S, A_RELU>;
    case A_RELU6: return dw_row<K, S, A_RELU6>;
    case A_HSWISH: return dw_row<K, S, A_HSWISH>;
    case A_HSIGMOID: return dw_row<K, S, A_HSIGMOID>;
    default: return dw_row<K, S, A_NONE>;
  }
}

DwFn dw_for(int64_t k, int64_t s, int a) {
  if (k == 3) return s == 1 ? dw_for_act<3, 1>(a) : dw_for_act<3, 2>(a);
  if (k == 5) return s == 1 ? dw_for_act<5, 1>(a) : dw_for_act<5, 2>(a);
  if (k == 7) return s == 1 ? dw_for_act<7, 1>(a) : dw_for_act<7, 2>(a);
  TORCH_CHECK(false, "nas_fused: depthwise kernel ", k, " not built (3, 5, 7)");
  return nullptr;
}

// ----------------------------------------------------------------------------- per-thread scratch
float* scratch(std::vector<float>& v, size_t n) {
  if (v.size() < n + 16) v.resize(n + 16);
  return v.data();
}
thread_local std::vector<float> t_ring, t_dw, t_out;

struct Block {
  // shapes
  int64_t N, Cin, H, W, K, S, pad, Ho, Wo, Cm, Cout, Cp, Wp;
  bool expand, se, residual;
  int act, post;
  // data
  const float *x, *we, *be, *wd, *bd, *wp, *bp;
  float* y;
  GemmFn expand_gemm, proj_gemm;
  DwFn dw;

  // Fill one padded ring row with expanded (or, without expand, transposed) input row iy of image n.
  void fill_row(float* row, int64_t n, int64_t iy) const {
    float* interior = row + pad * Cm;
    if (iy < 0 || iy >= H) {
      std::memset(interior, 0, sizeof(float) * W * Cm);
      return;
    }
    const float* xr = x + (n * Cin * H + iy) * W;  // x[n][0][iy][0]; channel stride H*W
    if (expand) {
      expand_gemm(W, xr, 1, H * W, Cin, we, Cm, be, interior, Cm);
    } else {  // Cin == Cm up to padding
      for (int64_t w = 0; w < W; ++w) {
        float* o = interior + w * Cm;
        int64_t c = 0;
        for (; c < Cin; ++c) o[c] = xr[c * H * W + w];
        for (; c < Cm; ++c) o[c] = 0.f;
      }
    }
  }

  // Project P = rows*Wo pixels of depthwise output (NHWC, ld Cm) starting at output row oy0 of image n
  // with weights wproj [Cm][Cp], and store them to y (NCHW) with residual and post activation.
  void project_store(const float* dwo, int64_t n, int64_t oy0, int64_t rows, const float* wproj,
                     float* otile) const {
    const int64_t P = rows * Wo;
    proj_gemm(P, dwo, Cm, 1, Cm, wproj, Cp, bp, otile, Cp);
    for (int64_t co = 0; co < Cout; ++co) {
      float* o = y + ((n * Cout + co) * Ho + oy0) * Wo;
      const float* t = otile + co;
      if (residual) {
        const float* xr = x + ((n * Cin + co) * H + oy0) * W;
        for (int64_t p = 0; p < P; ++p) o[p] = act_s(t[p * Cp] + xr[p], post);
      } else if (post != A_NONE) {
        for (int64_t p = 0; p < P; ++p) o[p] = act_s(t[p * Cp], post);
      } else {
        for (int64_t p = 0; p < P; ++p) o[p] = t[p * Cp];
      }
    }
  }

  // Output rows [oy_begin, oy_end) of image n. Without SE they are projected and stored in groups of
  // `group` rows; with SE the depthwise output goes to dwfull (rows of image n) and its channel sums
  // are added into chsum.
  void run_rows(int64_t n, int64_t oy_begin, int64_t oy_end, int64_t group, float* dwfull, float* chsum) const {
    const int64_t row_len = Wp * Cm;
    float* ring = scratch(t_ring, K * row_len);
    std::vector<int64_t> slot_row(K, INT64_MIN);
    for (int64_t s = 0; s < K; ++s) {  // padding columns stay zero
      std::memset(ring + s * row_len, 0, sizeof(float) * pad * Cm);
      std::memset(ring + s * row_len + (pad + W) * Cm, 0, sizeof(float) * pad * Cm);
    }
    float* dwbuf = se ? nullptr : scratch(t_dw, group * Wo * Cm);
    float* otile = se ? nullptr : scratch(t_out, group * Wo * Cp);
    const float* rows[7];
    int64_t g0 = oy_begin;
    for (int64_t oy = oy_begin; oy < oy_end; ++oy) {
      const int64_t iy0 = oy * S - pad;
      for (int64_t ky = 0; ky < K; ++ky) {
        const int64_t iy = iy0 + ky;
        const int64_t slot = (iy + pad) % K;
        float* r = ring + slot * row_len;
        if (slot_row[slot] != iy) {
          fill_row(r, n, iy);
          slot_row[slot] = iy;
        }
        rows[ky] = r;
      }
      float* out = se ? dwfull + oy * Wo * Cm : dwbuf + (oy - g0) * Wo * Cm;
      dw(rows, Wo, Cm, wd, bd, out, chsum);
      if (!se && (oy + 1 - g0 == group || oy + 1 == oy_end)) {
        project_store(dwbuf, n, g0, oy + 1 - g0, wp, otile);
        g0 = oy + 1;
      }
    }
  }
};

const float* opt_ptr(const c10::optional<at::Tensor>& t) {
  return t.has_value() && t->defined() ? t->data_ptr<float>() : nullptr;
}

void check_weight(const at::Tensor& t, const char* name, std::initializer_list<int64_t> shape) {
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.device().is_cpu() && t.is_contiguous(), "nas_fused: ", name,
              " must be a contiguous float32 CPU tensor");
  TORCH_CHECK(t.sizes().vec() == std::vector<int64_t>(shape), "nas_fused: ", name, " has shape ", t.sizes(),
              ", expected ", c10::IntArrayRef(shape));
}

at::Tensor inverted_residual_cpu(const at::Tensor& x_in, const c10::optional<at::Tensor>& w_expand,
                                 const c10::optional<at::Tensor>& b_expand, const at::Tensor& w_dw,
                                 const at::Tensor& b_dw, const c10::optional<at::Tensor>& se_w1,
                                 const c10::optional<at::Tensor>& se_b1, const c10::optional<at::Tensor>& se_w2,
                                 const c10::optional<at::Tensor>& se_b2, const at::Tensor& w_proj,
                                 const at::Tensor& b_proj, int64_t kernel, int64_t stride, c10::string_view act,
                                 c10::string_view post_act, bool residual, int64_t out_channels) {
  TORCH_CHECK(x_in.dim() == 4 && x_in.scalar_type() == at::kFloat && x_in.device().is_cpu(),
              "nas_fused.inverted_residual: x must be a 4-d float32 CPU tensor (N, C, H, W), got ",
              x_in.scalar_type(), " ", x_in.sizes());
  TORCH_CHECK(kernel == 3 || kernel == 5 || kernel == 7, "nas_fused: kernel must be 3, 5 or 7, got ", kernel);
  TORCH_CHECK(stride == 1 || stride == 2, "nas_fused: stride must be 1 or 2, got ", stride);
  at::Tensor x = x_in.contiguous();
  Block b;
  b.N = x.size(0); b.Cin = x.size(1); b.H = x.size(2); b.W = x.size(3);
  b.K = kernel; b.S = stride; b.pad = kernel / 2;
  b.Ho = (b.H - 1) / stride + 1; b.Wo = (b.W - 1) / stride + 1;
  b.Cm = w_dw.size(-1); b.Cout = out_channels; b.Cp = w_proj.size(-1); b.Wp = b.W + 2 * b.pad;
  b.expand = w_expand.has_value() && w_expand->defined();
  b.se = se_w1.has_value() && se_w1->defined();
  b.residual = residual;
  b.act = parse_act(std::string(act));
  b.post = parse_act(std::string(post_act));
  TORCH_CHECK(b.Cm % 8 == 0 && b.Cp % 8 == 0 && b.Cp >= b.Cout && b.Cp < b.Cout + 8,
              "nas_fused: padded channel counts must be multiples of 8");
  check_weight(w_dw, "w_dw", {kernel * kernel, b.Cm});
  check_weight(b_dw, "b_dw", {b.Cm});
  check_weight(w_proj, "w_proj", {b.Cm, b.Cp});
  check_weight(b_proj, "b_proj", {b.Cp});
  if (b.expand) {
    TORCH_CHECK(b_expand.has_value() && b_expand->defined(), "nas_fused: w_expand without b_expand");
    check_weight(*w_expand, "w_expand", {b.Cin, b.Cm});
    check_weight(*b_expand, "b_expand", {b.Cm});
  } else {
    TORCH_CHECK(b.Cin <= b.Cm && b.Cm < b.Cin + 8, "nas_fused: without expand, input has ", b.Cin,
                " channels but w_dw has ", b.Cm);
  }
  int64_t S_se = 0;
  if (b.se) {
    S_se = se_w1->size(0);
    check_weight(*se_w1, "se_w1", {S_se, b.Cm});
    TORCH_CHECK(se_b1.has_value() && se_w2.has_value() && se_b2.has_value(), "nas_fused: incomplete SE weights");
    check_weight(*se_b1, "se_b1", {S_se});
    check_weight(*se_w2, "se_w2", {S_se, b.Cm});
    check_weight(*se_b2, "se_b2", {b.Cm});
  }
  if (residual)
    TORCH_CHECK(stride == 1 && b.Cin == b.Cout, "nas_fused: residual needs stride 1 and in == out channels");
  at::Tensor y = at::empty({b.N, b.Cout, b.Ho, b.Wo}, x.options());
  b.x = x.data_ptr<float>();
  b.we = opt_ptr(w_expand); b.be = opt_ptr(b_expand);
  b.wd = w_dw.data_ptr<float>(); b.bd = b_dw.data_ptr<float>();
  b.wp = w_proj.data_ptr<float>(); b.bp = b_proj.data_ptr<float>();
  b.y = y.data_ptr<float>();
  b.expand_gemm = gemm_for(b.act);
  b.proj_gemm = gemm_for(A_NONE);
  b.dw = dw_for(kernel, stride, b.act);
  if (b.N == 0 || b.Cout == 0) return y;

  const int T = std::max(1, at::get_num_threads());
  // Work items: (image, chunk of output rows). Enough chunks per image that items split evenly across
  // threads (T / gcd(N, T)), since each chunk re-expands K - stride halo rows.
  const int64_t chunks = std::min<int64_t>(b.Ho, T / std::gcd<int64_t>(b.N, T));
  const int64_t items = b.N * chunks;
  const int64_t group = std::max<int64_t>(1, (32 + b.Wo - 1) / b.Wo);
  auto chunk_rows = [&](int64_t i, int64_t& n, int64_t& r0, int64_t& r1) {
    n = i / chunks;
    const int64_t c = i % chunks;
    r0 = b.Ho * c / chunks;
    r1 = b.Ho * (c + 1) / chunks;
  };
  const int nthreads = static_cast<int>(std::min<int64_t>(T, items));

  if (!b.se) {
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t i = 0; i < items; ++i) {
      int64_t n, r0, r1;
      chunk_rows(i, n, r0, r1);
      b.run_rows(n, r0, r1, group, nullptr, nullptr);
    }
    return y;
  }

  // SE: pass 1, tiled expand + depthwise into dwfull, channel sums per item.
  at::Tensor dwfull_t = at::empty({b.N, b.Ho * b.Wo, b.Cm}, x.options());
  at::Tensor sums_t = at::zeros({items, b.Cm}, x.options());
  float* dwfull = dwfull_t.data_ptr<float>();
  float* sums = sums_t.data_ptr<float>();
#pragma omp parallel for schedule(static) num_threads(nthreads)
  for (int64_t i = 0; i < items; ++i) {
    int64_t n, r0, r1;
    chunk_rows(i, n, r0, r1);
    b.run_rows(n, r0, r1, group, dwfull + n * b.Ho * b.Wo * b.Cm, sums + i * b.Cm);
  }
  // Gate per image, folded into per-image project weights.
  at::Tensor wn_t = at::empty({b.N, b.Cm, b.Cp}, x.options());
  float* wn = wn_t.data_ptr<float>();
  const float* w1 = se_w1->data_ptr<float>();
  const float* b1 = se_b1->data_ptr<float>();
  const float* w2 = se_w2->data_ptr<float>();
  const float* b2 = se_b2->data_ptr<float>();
  const float inv = 1.f / static_cast<float>(b.Ho * b.Wo);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(std::min<int64_t>(T, b.N)))
  for (int64_t n = 0; n < b.N; ++n) {
    std::vector<float> mean(b.Cm, 0.f), hid(S_se), gate(b.Cm);
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t m = 0; m < b.Cm; ++m) mean[m] += sums[(n * chunks + c) * b.Cm + m];
    for (int64_t m = 0; m < b.Cm; ++m) mean[m] *= inv;
    for (int64_t j = 0; j < S_se; ++j) {
      float s = b1[j];
      for (int64_t m = 0; m < b.Cm; ++m) s += w1[j * b.Cm + m] * mean[m];
      hid[j] = s > 0.f ? s : 0.f;
    }
    for (int64_t m = 0; m < b.Cm; ++m) gate[m] = b2[m];
    for (int64_t j = 0; j < S_se; ++j)
      for (int64_t m = 0; m < b.Cm; ++m) gate[m] += w2[j * b.Cm + m] * hid[j];
    float* wdst = wn + n * b.Cm * b.Cp;
    for (int64_t m = 0; m < b.Cm; ++m) {
      const float g = act_s(gate[m], A_HSIGMOID);
      for (int64_t o = 0; o < b.Cp; ++o) wdst[m * b.Cp + o] = b.wp[m * b.Cp + o] * g;
    }
  }
  // Pass 2: project groups of rows.
  const int64_t ngroups = (b.Ho + group - 1) / group;
  const int64_t items2 = b.N * ngroups;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(std::min<int64_t>(T, items2)))
  for (int64_t i = 0; i < items2; ++i) {
    const int64_t n = i / ngroups, oy0 = (i % ngroups) * group;
    const int64_t rows = std::min(group, b.Ho - oy0);
    float* otile = scratch(t_out, group * b.Wo * b.Cp);
    b.project_store(dwfull + (n * b.Ho + oy0) * b.Wo * b.Cm, n, oy0, rows, wn + n * b.Cm * b.Cp, otile);
  }
  return y;
}

at::Tensor inverted_residual_meta(const at::Tensor& x, const c10::optional<at::Tensor>&,
                                  const c10::optional<at::Tensor>&, const at::Tensor&, const at::Tensor&,
                                  const c10::optional<at::Tensor>&, const c10::optional<at::Tensor>&,
                                  const c10::optional<at::Tensor>&, const c10::optional<at::Tensor>&,
                                  const at::Tensor&, const at::Tensor&, int64_t kernel, int64_t stride,
                                  c10::string_view, c10::string_view, bool, int64_t out_channels) {
  return at::empty({x.size(0), out_channels, (x.size(2) - 1) / stride + 1, (x.size(3) - 1) / stride + 1},
                   x.options());
}

}  // namespace

TORCH_LIBRARY(nas_fused, m) {
  m.def("inverted_residual(Tensor x, Tensor? w_expand, Tensor? b_expand, Tensor w_dw, Tensor b_dw, "
        "Tensor? se_w1, Tensor? se_b1, Tensor? se_w2, Tensor? se_b2, Tensor w_proj, Tensor b_proj, "
        "int kernel, int stride, str act, str post_act, bool residual, int out_channels) -> Tensor");
}

TORCH_LIBRARY_IMPL(nas_fused, CPU, m) {
  m.impl("inverted_residual", &inverted_residual_cpu);
}
