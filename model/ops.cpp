// Shape inference and the non-convolution kernels. Convolution and matmul live in
// conv.cpp (they are the cost and have a scalar reference beside the fast path).
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "model/ops.h"

namespace tagscape::model {

namespace {

[[noreturn]] void fail(const Node& node, const std::string& what) {
  throw Error("node '" + node.name + "' (" + op_kind_name(node.op) + "): " + what);
}

// Values of a plan-time-known integer input (axes, perms, shapes).
std::vector<int64_t> known_ints(const Node& node, const Tensor& input, const char* what) {
  if (!input.data) fail(node, std::string(what) + " must be known before running (a constant)");
  if (input.dtype != DType::i32) fail(node, std::string(what) + " must be int32, is " + dtype_name(input.dtype));
  return std::vector<int64_t>(input.i32(), input.i32() + input.size());
}

int64_t normalize_axis(const Node& node, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    fail(node, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

void expect_inputs(const Node& node, std::span<const Tensor> inputs, size_t count) {
  if (inputs.size() != count)
    fail(node, "expects " + std::to_string(count) + " inputs, has " + std::to_string(inputs.size()));
}

void expect_f32(const Node& node, const Tensor& input) {
  if (input.dtype != DType::f32) fail(node, std::string("expects float32 input, got ") + dtype_name(input.dtype));
}

void expect_rank(const Node& node, const Tensor& input, int rank, const char* what) {
  if (input.rank() != rank)
    fail(node, std::string(what) + " must have rank " + std::to_string(rank) + ", has shape " + shape_string(input.shape));
}

Shape broadcast_shape(const Node& node, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(node, "shapes " + shape_string(a) + " and " + shape_string(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Output size of a window op along one spatial dim. ref: TF GetWindowedOutputSize.
int64_t window_output_size(int64_t in, int64_t window, int64_t stride, int64_t dilation, Padding padding,
                           int64_t pad_before, int64_t pad_after) {
  const int64_t effective = (window - 1) * dilation + 1;
  switch (padding) {
    case Padding::valid: return in >= effective ? (in - effective) / stride + 1 : 0;
    case Padding::same: return (in + stride - 1) / stride;
    case Padding::explicit_: return (in + pad_before + pad_after - effective) / stride + 1;
  }
  return 0;
}

// Padding before row/col 0 for SAME: half the total, the extra one after.
int64_t pad_before(int64_t in, int64_t out, int64_t window, int64_t stride, int64_t dilation, Padding padding,
                   int64_t explicit_before) {
  if (padding == Padding::valid) return 0;
  if (padding == Padding::explicit_) return explicit_before;
  const int64_t effective = (window - 1) * dilation + 1;
  return std::max<int64_t>((out - 1) * stride + effective - in, 0) / 2;
}

struct SliceDims {
  std::vector<int64_t> begin, stride, length;  // per input dim
  Shape output;                                // with shrunk dims removed
};

// ref: TF strided_slice_op ValidateStridedSliceOp (begin/end masks, shrink axis).
SliceDims strided_slice_dims(const Node& node, std::span<const Tensor> inputs) {
  const Shape& shape = inputs[0].shape;
  const auto begin = known_ints(node, inputs[1], "begin");
  const auto end = known_ints(node, inputs[2], "end");
  const auto strides = known_ints(node, inputs[3], "strides");
  if (begin.size() != end.size() || begin.size() != strides.size() || begin.size() > shape.size())
    fail(node, "begin/end/strides lengths do not match the input rank");
  SliceDims dims;
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t size = shape[d];
    if (d >= begin.size()) {
      dims.begin.push_back(0), dims.stride.push_back(1), dims.length.push_back(size);
      dims.output.push_back(size);
      continue;
    }
    const int64_t stride = strides[d];
    if (stride == 0) fail(node, "stride 0");
    const bool shrink = node.attrs.shrink_axis_mask & (1 << d);
    auto clamp_index = [&](int64_t index, bool masked, bool is_begin) {
      if (masked && is_begin) return stride > 0 ? int64_t{0} : size - 1;  // from the first element in walk order
      if (masked) return stride > 0 ? size : int64_t{-1};                 // to past the last one
      if (index < 0) index += size;
      return stride > 0 ? std::clamp<int64_t>(index, 0, size) : std::clamp<int64_t>(index, -1, size - 1);
    };
    int64_t first = clamp_index(begin[d], node.attrs.begin_mask & (1 << d), true);
    int64_t last = clamp_index(end[d], node.attrs.end_mask & (1 << d), false);
    if (shrink) {
      first = begin[d] < 0 ? begin[d] + size : begin[d];
      if (first < 0 || first >= size) fail(node, "shrink index out of range");
      last = first + 1;
    }
    const int64_t length = stride > 0 ? std::max<int64_t>(0, (last - first + stride - 1) / stride)
                                      : std::max<int64_t>(0, (first - last - stride - 1) / -stride);
    dims.begin.push_back(first), dims.stride.push_back(stride), dims.length.push_back(shrink ? 1 : length);
    if (!shrink) dims.output.push_back(length);
  }
  return dims;
}

std::vector<int64_t> reduction_axes(const Node& node, std::span<const Tensor> inputs) {
  std::vector<int64_t> axes = known_ints(node, inputs[1], "reduction axes");
  for (int64_t& axis : axes) axis = normalize_axis(node, axis, inputs[0].rank());
  return axes;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keep_dims) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced) out.push_back(shape[d]);
    else if (keep_dims) out.push_back(1);
  }
  return out;
}

OutputSpec infer_conv(const Node& node, std::span<const Tensor> inputs) {
  const Tensor& x = inputs[0];
  const Tensor& w = inputs[1];
  expect_f32(node, x);
  expect_rank(node, x, 4, "input");
  expect_rank(node, w, 4, "filter");
  if (w.shape[2] != x.shape[3])
    fail(node, "filter " + shape_string(w.shape) + " expects " + std::to_string(w.shape[2]) + " input channels, input " +
                   shape_string(x.shape) + " has " + std::to_string(x.shape[3]));
  const size_t expected_inputs = 2 + node.attrs.fused_bias + 2 * node.attrs.post_scale_offset;
  expect_inputs(node, inputs, expected_inputs);
  for (size_t k = 2; k < expected_inputs; ++k)  // bias, scale, offset: one value per filter
    if (inputs[k].size() != w.shape[3] || inputs[k].dtype != DType::f32)
      fail(node, "per-channel input " + shape_string(inputs[k].shape) + " does not match " + std::to_string(w.shape[3]) + " filters");
  const auto& a = node.attrs;
  const int64_t oh = window_output_size(x.shape[1], w.shape[0], a.strides[1], a.dilations[1], a.padding,
                                        a.explicit_paddings[2], a.explicit_paddings[3]);
  const int64_t ow = window_output_size(x.shape[2], w.shape[1], a.strides[2], a.dilations[2], a.padding,
                                        a.explicit_paddings[4], a.explicit_paddings[5]);
  return {DType::f32, {x.shape[0], oh, ow, w.shape[3]}};
}

OutputSpec infer_max_pool(const Node& node, std::span<const Tensor> inputs) {
  const Tensor& x = inputs[0];
  expect_f32(node, x);
  expect_rank(node, x, 4, "input");
  const auto& a = node.attrs;
  const int64_t oh = window_output_size(x.shape[1], a.ksize[1], a.strides[1], 1, a.padding, 0, 0);
  const int64_t ow = window_output_size(x.shape[2], a.ksize[2], a.strides[2], 1, a.padding, 0, 0);
  return {DType::f32, {x.shape[0], oh, ow, x.shape[3]}};
}

OutputSpec infer_matmul(const Node& node, std::span<const Tensor> inputs) {
  const Tensor& a = inputs[0];
  const Tensor& b = inputs[1];
  expect_f32(node, a);
  expect_rank(node, a, 2, "a");
  expect_rank(node, b, 2, "b");
  const int64_t m = node.attrs.transpose_a ? a.shape[1] : a.shape[0];
  const int64_t ka = node.attrs.transpose_a ? a.shape[0] : a.shape[1];
  const int64_t kb = node.attrs.transpose_b ? b.shape[1] : b.shape[0];
  const int64_t n = node.attrs.transpose_b ? b.shape[0] : b.shape[1];
  if (ka != kb) fail(node, "inner dimensions differ: " + shape_string(a.shape) + " x " + shape_string(b.shape));
  if (node.attrs.fused_bias && inputs[2].size() != n) fail(node, "bias " + shape_string(inputs[2].shape) + " does not match " + std::to_string(n));
  return {DType::f32, {m, n}};
}

OutputSpec infer_reshape(const Node& node, std::span<const Tensor> inputs) {
  expect_inputs(node, inputs, 2);
  Shape target = known_ints(node, inputs[1], "target shape");
  const int64_t count = inputs[0].size();
  int64_t known = 1, unknown_at = -1;
  for (size_t d = 0; d < target.size(); ++d) {
    if (target[d] == -1) {
      if (unknown_at >= 0) fail(node, "more than one -1 in target shape");
      unknown_at = static_cast<int64_t>(d);
    } else {
      known *= target[d];
    }
  }
  if (unknown_at >= 0 && known > 0) target[unknown_at] = count / known;
  if (element_count(target) != count)
    fail(node, "cannot reshape " + shape_string(inputs[0].shape) + " to " + shape_string(target));
  return {inputs[0].dtype, target};
}

OutputSpec infer_concat(const Node& node, std::span<const Tensor> inputs) {
  if (inputs.size() < 2) fail(node, "needs at least one value and an axis");
  const auto values = inputs.first(inputs.size() - 1);
  const int64_t axis = normalize_axis(node, known_ints(node, inputs.back(), "axis").at(0), values[0].rank());
  Shape out = values[0].shape;
  out[axis] = 0;
  for (const Tensor& value : values) {
    if (value.rank() != values[0].rank() || value.dtype != values[0].dtype) fail(node, "inputs differ in rank or dtype");
    for (int64_t d = 0; d < value.rank(); ++d)
      if (d != axis && value.shape[d] != values[0].shape[d])
        fail(node, "shapes " + shape_string(values[0].shape) + " and " + shape_string(value.shape) + " differ off the concat axis");
    out[axis] += value.shape[axis];
  }
  return {values[0].dtype, out};
}

OutputSpec infer_pad(const Node& node, std::span<const Tensor> inputs) {
  expect_inputs(node, inputs, 2);
  const auto paddings = known_ints(node, inputs[1], "paddings");
  if (static_cast<int64_t>(paddings.size()) != 2 * inputs[0].rank()) fail(node, "paddings must be [rank, 2]");
  Shape out = inputs[0].shape;
  for (size_t d = 0; d < out.size(); ++d) {
    if (paddings[2 * d] < 0 || paddings[2 * d + 1] < 0) fail(node, "negative padding");
    out[d] += paddings[2 * d] + paddings[2 * d + 1];
  }
  return {inputs[0].dtype, out};
}

OutputSpec infer_transpose(const Node& node, std::span<const Tensor> inputs) {
  expect_inputs(node, inputs, 2);
  const auto perm = known_ints(node, inputs[1], "perm");
  if (static_cast<int64_t>(perm.size()) != inputs[0].rank()) fail(node, "perm length differs from the input rank");
  Shape out;
  std::vector<bool> used(perm.size());
  for (int64_t axis : perm) {
    axis = normalize_axis(node, axis, inputs[0].rank());
    if (used[axis]) fail(node, "perm repeats an axis");
    used[axis] = true;
    out.push_back(inputs[0].shape[axis]);
  }
  return {inputs[0].dtype, out};
}

OutputSpec infer_squeeze(const Node& node, std::span<const Tensor> inputs) {
  const Shape& shape = inputs[0].shape;
  std::vector<int64_t> dims;
  for (int64_t dim : node.attrs.squeeze_dims) dims.push_back(normalize_axis(node, dim, inputs[0].rank()));
  Shape out;
  for (int64_t d = 0; d < inputs[0].rank(); ++d) {
    const bool listed = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (listed && shape[d] != 1) fail(node, "cannot squeeze dim " + std::to_string(d) + " of " + shape_string(shape));
    if ((dims.empty() && shape[d] == 1) || listed) continue;
    out.push_back(shape[d]);
  }
  return {inputs[0].dtype, out};
}

OutputSpec infer_expand_dims(const Node& node, std::span<const Tensor> inputs) {
  expect_inputs(node, inputs, 2);
  const int64_t rank = inputs[0].rank();
  int64_t dim = known_ints(node, inputs[1], "dim").at(0);
  if (dim < -rank - 1 || dim > rank) fail(node, "dim " + std::to_string(dim) + " out of range");
  if (dim < 0) dim += rank + 1;
  Shape out = inputs[0].shape;
  out.insert(out.begin() + dim, 1);
  return {inputs[0].dtype, out};
}

OutputSpec infer_pack(const Node& node, std::span<const Tensor> inputs) {
  if (inputs.empty()) fail(node, "needs at least one input");
  for (const Tensor& input : inputs)
    if (input.shape != inputs[0].shape || input.dtype != inputs[0].dtype) fail(node, "inputs differ in shape or dtype");
  const int64_t rank = inputs[0].rank() + 1;
  const int64_t axis = normalize_axis(node, node.attrs.axis, rank);
  Shape out = inputs[0].shape;
  out.insert(out.begin() + axis, static_cast<int64_t>(inputs.size()));
  return {inputs[0].dtype, out};
}

}  // namespace

Conv2DParams conv2d_params(const Node& node, std::span<const Tensor> inputs, const Shape& output_shape) {
  const auto& a = node.attrs;
  const Tensor& x = inputs[0];
  const Tensor& w = inputs[1];
  Conv2DParams p;
  p.stride_h = a.strides[1], p.stride_w = a.strides[2];
  p.dilation_h = a.dilations[1], p.dilation_w = a.dilations[2];
  p.pad_top = pad_before(x.shape[1], output_shape[1], w.shape[0], p.stride_h, p.dilation_h, a.padding, a.explicit_paddings[2]);
  p.pad_left = pad_before(x.shape[2], output_shape[2], w.shape[1], p.stride_w, p.dilation_w, a.padding, a.explicit_paddings[4]);
  p.bias = a.fused_bias ? inputs[2].f32() : nullptr;
  p.relu = a.fused_relu;
  if (a.post_scale_offset) {
    p.scale = inputs[inputs.size() - 2].f32();
    p.offset = inputs[inputs.size() - 1].f32();
  }
  return p;
}

bool op_is_view(OpKind op) {
  return op == OpKind::Identity || op == OpKind::Reshape || op == OpKind::ExpandDims || op == OpKind::Squeeze;
}

OutputSpec infer_op(const Node& node, std::span<const Tensor> inputs) {
  switch (node.op) {
    case OpKind::Const:
    case OpKind::Placeholder:
      fail(node, "has no inputs to infer from");
    case OpKind::Identity:
      expect_inputs(node, inputs, 1);
      return {inputs[0].dtype, inputs[0].shape};
    case OpKind::Relu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::Softmax:
      expect_inputs(node, inputs, 1);
      expect_f32(node, inputs[0]);
      if (node.op == OpKind::Softmax && inputs[0].rank() == 0) fail(node, "needs rank >= 1");
      return {DType::f32, inputs[0].shape};
    case OpKind::ExpandDims: return infer_expand_dims(node, inputs);
    case OpKind::Squeeze: expect_inputs(node, inputs, 1); return infer_squeeze(node, inputs);
    case OpKind::Reshape: return infer_reshape(node, inputs);
    case OpKind::Pack: return infer_pack(node, inputs);
    case OpKind::Shape: expect_inputs(node, inputs, 1); return {DType::i32, {inputs[0].rank()}};
    case OpKind::StridedSlice:
      expect_inputs(node, inputs, 4);
      return {inputs[0].dtype, strided_slice_dims(node, inputs).output};
    case OpKind::Pad: return infer_pad(node, inputs);
    case OpKind::Mul:
    case OpKind::Add:
    case OpKind::Sub:
      expect_inputs(node, inputs, 2);
      if (inputs[0].dtype != inputs[1].dtype || inputs[0].dtype == DType::b8)
        fail(node, std::string("operands must both be float32 or int32, got ") + dtype_name(inputs[0].dtype) + " and " + dtype_name(inputs[1].dtype));
      return {inputs[0].dtype, broadcast_shape(node, inputs[0].shape, inputs[1].shape)};
    case OpKind::BiasAdd:
      expect_inputs(node, inputs, 2);
      expect_f32(node, inputs[0]);
      if (inputs[0].rank() < 1 || inputs[1].rank() != 1 || inputs[1].shape[0] != inputs[0].shape.back())
        fail(node, "bias " + shape_string(inputs[1].shape) + " does not match " + shape_string(inputs[0].shape));
      return {DType::f32, inputs[0].shape};
    case OpKind::Conv2D: return infer_conv(node, inputs);
    case OpKind::MaxPool: expect_inputs(node, inputs, 1); return infer_max_pool(node, inputs);
    case OpKind::ConcatV2: return infer_concat(node, inputs);
    case OpKind::Transpose: return infer_transpose(node, inputs);
    case OpKind::Max:
    case OpKind::Mean:
      expect_inputs(node, inputs, 2);
      expect_f32(node, inputs[0]);
      return {DType::f32, reduced_shape(inputs[0].shape, reduction_axes(node, inputs), node.attrs.keep_dims)};
    case OpKind::MatMul: return infer_matmul(node, inputs);
  }
  fail(node, "no shape inference");
}

// ---------------------------------------------------------------- kernels

namespace {

// Splits [0, count) over the pool when the work is large enough to pay for it.
template <typename Fn>
void for_range(const OpContext& context, int64_t count, int64_t min_chunk, Fn&& fn) {
  if (!context.pool || count < 2 * min_chunk) {
    fn(int64_t{0}, count);
    return;
  }
  context.pool->parallel_for(count, [&](int64_t begin, int64_t end, int) { fn(begin, end); }, min_chunk);
}

// Strides (in elements) of a dense C-order shape.
std::vector<int64_t> dense_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d) strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

// Strides of `shape` seen through a broadcast to `out` (0 on broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  const auto dense = dense_strides(shape);
  const size_t offset = out.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) strides[d + offset] = shape[d] == 1 ? 0 : dense[d];
  return strides;
}

