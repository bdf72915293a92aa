// Convolution and matrix multiplication: the cost of every network here (≈ 2.8 GFLOP
// per MusiCNN patch, 99% of it in Conv2D). The fast path is im2col + BLAS sgemm on
// blocks of output rows small enough to stay in L2; the scalar reference beside it
// is the definition the tests check the fast path against.
#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "model/ops.h"

namespace tagscape::model {

namespace {

struct ConvDims {
  int64_t batch, height, width, channels;           // x [N, H, W, C]
  int64_t kernel_h, kernel_w, out_channels;         // w [KH, KW, C, O]
  int64_t out_h, out_w;                             // y [N, OH, OW, O]
  int64_t patch_size() const { return kernel_h * kernel_w * channels; }  // K of the GEMM
};

ConvDims conv_dims(const Tensor& x, const Tensor& w, const Tensor& y) {
  return {x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[1], w.shape[3], y.shape[1], y.shape[2]};
}

void bias_relu_rows(float* y, int64_t rows, int64_t channels, const float* bias, bool relu) {
  if (!bias && !relu) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * channels;
    if (bias)
      for (int64_t c = 0; c < channels; ++c) row[c] += bias[c];
    if (relu)
      for (int64_t c = 0; c < channels; ++c) row[c] = row[c] > 0 ? row[c] : 0.0f;
  }
}

// Output rows (n, oh) per im2col block: about 256k floats (1 MiB) of patches, so the
// block and its GEMM output stay in L2.
int64_t rows_per_block(const ConvDims& d) {
  const int64_t floats_per_row = std::max<int64_t>(1, d.out_w * d.patch_size());
  return std::clamp<int64_t>((256 * 1024) / floats_per_row, 1, d.batch * d.out_h);
}

bool is_pointwise(const ConvDims& d, const Conv2DParams& p) {
  return d.kernel_h == 1 && d.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
         p.pad_left == 0 && d.out_h == d.height && d.out_w == d.width;
}

// Fills col [rows * OW, KH * KW * C] for output rows [first_row, first_row + rows).
// Column order (kh, kw, c) matches the filter layout [KH, KW, C, O] read as [K, O].
void im2col_rows(const float* x, const ConvDims& d, const Conv2DParams& p, int64_t first_row, int64_t rows, float* col) {
  const int64_t patch = d.patch_size();
  const int64_t run = d.kernel_w * d.channels;  // one kernel row of a patch
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = (first_row + r) / d.out_h, oh = (first_row + r) % d.out_h;
    for (int64_t ow = 0; ow < d.out_w; ++ow) {
      float* out = col + (r * d.out_w + ow) * patch;
      const int64_t iw0 = ow * p.stride_w - p.pad_left;
      for (int64_t kh = 0; kh < d.kernel_h; ++kh, out += run) {
        const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
        if (ih < 0 || ih >= d.height) {
          std::memset(out, 0, run * sizeof(float));
          continue;
        }
        const float* in_row = x + (n * d.height + ih) * d.width * d.channels;
        const int64_t iw_last = iw0 + (d.kernel_w - 1) * p.dilation_w;
        if (p.dilation_w == 1 && iw0 >= 0 && iw_last < d.width) {  // whole run inside: one copy
          std::memcpy(out, in_row + iw0 * d.channels, run * sizeof(float));
          continue;
        }
        for (int64_t kw = 0; kw < d.kernel_w; ++kw) {
          const int64_t iw = iw0 + kw * p.dilation_w;
          float* dst = out + kw * d.channels;
          if (iw < 0 || iw >= d.width) std::memset(dst, 0, d.channels * sizeof(float));
          else std::memcpy(dst, in_row + iw * d.channels, d.channels * sizeof(float));
        }
      }
    }
  }
}

void sgemm_rows(const float* a, int64_t m, int64_t k, const float* b, int64_t n, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              1.0f, a, static_cast<int>(k), b, static_cast<int>(n), 0.0f, c, static_cast<int>(n));
}

}  // namespace

