// nas_fused::inverted_residual -- one whole OFA-MobileNetV3 inverted-residual block, inference mode,
// BN already folded into the conv weights and biases (done in Python, nas/hardware/fused/fuse.py).
//
// Layout. The op takes and returns NCHW float32 (what the surrounding eager network passes). Inside,
// channel counts are padded to multiples of 8 (padded channels carry zero weights and never reach
// the output), so every loop runs on full 8-wide AVX2 vectors over channels with no tails: the
// expanded rows are channel-blocked ([C/8][row][col][8], so a depthwise window of one channel block
// is contiguous memory), the depthwise output and the project tile are NHWC. The input is never
// transposed: the expand GEMM broadcasts its scalars straight from NCHW (a tile's pixels are
// contiguous there), and the project tile is transposed back to NCHW as it is stored, with the
// residual add and the block's post activation fused into that store.
//
// Tiling. A work item is one image and a range of output rows, processed in groups of R output rows
// (R such that a GEMM call sees >= 48 pixels: 1 row at 56 columns, the whole map at 7). Each thread
// keeps a ring of (R-1)*stride + K expanded input rows (each zero-padded by K/2 columns) in a
// per-thread buffer (<= 1 MiB, L2); a group expands, in one GEMM, only the input rows its depthwise
// windows need that the ring lacks, so the expanded tensor is never materialized and only an item's
// first K-stride halo rows are expanded twice. The group's depthwise rows (+ act) go to a small NHWC
// buffer, which is projected (1x1 GEMM + bias) and stored.
//
// SE. Squeeze-excite needs the global mean of the whole depthwise output before anything can be
// projected, so SE blocks run in two passes: pass 1 runs the tiled expand + depthwise and stores the
// depthwise output (NHWC, one buffer per call) while accumulating its channel sums; then the gate is
// computed per image; pass 2 scales each stored group by the gate (in cache, 1/C_out of the project's
// work) and projects it. Recomputing expand + depthwise in pass 2 instead would save that buffer but
// double the block's main cost.
//
// Weights (all float32, contiguous; Cm = mid channels padded to 8, Cp = out channels padded to 8):
//   w_expand [Cin, Cm] (transposed, panel-major: see gemm), b_expand [Cm]     -- undefined (None) when expand ratio is 1
//   w_dw [Cm/8, K*K, 8] (channel-blocked), b_dw [Cm]
//   se_w1 [S, Cm], se_b1 [S], se_w2 [S, Cm] (transposed), se_b2 [Cm]   -- None without SE
//   w_proj [Cm, Cp] (transposed, panel-major), b_proj [Cp]
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

#include "common.h"