template <typename T, typename Fn>
void binary_kernel(const Tensor& a, const Tensor& b, const Tensor& y, const OpContext& context, Fn op) {
  const T* pa = static_cast<const T*>(a.data);
  const T* pb = static_cast<const T*>(b.data);
  T* py = static_cast<T*>(y.data);
  const int64_t count = y.size();
  // Fast paths: same shape; one side broadcast along leading dims only (per-channel
  // constants like batch-norm scales [C] against [B, H, W, C]); scalars.
  if (a.size() == count && b.size() == count) {
    for_range(context, count, 1 << 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) py[i] = op(pa[i], pb[i]);
    });
    return;
  }
  auto trailing_match = [&](const Tensor& small) {
    const size_t offset = y.shape.size() - small.shape.size();
    for (size_t d = 0; d < small.shape.size(); ++d)
      if (small.shape[d] != y.shape[d + offset]) return false;
    return true;
  };
  if (a.size() == count && trailing_match(b)) {
    const int64_t inner = b.size();
    for_range(context, count / inner, std::max<int64_t>(1, (1 << 16) / inner), [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row)
        for (int64_t i = 0; i < inner; ++i) py[row * inner + i] = op(pa[row * inner + i], pb[i]);
    });
    return;
  }
  if (b.size() == count && trailing_match(a)) {
    const int64_t inner = a.size();
    for_range(context, count / inner, std::max<int64_t>(1, (1 << 16) / inner), [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row)
        for (int64_t i = 0; i < inner; ++i) py[row * inner + i] = op(pa[i], pb[row * inner + i]);
    });
    return;
  }
  // General broadcast: walk the output index like an odometer.
  const auto sa = broadcast_strides(a.shape, y.shape);
  const auto sb = broadcast_strides(b.shape, y.shape);
  const int rank = y.rank();
  std::vector<int64_t> index(rank, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < count; ++i) {
    py[i] = op(pa[ia], pb[ib]);
    for (int d = rank - 1; d >= 0; --d) {
      ia += sa[d], ib += sb[d];
      if (++index[d] < y.shape[d]) break;
      ia -= sa[d] * index[d], ib -= sb[d] * index[d];
      index[d] = 0;
    }
  }
}

