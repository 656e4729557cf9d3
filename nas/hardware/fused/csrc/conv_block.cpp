// nas_fused::conv_block -- one whole ResNet block of dense convolutions, inference mode, BN already folded
// into the conv weights and biases (nas/hardware/fused/fuse.py): a bottleneck (1x1 -> kxk [stride] ->
// 1x1) or a basic block (kxk -> kxk), then the shortcut (identity, a 1x1 conv [stride], or a
// kxk average pool and a 1x1 conv, as once-for-all's ResNets downsample), the add and the post
// activation.
//
// Layout. The op takes and returns NCHW float32. Inside, every tensor is NHWC with its channels padded
// to a multiple of 8 (padded channels carry zero weights), so a pixel's channels are contiguous and a
// kxk window of one image row is one contiguous run of k*C floats in a row padded by k/2 zero columns:
// each conv is an implicit GEMM whose reduction dimension, per kernel row ky, is (kx, c_in) with unit
// stride. Weights are [k*k*Cin_p (+ Cx_p), Cout_p] panel-major (rows ordered ky, kx, c_in; a shortcut
// conv's rows appended to the last conv's, so the shortcut is one more segment of the last GEMM and its
// bias is added to the last conv's).
//
// Tiling. A work item is one image and a range of output rows, processed in groups of R output rows
// (>= 48 pixels per GEMM call). Every conv's input lives in a per-thread ring of rows: ring 0 holds the
// input x (transposed to NHWC as its rows are needed), ring i the output of conv i-1. Asking ring i for
// rows [lo, hi) computes, in one GEMM, only the rows it lacks, asking ring i-1 for their windows first,
// so no intermediate tensor is ever materialized and only a work item's first halo rows are computed
// twice. The last conv writes a small NHWC tile, stored back to NCHW with the identity residual and the
// post activation fused into that store.
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

// ----------------------------------------------------------------------------- implicit-GEMM micro-kernel
// One segment of the reduction: for pixel p, A(p, k) = a[aoff[p] + k] for k < K, times rows
// [koff, koff + K) of the weight panel.
struct Seg {
  const float* a;
  const int64_t* aoff;
  int64_t K, koff;
};

// One segment's part of C(p, j) for p < PX and j < 8*CB, where channel block jb of pixel p lives at
// c + off[p] + 8*jb (NHWC): the first segment starts from the bias, later ones from what C holds. One
// segment per call keeps the accumulators in registers (with the segment loop inside, gcc kept them on
// the stack, one store per FMA).
template <int PX, int CB>
inline void seg_part(const Seg& sg, bool first, int64_t p0, const float* b, int64_t ldb, const float* bias, float* c,
                     const int64_t* off) {
  __m256 acc[PX][CB];
  NAS_UNROLL for (int p = 0; p < PX; ++p)
    NAS_UNROLL for (int j = 0; j < CB; ++j)
      acc[p][j] = _mm256_loadu_ps(first ? bias + 8 * j : c + off[p0 + p] + 8 * j);
  const float* ap[PX];
  NAS_UNROLL for (int p = 0; p < PX; ++p) ap[p] = sg.a + sg.aoff[p0 + p];
  const float* bs = b + sg.koff * ldb;
  for (int64_t k = 0; k < sg.K; ++k) {
    const float* brow = bs + k * ldb;
    __m256 bw[CB];
    NAS_UNROLL for (int j = 0; j < CB; ++j) bw[j] = _mm256_loadu_ps(brow + 8 * j);
    NAS_UNROLL for (int p = 0; p < PX; ++p) {
      __m256 av = _mm256_broadcast_ss(ap[p] + k);
      NAS_UNROLL for (int j = 0; j < CB; ++j) acc[p][j] = _mm256_fmadd_ps(av, bw[j], acc[p][j]);
    }
  }
  NAS_UNROLL for (int p = 0; p < PX; ++p)
    NAS_UNROLL for (int j = 0; j < CB; ++j) _mm256_storeu_ps(c + off[p0 + p] + 8 * j, acc[p][j]);
}