namespace {

using namespace nas_fused;

// ----------------------------------------------------------------------------- GEMM micro-kernels
// C(p, j) = act(bias[j] + sum_k A(p, k) * B[k][j]) for p < PX and j < 8*CB, where A(p, k) = a[p*sp + k*sk]
// and the 8 channels j = 8*jb..8*jb+7 of pixel p are stored at c + off[p] + jb*cbs (off: per-pixel
// offsets, so one call can write several padded ring rows, or an NHWC tile with off[p] = p*ld, cbs = 8).
template <int PX, int CB, int A>
inline void gemm_tile(const float* a, int64_t sp, int64_t sk, int64_t K, const float* b, int64_t ldb,
                      const float* bias, float* c, const int64_t* off, int64_t cbs) {
  __m256 acc[PX][CB];
  NAS_UNROLL for (int j = 0; j < CB; ++j) {
    __m256 bv = _mm256_loadu_ps(bias + 8 * j);
    NAS_UNROLL for (int p = 0; p < PX; ++p) acc[p][j] = bv;
  }
  for (int64_t k = 0; k < K; ++k) {
    const float* brow = b + k * ldb;
    __m256 bw[CB];
    NAS_UNROLL for (int j = 0; j < CB; ++j) bw[j] = _mm256_loadu_ps(brow + 8 * j);
    const float* ak = a + k * sk;
    NAS_UNROLL for (int p = 0; p < PX; ++p) {
      __m256 av = _mm256_broadcast_ss(ak + p * sp);
      NAS_UNROLL for (int j = 0; j < CB; ++j) acc[p][j] = _mm256_fmadd_ps(av, bw[j], acc[p][j]);
    }
  }
  NAS_UNROLL for (int p = 0; p < PX; ++p)
    NAS_UNROLL for (int j = 0; j < CB; ++j) _mm256_storeu_ps(c + off[p] + j * cbs, act_v<A>(acc[p][j]));
}

template <int CB, int A, int PXMAX>
inline void gemm_cols(int64_t P, const float* a, int64_t sp, int64_t sk, int64_t K, const float* b, int64_t ldb,
                      const float* bias, float* c, const int64_t* off, int64_t cbs) {
  int64_t p = 0;
  for (; p + PXMAX <= P; p += PXMAX) gemm_tile<PXMAX, CB, A>(a + p * sp, sp, sk, K, b, ldb, bias, c, off + p, cbs);
  const float* ap = a + p * sp;
  const int64_t* op = off + p;
  switch (P - p) {
    case 0: break;
    case 1: gemm_tile<1, CB, A>(ap, sp, sk, K, b, ldb, bias, c, op, cbs); break;
    case 2: gemm_tile<2, CB, A>(ap, sp, sk, K, b, ldb, bias, c, op, cbs); break;
    case 3: gemm_tile<3, CB, A>(ap, sp, sk, K, b, ldb, bias, c, op, cbs); break;
    case 4: gemm_tile<4, CB, A>(ap, sp, sk, K, b, ldb, bias, c, op, cbs); break;
    case 5: gemm_tile<5, CB, A>(ap, sp, sk, K, b, ldb, bias, c, op, cbs); break;
    case 6: gemm_tile<6, CB, A>(ap, sp, sk, K, b, ldb, bias, c, op, cbs); break;
    case 7: gemm_tile<7, CB, A>(ap, sp, sk, K, b, ldb, bias, c, op, cbs); break;
    default: break;
  }
}

// C = act(A[P][K] * B[K][N] + bias) for N a multiple of 8, stored as gemm_tile says; B panel-major.
template <int A>
void gemm(int64_t P, const float* a, int64_t sp, int64_t sk, int64_t K, const float* b, int64_t N,
          const float* bias, float* c, const int64_t* off, int64_t cbs) {
  // b is panel-major: columns in panels of 24 (then one of 16 or 8), each panel [K][width] contiguous
  int64_t n = 0;
  for (; n + 24 <= N; n += 24) gemm_cols<3, A, 4>(P, a, sp, sk, K, b + n * K, 24, bias + n, c + n / 8 * cbs, off, cbs);
  if (N - n == 16) gemm_cols<2, A, 6>(P, a, sp, sk, K, b + n * K, 16, bias + n, c + n / 8 * cbs, off, cbs);
  else if (N - n == 8) gemm_cols<1, A, 8>(P, a, sp, sk, K, b + n * K, 8, bias + n, c + n / 8 * cbs, off, cbs);
}

using GemmFn = void (*)(int64_t, const float*, int64_t, int64_t, int64_t, const float*, int64_t, const float*,
                        float*, const int64_t*, int64_t);
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
// Ring rows are channel-blocked: channel block cb (8 channels) of a row is Wp*8 contiguous floats at
// row + cb*bs, column 0 being input column -K/2. Weights are blocked too: w[cb][ky*K + kx][8].
// out[ox][c] (NHWC, ld C) = act(bias[c] + sum_{ky,kx} in[ky][ox*S + kx][c] * w[..][c]); the outputs
// are added into chsum when it is given.
template <int K, int S, int A, int Q>
inline void dw_tile(const float* const* rows, int64_t off, const float* w, __m256 bv, float* out, int64_t C,
                    __m256& sum) {
  // few outputs: split the tap sum over several accumulators so the FMA chains do not serialize
  constexpr int SPLIT = Q >= 4 ? 1 : (Q >= 2 ? 2 : 4);
  __m256 acc[Q][SPLIT];
  NAS_UNROLL for (int q = 0; q < Q; ++q) {
    acc[q][0] = bv;
    NAS_UNROLL for (int t = 1; t < SPLIT; ++t) acc[q][t] = _mm256_setzero_ps();
  }
  for (int ky = 0; ky < K; ++ky) {
    const float* r = rows[ky] + off;
    for (int kx = 0; kx < K; ++kx) {
      const __m256 wv = _mm256_loadu_ps(w + (ky * K + kx) * 8);
      NAS_UNROLL for (int q = 0; q < Q; ++q)
        acc[q][(ky * K + kx) % SPLIT] =
            _mm256_fmadd_ps(_mm256_loadu_ps(r + (q * S + kx) * 8), wv, acc[q][(ky * K + kx) % SPLIT]);
    }
  }
  NAS_UNROLL for (int q = 0; q < Q; ++q) {
    __m256 v = acc[q][0];
    NAS_UNROLL for (int t = 1; t < SPLIT; ++t) v = _mm256_add_ps(v, acc[q][t]);
    v = act_v<A>(v);
    _mm256_storeu_ps(out + q * C, v);
    sum = _mm256_add_ps(sum, v);
  }
}

template <int K, int S, int A>
void dw_row(const float* const* rows, int64_t bs, int64_t Wo, int64_t C, const float* w, const float* bias,
            float* out, float* chsum) {
  constexpr int QX = S == 1 ? 8 : 4;
  for (int64_t cb = 0; cb < C / 8; ++cb) {
    const __m256 bv = _mm256_loadu_ps(bias + cb * 8);
    const float* wc = w + cb * K * K * 8;
    float* oc = out + cb * 8;
    const int64_t boff = cb * bs;
    __m256 sum = _mm256_setzero_ps();
    int64_t ox = 0;
    for (; ox + QX <= Wo; ox += QX) dw_tile<K, S, A, QX>(rows, boff + ox * S * 8, wc, bv, oc + ox * C, C, sum);
    const int64_t o = boff + ox * S * 8;
    switch (Wo - ox) {
      case 1: dw_tile<K, S, A, 1>(rows, o, wc, bv, oc + ox * C, C, sum); break;
      case 2: dw_tile<K, S, A, 2>(rows, o, wc, bv, oc + ox * C, C, sum); break;
      case 3: dw_tile<K, S, A, 3>(rows, o, wc, bv, oc + ox * C, C, sum); break;
      case 4: dw_tile<K, S, A, 4>(rows, o, wc, bv, oc + ox * C, C, sum); break;
      case 5: dw_tile<K, S, A, 5>(rows, o, wc, bv, oc + ox * C, C, sum); break;
      case 6: dw_tile<K, S, A, 6>(rows, o, wc, bv, oc + ox * C, C, sum); break;
      case 7: dw_tile<K, S, A, 7>(rows, o, wc, bv, oc + ox * C, C, sum); break;
      default: break;
    }
    if (chsum) _mm256_storeu_ps(chsum + cb * 8, _mm256_add_ps(_mm256_loadu_ps(chsum + cb * 8), sum));
  }
}

using DwFn = void (*)(const float* const*, int64_t, int64_t, int64_t, const float*, const float*, float*, float*);

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
thread_local std::vector<float> t_ring, t_dw, t_out;
thread_local std::vector<int64_t> t_off;

constexpr int64_t kRingBudget = 1 << 20;  // bytes of expanded rows per thread (L2-sized)
constexpr int64_t kMinPixels = 48;        // pixels per GEMM call worth having

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