template <typename T>
void binary_op(const Node& node, const Tensor& a, const Tensor& b, const Tensor& y, const OpContext& context) {
  switch (node.op) {
    case OpKind::Mul: binary_kernel<T>(a, b, y, context, [](T x, T z) { return x * z; }); break;
    case OpKind::Add: binary_kernel<T>(a, b, y, context, [](T x, T z) { return x + z; }); break;
    case OpKind::Sub: binary_kernel<T>(a, b, y, context, [](T x, T z) { return x - z; }); break;
    default: assert(false);
  }
}

template <typename Fn>
void unary_op(const Tensor& x, const Tensor& y, const OpContext& context, Fn op) {
  const float* px = x.f32();
  float* py = y.f32();
  for_range(context, x.size(), 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) py[i] = op(px[i]);
  });
}

void softmax(const Tensor& x, const Tensor& y) {
  const int64_t inner = x.shape.back();
  const int64_t rows = inner ? x.size() / inner : 0;
  for (int64_t row = 0; row < rows; ++row) {
    const float* in = x.f32() + row * inner;
    float* out = y.f32() + row * inner;
    const float max = *std::max_element(in, in + inner);
    float sum = 0;
    for (int64_t i = 0; i < inner; ++i) sum += out[i] = std::exp(in[i] - max);
    for (int64_t i = 0; i < inner; ++i) out[i] /= sum;
  }
}