// C(p, j) = act(bias[j] + sum_s sum_k A_s(p, k) * B[koff_s + k][j]) for p < PX and j < 8*CB.
template <int PX, int CB, int A>
inline void seg_tile(const Seg* segs, int nseg, int64_t p0, const float* b, int64_t ldb, const float* bias, float* c,
                     const int64_t* off) {
  for (int s = 0; s < nseg; ++s) seg_part<PX, CB>(segs[s], s == 0, p0, b, ldb, bias, c, off);
  if constexpr (A != A_NONE) {
    NAS_UNROLL for (int p = 0; p < PX; ++p)
      NAS_UNROLL for (int j = 0; j < CB; ++j) {
        float* o = c + off[p0 + p] + 8 * j;
        _mm256_storeu_ps(o, act_v<A>(_mm256_loadu_ps(o)));
      }
  }
}

template <int CB, int A, int PXMAX>
inline void seg_cols(int64_t P, const Seg* segs, int nseg, const float* b, int64_t ldb, const float* bias, float* c,
                     const int64_t* off) {
  int64_t p = 0;
  for (; p + PXMAX <= P; p += PXMAX) seg_tile<PXMAX, CB, A>(segs, nseg, p, b, ldb, bias, c, off);
  switch (P - p) {
    case 1: seg_tile<1, CB, A>(segs, nseg, p, b, ldb, bias, c, off); break;
    case 2: seg_tile<2, CB, A>(segs, nseg, p, b, ldb, bias, c, off); break;
    case 3: seg_tile<3, CB, A>(segs, nseg, p, b, ldb, bias, c, off); break;
    case 4: seg_tile<4, CB, A>(segs, nseg, p, b, ldb, bias, c, off); break;
    case 5: seg_tile<5, CB, A>(segs, nseg, p, b, ldb, bias, c, off); break;
    case 6: seg_tile<6, CB, A>(segs, nseg, p, b, ldb, bias, c, off); break;
    case 7: seg_tile<7, CB, A>(segs, nseg, p, b, ldb, bias, c, off); break;
    default: break;
  }
}

// All N (a multiple of 8) output channels of P pixels; B is panel-major with Ktot rows: column panels
// of 24 (then one of 16 or 8), each [Ktot][width] contiguous.
template <int A>
void seg_gemm(int64_t P, const Seg* segs, int nseg, const float* b, int64_t Ktot, int64_t N, const float* bias,
              float* c, const int64_t* off) {
  int64_t n = 0;
  for (; n + 24 <= N; n += 24) seg_cols<3, A, 4>(P, segs, nseg, b + n * Ktot, 24, bias + n, c + n, off);
  if (N - n == 16) seg_cols<2, A, 6>(P, segs, nseg, b + n * Ktot, 16, bias + n, c + n, off);
  else if (N - n == 8) seg_cols<1, A, 8>(P, segs, nseg, b + n * Ktot, 8, bias + n, c + n, off);
}

using SegGemmFn = void (*)(int64_t, const Seg*, int, const float*, int64_t, int64_t, const float*, float*,
                           const int64_t*);
SegGemmFn seg_gemm_for(int a) {
  switch (a) {
    case A_RELU: return seg_gemm<A_RELU>;
    case A_RELU6: return seg_gemm<A_RELU6>;
    case A_HSWISH: return seg_gemm<A_HSWISH>;
    case A_HSIGMOID: return seg_gemm<A_HSIGMOID>;
    default: return seg_gemm<A_NONE>;
  }
}

// ----------------------------------------------------------------------------- the block
constexpr int kMaxConvs = 3;
constexpr int64_t kMinPixels = 48;  // pixels per GEMM call worth having

enum Shortcut { SC_NONE = 0, SC_IDENTITY = 1, SC_CONV = 2, SC_AVGPOOL_CONV = 3 };