  // Output rows per group: enough pixels per GEMM, ring within budget.
  int64_t group_rows() const {
    int64_t r = std::max<int64_t>(1, (kMinPixels + S * W - 1) / (S * W));
    const int64_t per_row = Wp * Cm * 4;
    const int64_t max_slots = std::max<int64_t>(K, kRingBudget / std::max<int64_t>(per_row, 1));
    r = std::min(r, (max_slots - K) / S + 1);
    return std::max<int64_t>(1, std::min(r, Ho));
  }

  // Fill input rows [lo, hi) of image n into their ring slots (expanded, or transposed without expand).
  void fill_rows(float* ring, int64_t B, int64_t bs, int64_t n, int64_t lo, int64_t hi) const {
    auto slot = [&](int64_t iy) { return ring + ((iy + pad) % B) * Wp * 8 + pad * 8; };
    for (int64_t iy = lo; iy < std::min<int64_t>(hi, 0); ++iy)
      for (int64_t cb = 0; cb < Cm / 8; ++cb) std::memset(slot(iy) + cb * bs, 0, sizeof(float) * W * 8);
    for (int64_t iy = std::max<int64_t>(lo, H); iy < hi; ++iy)
      for (int64_t cb = 0; cb < Cm / 8; ++cb) std::memset(slot(iy) + cb * bs, 0, sizeof(float) * W * 8);
    const int64_t r0 = std::max<int64_t>(lo, 0), r1 = std::min(hi, H);
    if (r1 <= r0) return;
    const float* xr = x + (n * Cin * H + r0) * W;  // x[n][0][r0][0]: pixels contiguous, channel stride H*W
    if (expand) {
      const int64_t P = (r1 - r0) * W;
      int64_t* off = scratch(t_off, P);
      for (int64_t p = 0; p < P; ++p) off[p] = slot(r0 + p / W) - ring + (p % W) * 8;
      expand_gemm(P, xr, 1, H * W, Cin, we, Cm, be, ring, off, bs);
    } else {  // Cin == Cm up to padding
      for (int64_t iy = r0; iy < r1; ++iy) {
        float* o = slot(iy);
        for (int64_t cb = 0; cb < Cm / 8; ++cb)
          for (int64_t w = 0; w < W; ++w)
            for (int64_t l = 0; l < 8; ++l) {
              const int64_t c = cb * 8 + l;
              o[cb * bs + w * 8 + l] = c < Cin ? xr[c * H * W + (iy - r0) * W + w] : 0.f;
            }
      }
    }
  }