void bias_add(const Tensor& x, const Tensor& bias, const Tensor& y) {
  const int64_t channels = bias.size();
  for (int64_t i = 0; i < x.size(); ++i) y.f32()[i] = x.f32()[i] + bias.f32()[i % channels];
}

// NHWC max pooling; padded positions never win (TF semantics).
void max_pool(const Node& node, const Tensor& x, const Tensor& y, const OpContext& context) {
  const auto& a = node.attrs;
  const int64_t height = x.shape[1], width = x.shape[2], channels = x.shape[3];
  const int64_t out_h = y.shape[1], out_w = y.shape[2];
  const int64_t pad_top = pad_before(height, out_h, a.ksize[1], a.strides[1], 1, a.padding, 0);
  const int64_t pad_left = pad_before(width, out_w, a.ksize[2], a.strides[2], 1, a.padding, 0);
  for_range(context, x.shape[0] * out_h, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> best(channels);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / out_h, oh = row % out_h;
      for (int64_t ow = 0; ow < out_w; ++ow) {
        std::fill(best.begin(), best.end(), -INFINITY);
        for (int64_t kh = 0; kh < a.ksize[1]; ++kh) {
          const int64_t ih = oh * a.strides[1] - pad_top + kh;
          if (ih < 0 || ih >= height) continue;
          for (int64_t kw = 0; kw < a.ksize[2]; ++kw) {
            const int64_t iw = ow * a.strides[2] - pad_left + kw;
            if (iw < 0 || iw >= width) continue;
            const float* in = x.f32() + ((n * height + ih) * width + iw) * channels;
            for (int64_t c = 0; c < channels; ++c) best[c] = std::max(best[c], in[c]);
          }
        }
        std::copy(best.begin(), best.end(), y.f32() + ((n * out_h + oh) * out_w + ow) * channels);
      }
    }
  });
}