void conv2d_reference(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2DParams& p) {
  const ConvDims d = conv_dims(x, w, y);
  for (int64_t n = 0; n < d.batch; ++n)
    for (int64_t oh = 0; oh < d.out_h; ++oh)
      for (int64_t ow = 0; ow < d.out_w; ++ow)
        for (int64_t o = 0; o < d.out_channels; ++o) {
          double sum = p.bias ? p.bias[o] : 0.0;
          for (int64_t kh = 0; kh < d.kernel_h; ++kh)
            for (int64_t kw = 0; kw < d.kernel_w; ++kw) {
              const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
              const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
              if (ih < 0 || ih >= d.height || iw < 0 || iw >= d.width) continue;
              for (int64_t c = 0; c < d.channels; ++c)
                sum += double(x.f32()[((n * d.height + ih) * d.width + iw) * d.channels + c]) *
                       w.f32()[((kh * d.kernel_w + kw) * d.channels + c) * d.out_channels + o];
            }
          const float value = static_cast<float>(sum);
          y.f32()[((n * d.out_h + oh) * d.out_w + ow) * d.out_channels + o] = p.relu && value < 0 ? 0.0f : value;
        }
}

void conv2d_fast(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2DParams& p, const OpContext& context) {
  const ConvDims d = conv_dims(x, w, y);
  const int64_t total_rows = d.batch * d.out_h;
  const int64_t block_rows = rows_per_block(d);
  const int64_t blocks = (total_rows + block_rows - 1) / block_rows;
  const bool pointwise = is_pointwise(d, p);
  auto run_blocks = [&](int64_t begin, int64_t end, int worker) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t first_row = block * block_rows;
      const int64_t rows = std::min(block_rows, total_rows - first_row);
      const int64_t m = rows * d.out_w;
      const float* a = x.f32() + first_row * d.out_w * d.channels;  // pointwise: x rows are the patches
      if (!pointwise) {
        float* col = (*context.scratch)[worker].data();
        im2col_rows(x.f32(), d, p, first_row, rows, col);
        a = col;
      }
      float* out = y.f32() + first_row * d.out_w * d.out_channels;
      sgemm_rows(a, m, d.patch_size(), w.f32(), d.out_channels, out);
      bias_relu_rows(out, m, d.out_channels, p.bias, p.relu);
    }
  };
  if (context.pool) context.pool->parallel_for(blocks, run_blocks);
  else run_blocks(0, blocks, 0);
}

size_t scratch_floats_needed(const Node& node, std::span<const Tensor> inputs, const OutputSpec& output) {
  if (node.op != OpKind::Conv2D) return 0;
  const Tensor y{DType::f32, output.shape, nullptr};
  const ConvDims d = conv_dims(inputs[0], inputs[1], y);
  return static_cast<size_t>(rows_per_block(d) * d.out_w * d.patch_size());
}

void matmul(const Tensor& a, const Tensor& b, const Tensor& y, bool transpose_a, bool transpose_b, const float* bias,
            bool relu, bool reference) {
  const int64_t m = y.shape[0], n = y.shape[1];
  const int64_t k = transpose_a ? a.shape[0] : a.shape[1];
  if (reference) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = bias ? bias[j] : 0.0;
        for (int64_t t = 0; t < k; ++t) {
          const float av = transpose_a ? a.f32()[t * m + i] : a.f32()[i * k + t];
          const float bv = transpose_b ? b.f32()[j * k + t] : b.f32()[t * n + j];
          sum += double(av) * bv;
        }
        const float value = static_cast<float>(sum);
        y.f32()[i * n + j] = relu && value < 0 ? 0.0f : value;
      }
    return;
  }
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a.f32(),
              static_cast<int>(transpose_a ? m : k), b.f32(), static_cast<int>(transpose_b ? k : n), 0.0f, y.f32(),
              static_cast<int>(n));
  bias_relu_rows(y.f32(), m, n, bias, relu);
}

}  // namespace tagscape::model
