// Convolution and matrix multiplication: the cost of every network here (≈ 2.8 GFLOP
// per MusiCNN patch, 99% of it in Conv2D). The fast path is oneDNN, chosen over
// im2col + OpenBLAS sgemm by measurement (bench/bench_conv: see bench/README.md);
// the scalar reference beside it is the definition the tests check it against.
#include <dnnl.hpp>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "model/ops.h"

namespace tagscape::model {

struct ConvKernel {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::convolution_forward primitive;
  dnnl::memory::desc src, dst;
  dnnl::memory weights;                 // reordered once, owned here
  dnnl::memory bias, scale, offset;     // wrap the graph's constants (not owned)
  int scale_post_op = 0;                // index of the binary_mul post-op
  std::string implementation;
};

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

void epilogue_rows(float* y, int64_t rows, int64_t channels, const Conv2DParams& p) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * channels;
    for (int64_t c = 0; c < channels; ++c) {
      float value = row[c] + (p.bias ? p.bias[c] : 0.0f);
      if (p.relu && value < 0) value = 0;
      if (p.scale) value = value * p.scale[c] + p.offset[c];
      row[c] = value;
    }
  }
}

dnnl::memory::desc nhwc_desc(const Shape& shape) {  // TF NHWC dims -> oneDNN {N, C, H, W} in nhwc layout
  return {{shape[0], shape[3], shape[1], shape[2]}, dt::f32, tag::nhwc};
}

dnnl::memory::desc channel_desc(int64_t channels, bool per_oc_broadcast) {
  return per_oc_broadcast ? dnnl::memory::desc({1, channels, 1, 1}, dt::f32, tag::nchw)
                          : dnnl::memory::desc({channels}, dt::f32, tag::a);
}

}  // namespace

void conv2d_reference(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2DParams& p) {
  const int64_t batch = x.shape[0], height = x.shape[1], width = x.shape[2], channels = x.shape[3];
  const int64_t kernel_h = w.shape[0], kernel_w = w.shape[1], out_channels = w.shape[3];
  const int64_t out_h = y.shape[1], out_w = y.shape[2];
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t oh = 0; oh < out_h; ++oh)
      for (int64_t ow = 0; ow < out_w; ++ow)
        for (int64_t o = 0; o < out_channels; ++o) {
          double sum = 0.0;
          for (int64_t kh = 0; kh < kernel_h; ++kh)
            for (int64_t kw = 0; kw < kernel_w; ++kw) {
              const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
              const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
              if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
              for (int64_t c = 0; c < channels; ++c)
                sum += double(x.f32()[((n * height + ih) * width + iw) * channels + c]) *
                       w.f32()[((kh * kernel_w + kw) * channels + c) * out_channels + o];
            }
          y.f32()[((n * out_h + oh) * out_w + ow) * out_channels + o] = static_cast<float>(sum);
        }
  epilogue_rows(y.f32(), y.size() / std::max<int64_t>(out_channels, 1), out_channels, p);
}