void reduce(const Node& node, std::span<const Tensor> inputs, const Tensor& y) {
  const Tensor& x = inputs[0];
  const auto axes = reduction_axes(node, inputs);
  // Map each input element to its output element: output strides with 0 on reduced axes.
  const Shape kept = reduced_shape(x.shape, axes, true);
  const auto out_strides = broadcast_strides(kept, x.shape);
  const bool is_max = node.op == OpKind::Max;
  std::fill(y.f32(), y.f32() + y.size(), is_max ? -INFINITY : 0.0f);
  const int rank = x.rank();
  std::vector<int64_t> index(rank, 0);
  int64_t out = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    float& target = y.f32()[out];
    target = is_max ? std::max(target, x.f32()[i]) : target + x.f32()[i];
    for (int d = rank - 1; d >= 0; --d) {
      out += out_strides[d];
      if (++index[d] < x.shape[d]) break;
      out -= out_strides[d] * index[d];
      index[d] = 0;
    }
  }
  if (!is_max && y.size() > 0) {
    const float divisor = static_cast<float>(x.size() / y.size());
    for (int64_t i = 0; i < y.size(); ++i) y.f32()[i] /= divisor;
  }
}

void concat(std::span<const Tensor> inputs, const Tensor& y) {
  const auto values = inputs.first(inputs.size() - 1);
  const int64_t axis = [&] {
    int64_t a = inputs.back().i32()[0];
    return a < 0 ? a + y.rank() : a;
  }();
  const size_t element = dtype_size(y.dtype);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.shape[d];
  const int64_t out_inner = y.size() / std::max<int64_t>(outer, 1) * element;
  auto* out = static_cast<uint8_t*>(y.data);
  int64_t offset = 0;
  for (const Tensor& value : values) {
    const int64_t inner = value.size() / std::max<int64_t>(outer, 1) * element;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out + o * out_inner + offset, static_cast<const uint8_t*>(value.data) + o * inner, inner);
    offset += inner;
  }
}