  // Project P = rows*Wo pixels of depthwise output (NHWC, ld Cm) starting at output row oy0 of image n,
  // scaled per channel by gate when given, and store them to y (NCHW) with residual and post activation.
  void project_store(float* dwo, int64_t n, int64_t oy0, int64_t rows, const float* gate, float* otile) const {
    const int64_t P = rows * Wo;
    if (gate) {
      for (int64_t p = 0; p < P; ++p)
        for (int64_t c = 0; c < Cm; c += 8)
          _mm256_storeu_ps(dwo + p * Cm + c, _mm256_mul_ps(_mm256_loadu_ps(dwo + p * Cm + c), _mm256_loadu_ps(gate + c)));
    }
    int64_t* off = scratch(t_off, P);
    for (int64_t p = 0; p < P; ++p) off[p] = p * Cp;
    proj_gemm(P, dwo, Cm, 1, Cm, wp, Cp, bp, otile, off, 8);
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

  // Output rows [oy_begin, oy_end) of image n, in groups of R rows: expand the input rows the group's
  // depthwise windows need and are not in the ring yet (one GEMM), depthwise each output row, then
  // (without SE) project and store the group. With SE the depthwise output goes to dwfull (rows of
  // image n) and its channel sums are added into chsum.
  void run_rows(int64_t n, int64_t oy_begin, int64_t oy_end, int64_t R, float* dwfull, float* chsum) const {
    const int64_t B = (R - 1) * S + K;  // ring slots
    const int64_t bs = B * Wp * 8;      // channel-block stride in the ring
    float* ring = scratch(t_ring, (Cm / 8) * bs);
    for (int64_t cb = 0; cb < Cm / 8; ++cb)  // padding columns stay zero
      for (int64_t s = 0; s < B; ++s) {
        float* r = ring + cb * bs + s * Wp * 8;
        std::memset(r, 0, sizeof(float) * pad * 8);
        std::memset(r + (pad + W) * 8, 0, sizeof(float) * pad * 8);
      }
    float* dwbuf = se ? nullptr : scratch(t_dw, R * Wo * Cm);
    float* otile = se ? nullptr : scratch(t_out, R * Wo * Cp);
    const float* rows[7];
    int64_t filled = oy_begin * S - pad;  // rows below this are in the ring
    for (int64_t g0 = oy_begin; g0 < oy_end; g0 += R) {
      const int64_t g1 = std::min(g0 + R, oy_end);
      const int64_t need_hi = (g1 - 1) * S - pad + K;
      if (need_hi > filled) {
        fill_rows(ring, B, bs, n, std::max(filled, g0 * S - pad), need_hi);
        filled = need_hi;
      }
      for (int64_t oy = g0; oy < g1; ++oy) {
        for (int64_t ky = 0; ky < K; ++ky) rows[ky] = ring + ((oy * S + ky) % B) * Wp * 8;  // (iy + pad) % B
        float* out = se ? dwfull + oy * Wo * Cm : dwbuf + (oy - g0) * Wo * Cm;
        dw(rows, bs, Wo, Cm, wd, bd, out, chsum);
      }
      if (!se) project_store(dwbuf, n, g0, g1 - g0, nullptr, otile);
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
  TORCH_CHECK(b.H > 0 && b.W > 0, "nas_fused.inverted_residual: empty feature map ", x.sizes());
  b.K = kernel; b.S = stride; b.pad = kernel / 2;
  b.Ho = (b.H - 1) / stride + 1; b.Wo = (b.W - 1) / stride + 1;
  TORCH_CHECK(w_dw.dim() == 3 && w_dw.size(2) == 8, "nas_fused: w_dw must be [Cm/8, K*K, 8]");
  b.Cm = w_dw.size(0) * 8; b.Cout = out_channels; b.Cp = w_proj.size(-1); b.Wp = b.W + 2 * b.pad;
  b.expand = w_expand.has_value() && w_expand->defined();
  b.se = se_w1.has_value() && se_w1->defined();
  b.residual = residual;
  b.act = parse_act(std::string(act));
  b.post = parse_act(std::string(post_act));
  TORCH_CHECK(b.Cm % 8 == 0 && b.Cp % 8 == 0 && b.Cp >= b.Cout && b.Cp < b.Cout + 8,
              "nas_fused: padded channel counts must be multiples of 8");
  check_weight(w_dw, "w_dw", {b.Cm / 8, kernel * kernel, 8});
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
  const int64_t group = std::min(b.group_rows(), (b.Ho + chunks - 1) / chunks);
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
  // Gate per image (tiny matvecs), applied to the stored depthwise output group by group in pass 2.
  at::Tensor gates_t = at::zeros({b.N, b.Cm}, x.options());
  float* gates = gates_t.data_ptr<float>();
  const float* w1 = se_w1->data_ptr<float>();
  const float* b1 = se_b1->data_ptr<float>();
  const float* w2 = se_w2->data_ptr<float>();
  const float* b2 = se_b2->data_ptr<float>();
  const float inv = 1.f / static_cast<float>(b.Ho * b.Wo);
  for (int64_t n = 0; n < b.N; ++n) {
    std::vector<float> mean(b.Cm, 0.f), hid(S_se);
    float* gate = gates + n * b.Cm;
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
    for (int64_t m = 0; m < b.Cm; ++m) gate[m] = act_s(gate[m], A_HSIGMOID);
  }
  // Pass 2: gate and project groups of rows.
  const int64_t pg = std::max<int64_t>(1, std::min(b.Ho, (kMinPixels + b.Wo - 1) / b.Wo));
  const int64_t ngroups = (b.Ho + pg - 1) / pg;
  const int64_t items2 = b.N * ngroups;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(std::min<int64_t>(T, items2)))
  for (int64_t i = 0; i < items2; ++i) {
    const int64_t n = i / ngroups, oy0 = (i % ngroups) * pg;
    const int64_t rows = std::min(pg, b.Ho - oy0);
    float* otile = scratch(t_out, pg * b.Wo * b.Cp);
    b.project_store(dwfull + (n * b.Ho + oy0) * b.Wo * b.Cm, n, oy0, rows, gates + n * b.Cm, otile);
  }
  return y;
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