int parse_shortcut(const std::string& s) {
  if (s == "none") return SC_NONE;
  if (s == "identity") return SC_IDENTITY;
  if (s == "conv") return SC_CONV;
  if (s == "avgpool_conv") return SC_AVGPOOL_CONV;
  TORCH_CHECK(false, "nas_fused.conv_block: unknown shortcut '", s, "' (none, identity, conv, avgpool_conv)");
  return SC_NONE;
}

struct Conv {
  int64_t K, S, pad, Cin, Cout;  // Cin, Cout padded to 8
  int64_t Hin, Win, Hout, Wout;
  int64_t Ktot;  // rows of w (K*K*Cin, + the shortcut's for the last conv)
  const float *w, *b;
  SegGemmFn gemm;
};

struct ConvBlock {
  int64_t N, Cx, H, W, Cxp, Cout, Ho, Wo, pool;
  int n_conv, shortcut, post;
  Conv conv[kMaxConvs];
  const float* x;
  float* y;
  int64_t slots[kMaxConvs];  // ring i: the input rows of conv i

  int64_t ring_width(int i) const { return conv[i].Win + 2 * conv[i].pad; }
  int64_t ring_row_floats(int i) const { return ring_width(i) * conv[i].Cin; }

  // Ring sizes: the last conv reads (R-1)*S + K rows per group; conv i must then produce up to slots[i+1]
  // rows in one go, reading (slots[i+1]-1)*S_i + K_i rows of its own input.
  void size_rings(int64_t R) {
    int64_t rows = R;
    for (int i = n_conv - 1; i >= 0; --i) {
      slots[i] = (rows - 1) * conv[i].S + conv[i].K;
      rows = slots[i];
    }
  }

  int64_t group_rows() const {
    return std::max<int64_t>(1, std::min(Ho, (kMinPixels + Wo - 1) / Wo));
  }
};

// One work item's state: the rings and how far each is filled (rows below filled[i] are in ring i).
struct Rings {
  float* ring[kMaxConvs];
  int64_t filled[kMaxConvs];
};

thread_local std::vector<float> t_rings, t_tile, t_short;
thread_local std::vector<int64_t> t_aoff, t_coff;

float* slot_of(const ConvBlock& b, const Rings& r, int i, int64_t row) {
  const int64_t pad = b.conv[i].pad;
  return r.ring[i] + ((row + pad) % b.slots[i]) * b.ring_row_floats(i) + pad * b.conv[i].Cin;
}

// Conv i over output rows [r0, r1) (all inside its output), reading ring i, writing P pixels at
// out + off[p] (NHWC) with extra segments appended (the shortcut, for the last conv).
void run_conv(const ConvBlock& b, const Rings& r, int i, int64_t r0, int64_t r1, float* out, const int64_t* off,
              const Seg* extra, int n_extra) {
  const Conv& cv = b.conv[i];
  const int64_t P = (r1 - r0) * cv.Wout;
  int64_t* aoff = scratch(t_aoff, cv.K * P);
  Seg segs[8];
  int nseg = 0;
  for (int64_t ky = 0; ky < cv.K; ++ky) {
    int64_t* ao = aoff + ky * P;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t oy = r0 + p / cv.Wout, ox = p % cv.Wout;
      // window of output (oy, ox): input row oy*S - pad + ky, columns from ox*S - pad (padded column ox*S)
      const float* row = slot_of(b, r, i, oy * cv.S - cv.pad + ky) - cv.pad * cv.Cin;
      ao[p] = (row - r.ring[i]) + ox * cv.S * cv.Cin;
    }
    segs[nseg++] = Seg{r.ring[i], ao, cv.K * cv.Cin, ky * cv.K * cv.Cin};
  }
  for (int e = 0; e < n_extra; ++e) segs[nseg++] = extra[e];
  cv.gemm(P, segs, nseg, cv.w, cv.Ktot, cv.Cout, cv.b, out, off);
}