void pack(const Node& node, std::span<const Tensor> inputs, const Tensor& y) {
  const int64_t axis = normalize_axis(node, node.attrs.axis, y.rank());
  const size_t element = dtype_size(y.dtype);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.shape[d];
  const int64_t inner = inputs[0].size() / std::max<int64_t>(outer, 1) * element;
  auto* out = static_cast<uint8_t*>(y.data);
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < inputs.size(); ++k)
      std::memcpy(out + (o * inputs.size() + k) * inner, static_cast<const uint8_t*>(inputs[k].data) + o * inner, inner);
}

// Copies elements of `x` at positions begin[d] + i*stride[d] (per dim) into dense `y`.
void gather_strided(const Tensor& x, const std::vector<int64_t>& begin, const std::vector<int64_t>& stride,
                    const std::vector<int64_t>& length, const std::vector<int64_t>& in_strides, void* y) {
  const size_t element = dtype_size(x.dtype);
  const int rank = x.rank();
  int64_t count = 1;
  for (int64_t l : length) count *= l;
  if (count == 0) return;
  std::vector<int64_t> index(rank, 0);
  int64_t in = 0;
  for (int d = 0; d < rank; ++d) in += begin[d] * in_strides[d];
  for (int64_t i = 0; i < count; ++i) {
    std::memcpy(static_cast<uint8_t*>(y) + i * element, static_cast<const uint8_t*>(x.data) + in * element, element);
    for (int d = rank - 1; d >= 0; --d) {
      in += stride[d] * in_strides[d];
      if (++index[d] < length[d]) break;
      in -= stride[d] * in_strides[d] * index[d];
      index[d] = 0;
    }
  }
}

