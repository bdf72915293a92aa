// model/ops.h — the operations of a graph, one function per op kind.
//
// Every op has two halves:
//   infer_op   (plan time) output dtype + shape from input dtypes/shapes, and from
//              the *values* of inputs that must be known at plan time (axes, perms,
//              paddings, target shapes). An input with data == nullptr is not known
//              until run time; an op that needs its value fails with a named error.
//   compute_op (run time)  fills a preallocated output; allocates nothing except
//              through the caller's per-worker scratch.
// Shapes below use TF's NHWC order. `B` is the batch (patches), e.g. for MusiCNN:
//   Conv2D      x [B, 193, 96, 1] * w [7, 38, 1, 204] (+b [204], relu) -> [B, 187, 59, 204]
//   MaxPool     x [B, 187, 59, 204], ksize [1, 1, 59, 1]               -> [B, 187, 1, 204]
//   MatMul      a [B, 1506] * w [1506, 200] (+b [200], relu)           -> [B, 200]
//   Mul/Add/Sub numpy broadcasting: [204] * [B, 187, 59, 204]          -> [B, 187, 59, 204]
//   Pad         x [B, 187, 96, 1], paddings [[0,0],[3,3],[0,0],[0,0]]  -> [B, 193, 96, 1]
//   ConcatV2    [B,187,204], [B,187,204], [B,187,51]x3, axis 2          -> [B, 187, 561]
//   Transpose   x [B, 187, 1, 64], perm [0, 3, 2, 1]                   -> [B, 64, 1, 187]
//   Max/Mean    x [B, 187, 753], axes [1] (keep_dims)                  -> [B, 753] ([B, 1, 753])
//   Reshape     x [B, 2, 753], shape [B, 1506]                          -> [B, 1506]
//   Shape       x [B, 2, 753]                                           -> i32 [3] = {B, 2, 753}
//   StridedSlice i32 [3] {B,2,753}, begin [0], end [1], shrink axis 0   -> i32 [] = B
//   Pack        i32 [] B, i32 [] 1506, axis 0                           -> i32 [2] = {B, 1506}
//   Softmax     over the last axis; Sigmoid, Tanh, Relu elementwise.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "common/thread_pool.h"
#include "model/graph.h"
#include "model/tensor.h"

namespace tagscape::model {

struct OutputSpec {
  DType dtype = DType::f32;
  Shape shape;
};

// Throws tagscape::Error "node 'n' (Op): ..." on shapes/values the op cannot take.
OutputSpec infer_op(const Node& node, std::span<const Tensor> inputs);

// True for ops whose output is the input's bytes under a new shape (no copy).
bool op_is_view(OpKind op);

struct ConvKernel;  // a oneDNN convolution primitive with its weights reordered (conv.cpp)

struct OpContext {
  ThreadPool* pool = nullptr;        // null = single-threaded
  bool reference = false;            // use the scalar reference kernels
  const ConvKernel* conv = nullptr;  // Conv2D fast path, from prepare_conv at plan time
};

// Computes `node` into `output` (shape/dtype as infer_op said, data preallocated).
void compute_op(const Node& node, std::span<const Tensor> inputs, const Tensor& output, const OpContext& context);

// ---- kernels shared with tests (scalar reference + fast path) ----

struct Conv2DParams {
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // zero padding before row/col 0 of the input
  const float* bias = nullptr;        // [out_channels] or null
  bool relu = false;
  // Epilogue after relu: y = y * scale + offset, per channel (a batch norm the
  // executor folded in; see NodeAttrs::post_scale_offset).
  const float* scale = nullptr;       // [out_channels] or null
  const float* offset = nullptr;      // [out_channels] or null
};

// Conv2D parameters of a node given its input/output shapes and inputs.
Conv2DParams conv2d_params(const Node& node, std::span<const Tensor> inputs, const Shape& output_shape);

// x [N, H, W, C], w [KH, KW, C, O] -> y [N, OH, OW, O] (y's shape gives OH, OW).
void conv2d_reference(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2DParams& params);

// The fast path: oneDNN (brgconv/jit, AVX-512 or AVX2 picked at run time), built
// once per shape at plan time with the weights reordered to its blocked layout and
// bias, relu and scale/offset as post-ops. Multithreaded by oneDNN's OpenMP runtime.
std::shared_ptr<ConvKernel> prepare_conv(const Tensor& x, const Tensor& w, const Shape& output_shape,
                                         const Conv2DParams& params);
void run_conv(const ConvKernel& kernel, const Tensor& x, const Tensor& y);
const char* conv_implementation(const ConvKernel& kernel);  // e.g. "brgconv:avx512_core"

// a [M, K] (or [K, M] if transpose_a), b [K, N] (or [N, K]) -> y [M, N]; + bias [N], relu.
void matmul(const Tensor& a, const Tensor& b, const Tensor& y, bool transpose_a, bool transpose_b,
            const float* bias, bool relu, bool reference);

}  // namespace tagscape::model