std::shared_ptr<ConvKernel> prepare_conv(const Tensor& x, const Tensor& w, const Shape& output_shape,
                                         const Conv2DParams& p) {
  auto kernel = std::make_shared<ConvKernel>();
  const int64_t out_channels = w.shape[3];
  // A single-channel filter as wide as its input (MusiCNN's mid-end: x [N, H, 561, 1],
  // w [7, 561, 1, 64]) is, byte for byte, a 1-wide filter over 561 channels; oneDNN
  // runs that form ~4x faster.
  const bool width_as_channels = x.shape[3] == 1 && w.shape[2] == 1 && w.shape[1] == x.shape[2] &&
                                 output_shape[2] == 1 && p.pad_left == 0 && p.stride_w == 1;
  const Shape x_shape = width_as_channels ? Shape{x.shape[0], x.shape[1], 1, x.shape[2]} : x.shape;
  const Shape w_shape = width_as_channels ? Shape{w.shape[0], 1, w.shape[1], w.shape[3]} : w.shape;
  kernel->src = nhwc_desc(x_shape);
  kernel->dst = nhwc_desc(output_shape);
  const dnnl::memory::desc weights_user({out_channels, w_shape[2], w_shape[0], w_shape[1]}, dt::f32, tag::hwio);
  const dnnl::memory::desc weights_any({out_channels, w_shape[2], w_shape[0], w_shape[1]}, dt::f32, tag::any);
  const dnnl::memory::desc bias_desc = channel_desc(out_channels, false);
  // oneDNN counts dilation from 0; the far-side padding makes its output size equal ours.
  const dnnl::memory::dims strides = {p.stride_h, p.stride_w};
  const dnnl::memory::dims dilation = {p.dilation_h - 1, p.dilation_w - 1};
  const dnnl::memory::dims pad_before = {p.pad_top, p.pad_left};
  const dnnl::memory::dims pad_after = {
      (output_shape[1] - 1) * p.stride_h + (w_shape[0] - 1) * p.dilation_h + 1 - x_shape[1] - p.pad_top,
      (output_shape[2] - 1) * p.stride_w + (w_shape[1] - 1) * p.dilation_w + 1 - x_shape[2] - p.pad_left};

  dnnl::post_ops post_ops;
  if (p.relu) post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (p.scale) {
    kernel->scale_post_op = post_ops.len();
    post_ops.append_binary(dnnl::algorithm::binary_mul, channel_desc(out_channels, true));
    post_ops.append_binary(dnnl::algorithm::binary_add, channel_desc(out_channels, true));
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, kernel->src, weights_any,
      p.bias ? bias_desc : dnnl::memory::desc(), kernel->dst, strides, dilation, pad_before, pad_after);
  const dnnl::convolution_forward::primitive_desc primitive_desc(desc, attr, kernel->engine);
  kernel->implementation = primitive_desc.impl_info_str();
  kernel->primitive = dnnl::convolution_forward(primitive_desc);

  dnnl::memory weights_user_memory(weights_user, kernel->engine, w.data);
  kernel->weights = dnnl::memory(primitive_desc.weights_desc(), kernel->engine);
  dnnl::reorder(weights_user_memory, kernel->weights).execute(kernel->stream, weights_user_memory, kernel->weights);
  kernel->stream.wait();
  if (p.bias) kernel->bias = dnnl::memory(bias_desc, kernel->engine, const_cast<float*>(p.bias));
  if (p.scale) {
    kernel->scale = dnnl::memory(channel_desc(out_channels, true), kernel->engine, const_cast<float*>(p.scale));
    kernel->offset = dnnl::memory(channel_desc(out_channels, true), kernel->engine, const_cast<float*>(p.offset));
  }
  return kernel;
}

void run_conv(const ConvKernel& kernel, const Tensor& x, const Tensor& y) {
  dnnl::memory src(kernel.src, kernel.engine, x.data);
  dnnl::memory dst(kernel.dst, kernel.engine, y.data);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, kernel.weights}, {DNNL_ARG_DST, dst}};
  if (kernel.bias) args[DNNL_ARG_BIAS] = kernel.bias;
  if (kernel.scale) {  // the binary mul/add are the last two post-ops (after relu, if any)
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(kernel.scale_post_op) | DNNL_ARG_SRC_1] = kernel.scale;
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(kernel.scale_post_op + 1) | DNNL_ARG_SRC_1] = kernel.offset;
  }
  dnnl::stream stream = kernel.stream;  // handles are shared references; copies are cheap
  dnnl::convolution_forward primitive = kernel.primitive;
  primitive.execute(stream, args);
  stream.wait();
}

const char* conv_implementation(const ConvKernel& kernel) { return kernel.implementation.c_str(); }

void matmul(const Tensor& a, const Tensor& b, const Tensor& y, bool transpose_a, bool transpose_b, const float* bias,
            bool relu, bool reference) {
  const int64_t m = y.shape[0], n = y.shape[1];
  const int64_t k = transpose_a ? a.shape[0] : a.shape[1];
  Conv2DParams epilogue;
  epilogue.bias = bias;
  epilogue.relu = relu;
  if (reference) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int64_t t = 0; t < k; ++t) {
          const float av = transpose_a ? a.f32()[t * m + i] : a.f32()[i * k + t];
          const float bv = transpose_b ? b.f32()[j * k + t] : b.f32()[t * n + j];
          sum += double(av) * bv;
        }
        y.f32()[i * n + j] = static_cast<float>(sum);
      }
  } else if (m > 0 && n > 0) {
    const dnnl_status_t status =
        dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, 1.0f, a.f32(), transpose_a ? m : k, b.f32(),
                   transpose_b ? k : n, 0.0f, y.f32(), n);
    if (status != dnnl_success) throw Error("dnnl_sgemm failed with status " + std::to_string(status));
  }
  epilogue_rows(y.f32(), m, n, epilogue);
}

}  // namespace tagscape::model