void transpose(std::span<const Tensor> inputs, const Tensor& y) {
  const Tensor& x = inputs[0];
  const auto in_strides = dense_strides(x.shape);
  std::vector<int64_t> begin(x.rank(), 0), stride(x.rank()), length(x.rank());
  // Walk y in order: y dim d is x dim perm[d]. Express as a strided gather over a
  // permuted view of x.
  std::vector<int64_t> permuted_strides(x.rank());
  for (int d = 0; d < x.rank(); ++d) {
    int64_t axis = inputs[1].i32()[d];
    if (axis < 0) axis += x.rank();
    permuted_strides[d] = in_strides[axis];
    stride[d] = 1;
    length[d] = y.shape[d];
  }
  gather_strided(x, begin, stride, length, permuted_strides, y.data);
}

void pad(std::span<const Tensor> inputs, const Tensor& y) {
  const Tensor& x = inputs[0];
  const size_t element = dtype_size(x.dtype);
  std::memset(y.data, 0, y.size() * element);
  if (x.size() == 0) return;
  const int rank = x.rank();
  const auto out_strides = dense_strides(y.shape);
  const int64_t row = rank ? x.shape[rank - 1] : 1;
  int64_t out_offset = 0;
  for (int d = 0; d < rank; ++d) out_offset += inputs[1].i32()[2 * d] * out_strides[d];
  std::vector<int64_t> index(std::max(rank - 1, 0), 0);
  const int64_t rows = x.size() / row;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t out = out_offset;
    for (int d = 0; d < rank - 1; ++d) out += index[d] * out_strides[d];
    std::memcpy(static_cast<uint8_t*>(y.data) + out * element, static_cast<const uint8_t*>(x.data) + r * row * element,
                row * element);
    for (int d = rank - 2; d >= 0; --d) {
      if (++index[d] < x.shape[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

void compute_op(const Node& node, std::span<const Tensor> inputs, const Tensor& output, const OpContext& context) {
  switch (node.op) {
    case OpKind::Const:
    case OpKind::Placeholder:
      return;  // the executor binds their data
    case OpKind::Identity:
    case OpKind::Reshape:
    case OpKind::ExpandDims:
    case OpKind::Squeeze:
      if (output.data != inputs[0].data) std::memcpy(output.data, inputs[0].data, output.size() * dtype_size(output.dtype));
      return;
    case OpKind::Shape:
      for (int d = 0; d < inputs[0].rank(); ++d) output.i32()[d] = static_cast<int32_t>(inputs[0].shape[d]);
      return;
    case OpKind::StridedSlice: {
      const SliceDims dims = strided_slice_dims(node, inputs);
      gather_strided(inputs[0], dims.begin, dims.stride, dims.length, dense_strides(inputs[0].shape), output.data);
      return;
    }
    case OpKind::Pack: pack(node, inputs, output); return;
    case OpKind::Pad: pad(inputs, output); return;
    case OpKind::Mul:
    case OpKind::Add:
    case OpKind::Sub:
      if (output.dtype == DType::f32) binary_op<float>(node, inputs[0], inputs[1], output, context);
      else binary_op<int32_t>(node, inputs[0], inputs[1], output, context);
      return;
    case OpKind::BiasAdd: bias_add(inputs[0], inputs[1], output); return;
    case OpKind::Relu: unary_op(inputs[0], output, context, [](float v) { return v > 0 ? v : 0.0f; }); return;
    case OpKind::Sigmoid: unary_op(inputs[0], output, context, [](float v) { return 1.0f / (1.0f + std::exp(-v)); }); return;
    case OpKind::Tanh: unary_op(inputs[0], output, context, [](float v) { return std::tanh(v); }); return;
    case OpKind::Softmax: softmax(inputs[0], output); return;
    case OpKind::MaxPool: max_pool(node, inputs[0], output, context); return;
    case OpKind::ConcatV2: concat(inputs, output); return;
    case OpKind::Transpose: transpose(inputs, output); return;
    case OpKind::Max:
    case OpKind::Mean: reduce(node, inputs, output); return;
    case OpKind::MatMul:
      matmul(inputs[0], inputs[1], output, node.attrs.transpose_a, node.attrs.transpose_b,
             node.attrs.fused_bias ? inputs[2].f32() : nullptr, node.attrs.fused_relu, context.reference);
      return;
    case OpKind::Conv2D: {
      const Conv2DParams params = conv2d_params(node, inputs, output.shape);
      if (context.conv && !context.reference) run_conv(*context.conv, inputs[0], output);
      else conv2d_reference(inputs[0], inputs[1], output, params);
      return;
    }
  }
}

}  // namespace tagscape::model