// Make rows [lo, hi) of ring i present (rows outside the conv's input are its zero padding).
void fill(const ConvBlock& b, Rings& r, int i, int64_t image, int64_t lo, int64_t hi) {
  lo = std::max(lo, r.filled[i]);
  if (hi <= lo) return;
  r.filled[i] = hi;
  const Conv& cv = b.conv[i];
  const int64_t width = cv.Win * cv.Cin;
  for (int64_t row = lo; row < hi; ++row)
    if (row < 0 || row >= cv.Hin) std::memset(slot_of(b, r, i, row), 0, sizeof(float) * width);
  const int64_t v0 = std::max<int64_t>(lo, 0), v1 = std::min(hi, cv.Hin);
  if (v1 <= v0) return;
  if (i == 0) {  // transpose rows of x (NCHW) into NHWC, channels padded with zeros
    for (int64_t row = v0; row < v1; ++row) {
      float* o = slot_of(b, r, 0, row);
      for (int64_t c = 0; c < cv.Cin; ++c) {
        if (c >= b.Cx) {
          for (int64_t w = 0; w < cv.Win; ++w) o[w * cv.Cin + c] = 0.f;
          continue;
        }
        const float* xr = b.x + ((image * b.Cx + c) * b.H + row) * b.W;
        for (int64_t w = 0; w < cv.Win; ++w) o[w * cv.Cin + c] = xr[w];
      }
    }
    return;
  }
  const Conv& prev = b.conv[i - 1];
  fill(b, r, i - 1, image, v0 * prev.S - prev.pad, (v1 - 1) * prev.S - prev.pad + prev.K);
  const int64_t P = (v1 - v0) * prev.Wout;
  int64_t* off = scratch(t_coff, P);
  for (int64_t p = 0; p < P; ++p) off[p] = (slot_of(b, r, i, v0 + p / prev.Wout) - r.ring[i]) + (p % prev.Wout) * cv.Cin;
  run_conv(b, r, i - 1, v0, v1, r.ring[i], off, nullptr, 0);
}

// The shortcut conv's input for output rows [r0, r1) as an NHWC tile [P][Cxp]: x itself, subsampled by
// the block's stride, or average-pooled over pool x pool windows (ceil mode: the main path's size).
void shortcut_tile(const ConvBlock& b, int64_t image, int64_t r0, int64_t r1, float* tile) {
  const int64_t P = (r1 - r0) * b.Wo;
  std::memset(tile, 0, sizeof(float) * P * b.Cxp);
  const int64_t s = b.pool;
  for (int64_t c = 0; c < b.Cx; ++c) {
    const float* xc = b.x + (image * b.Cx + c) * b.H * b.W;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t oy = r0 + p / b.Wo, ox = p % b.Wo;
      if (b.shortcut == SC_CONV) {
        tile[p * b.Cxp + c] = xc[oy * s * b.W + ox * s];
      } else {  // windows clipped at the map's edge average what they cover (ceil_mode pooling)
        const int64_t y1 = std::min(oy * s + s, b.H), x1 = std::min(ox * s + s, b.W);
        float acc = 0.f;
        for (int64_t iy = oy * s; iy < y1; ++iy)
          for (int64_t ix = ox * s; ix < x1; ++ix) acc += xc[iy * b.W + ix];
        tile[p * b.Cxp + c] = acc / static_cast<float>((y1 - oy * s) * (x1 - ox * s));
      }
    }
  }
}

void run_rows(const ConvBlock& b, int64_t image, int64_t oy_begin, int64_t oy_end, int64_t R) {
  Rings r;
  int64_t total = 0;
  for (int i = 0; i < b.n_conv; ++i) total += b.slots[i] * b.ring_row_floats(i);
  float* base = scratch(t_rings, total);
  std::memset(base, 0, sizeof(float) * total);  // the padding columns stay zero
  int64_t at = 0;
  for (int i = 0; i < b.n_conv; ++i) {
    r.ring[i] = base + at;
    r.filled[i] = INT64_MIN / 4;
    at += b.slots[i] * b.ring_row_floats(i);
  }
  const int L = b.n_conv - 1;
  const Conv& last = b.conv[L];
  float* tile = scratch(t_tile, R * b.Wo * last.Cout);
  const bool has_conv_short = b.shortcut == SC_CONV || b.shortcut == SC_AVGPOOL_CONV;
  float* stile = has_conv_short ? scratch(t_short, R * b.Wo * b.Cxp) : nullptr;
  std::vector<int64_t> off(R * b.Wo), soff(R * b.Wo);
  for (int64_t p = 0; p < R * b.Wo; ++p) {
    off[p] = p * last.Cout;
    soff[p] = p * b.Cxp;
  }
  for (int64_t g0 = oy_begin; g0 < oy_end; g0 += R) {
    const int64_t g1 = std::min(g0 + R, oy_end);
    const int64_t P = (g1 - g0) * b.Wo;
    fill(b, r, L, image, g0 * last.S - last.pad, (g1 - 1) * last.S - last.pad + last.K);
    Seg extra{stile, soff.data(), b.Cxp, last.K * last.K * last.Cin};
    if (has_conv_short) shortcut_tile(b, image, g0, g1, stile);
    run_conv(b, r, L, g0, g1, tile, off.data(), &extra, has_conv_short ? 1 : 0);
    for (int64_t co = 0; co < b.Cout; ++co) {  // back to NCHW, with the residual and the post activation
      float* o = b.y + ((image * b.Cout + co) * b.Ho + g0) * b.Wo;
      const float* t = tile + co;
      if (b.shortcut == SC_IDENTITY) {
        const float* xr = b.x + ((image * b.Cx + co) * b.H + g0) * b.W;
        for (int64_t p = 0; p < P; ++p) o[p] = act_s(t[p * last.Cout] + xr[p], b.post);
      } else {
        for (int64_t p = 0; p < P; ++p) o[p] = act_s(t[p * last.Cout], b.post);
      }
    }
  }
}

at::Tensor conv_block_cpu(const at::Tensor& x_in, const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2,
                          const at::Tensor& b2, const c10::optional<at::Tensor>& w3,
                          const c10::optional<at::Tensor>& b3, at::IntArrayRef kernels, at::IntArrayRef strides,
                          at::ArrayRef<c10::string_view> acts, c10::string_view shortcut, c10::string_view post_act,
                          int64_t out_channels) {
  TORCH_CHECK(x_in.dim() == 4 && x_in.scalar_type() == at::kFloat && x_in.device().is_cpu(),
              "nas_fused.conv_block: x must be a 4-d float32 CPU tensor (N, C, H, W), got ", x_in.scalar_type(), " ",
              x_in.sizes());
  const bool three = w3.has_value() && w3->defined();
  const int n_conv = three ? 3 : 2;
  TORCH_CHECK(static_cast<int>(kernels.size()) == n_conv && static_cast<int>(strides.size()) == n_conv &&
                  static_cast<int>(acts.size()) == n_conv,
              "nas_fused.conv_block: kernels, strides and acts need one entry per conv (", n_conv, ")");
  at::Tensor x = x_in.contiguous();
  ConvBlock b;
  b.N = x.size(0); b.Cx = x.size(1); b.H = x.size(2); b.W = x.size(3);
  TORCH_CHECK(b.H > 0 && b.W > 0, "nas_fused.conv_block: empty feature map ", x.sizes());
  b.Cxp = (b.Cx + 7) / 8 * 8;
  b.n_conv = n_conv;
  b.shortcut = parse_shortcut(std::string(shortcut));
  b.post = parse_act(std::string(post_act));
  b.Cout = out_channels;
  const at::Tensor* ws[3] = {&w1, &w2, three ? &*w3 : nullptr};
  const at::Tensor* bs[3] = {&b1, &b2, three ? &*b3 : nullptr};
  TORCH_CHECK(!three || (b3.has_value() && b3->defined()), "nas_fused.conv_block: w3 without b3");
  int64_t cin = b.Cxp, h = b.H, w = b.W, total_stride = 1;
  for (int i = 0; i < n_conv; ++i) {
    Conv& cv = b.conv[i];
    cv.K = kernels[i]; cv.S = strides[i]; cv.pad = cv.K / 2;
    TORCH_CHECK(cv.K >= 1 && cv.K <= 7 && cv.K % 2 == 1, "nas_fused.conv_block: kernel must be odd, 1 to 7, got ", cv.K);
    TORCH_CHECK(cv.S == 1 || cv.S == 2, "nas_fused.conv_block: stride must be 1 or 2, got ", cv.S);
    const at::Tensor& wt = *ws[i];
    const at::Tensor& bt = *bs[i];
    TORCH_CHECK(wt.scalar_type() == at::kFloat && wt.is_contiguous() && wt.dim() == 2 && wt.size(1) % 8 == 0,
                "nas_fused.conv_block: w", i + 1, " must be a contiguous float32 [rows, Cout_p] with Cout_p % 8 == 0");
    cv.Cin = cin; cv.Cout = wt.size(1);
    cv.Hin = h; cv.Win = w;
    cv.Hout = (h - 1) / cv.S + 1; cv.Wout = (w - 1) / cv.S + 1;
    cv.Ktot = wt.size(0);
    const int64_t own = cv.K * cv.K * cv.Cin;
    const bool last = i == n_conv - 1;
    const bool merged = last && (b.shortcut == SC_CONV || b.shortcut == SC_AVGPOOL_CONV);
    TORCH_CHECK(cv.Ktot == own + (merged ? b.Cxp : 0), "nas_fused.conv_block: w", i + 1, " has ", cv.Ktot,
                " rows, expected ", own + (merged ? b.Cxp : 0));
    TORCH_CHECK(bt.scalar_type() == at::kFloat && bt.is_contiguous() && bt.numel() == cv.Cout,
                "nas_fused.conv_block: b", i + 1, " must be float32 [", cv.Cout, "]");
    cv.w = wt.data_ptr<float>(); cv.b = bt.data_ptr<float>();
    cv.gemm = seg_gemm_for(parse_act(std::string(acts[i])));
    cin = cv.Cout; h = cv.Hout; w = cv.Wout; total_stride *= cv.S;
  }
  b.Ho = h; b.Wo = w;
  TORCH_CHECK(cin >= b.Cout && cin < b.Cout + 8, "nas_fused.conv_block: out_channels ", b.Cout,
              " does not match the last conv's ", cin, " padded channels");
  b.pool = total_stride;
  if (b.shortcut == SC_IDENTITY)
    TORCH_CHECK(total_stride == 1 && b.Cx == b.Cout, "nas_fused.conv_block: an identity shortcut needs stride 1 and ",
                "in == out channels (", b.Cx, " -> ", b.Cout, ", stride ", total_stride, ")");
  at::Tensor y = at::empty({b.N, b.Cout, b.Ho, b.Wo}, x.options());
  b.x = x.data_ptr<float>();
  b.y = y.data_ptr<float>();
  if (b.N == 0 || b.Cout == 0) return y;

  const int T = std::max(1, at::get_num_threads());
  // Work items: (image, chunk of output rows), enough chunks per image that items split evenly over
  // the threads; each chunk recomputes its first halo rows.
  const int64_t chunks = std::min<int64_t>(b.Ho, T / std::gcd<int64_t>(b.N, T));
  const int64_t items = b.N * chunks;
  const int64_t R = std::min(b.group_rows(), (b.Ho + chunks - 1) / chunks);
  b.size_rings(R);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(std::min<int64_t>(T, items)))
  for (int64_t it = 0; it < items; ++it) {
    const int64_t n = it / chunks, c = it % chunks;
    run_rows(b, n, b.Ho * c / chunks, b.Ho * (c + 1) / chunks, R);
  }
  return y;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(nas_fused, m) {
  m.def("conv_block(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? w3, Tensor? b3, int[] kernels, "
        "int[] strides, str[] acts, str shortcut, str post_act, int out_channels) -> Tensor");
}

TORCH_LIBRARY_IMPL(nas_fused, CPU, m) {
  m.impl("conv_block", &conv_block_cpu);
}
