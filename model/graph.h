// model/graph.h — loading a TF.js graph model (model.json + weight shards).
//
//   Graph graph = load_graph("models/msd-musicnn-1");   // or ".../model.json"
//
// model.json ("format": "graph-model") holds `modelTopology.node`: a TensorFlow
// GraphDef as JSON (name, op, input names, attrs), and `weightsManifest`: groups of
// shard files whose concatenated bytes hold every Const node's value in manifest
// order. ref: tfjs-core/src/io/types.ts (WeightsManifestEntry),
//      tfjs-core/src/io/io_utils.ts (decodeWeights).
//
// Loading checks everything that can be checked without an input: JSON shape, every
// op is one the executor implements (else "unknown op 'Foo' in node 'bar'"), every
// attribute is supported, every input names an existing node, shard files exist and
// have exactly the manifest's size, weights decode (float32/int32/bool, uint8/uint16
// affine-quantised, float16). Errors are tagscape::Error naming the file.
#pragma once

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/tensor.h"

namespace tagscape::model {

enum class OpKind : uint8_t {
  Const, Placeholder, Identity, ExpandDims, Squeeze, Reshape, Pack, Shape,
  StridedSlice, Pad, Mul, Add, Sub, Conv2D, MaxPool, ConcatV2, Transpose, Max,
  Mean, MatMul, BiasAdd, Relu, Sigmoid, Tanh, Softmax,
};
const char* op_kind_name(OpKind op);

enum class Padding : uint8_t { valid, same, explicit_ };

// Attributes of every op, parsed once at load time; each op reads only its own.
struct NodeAttrs {
  // Conv2D / _FusedConv2D / MaxPool (NHWC only; strides etc. are [1, h, w, 1]).
  Padding padding = Padding::valid;
  std::array<int64_t, 4> strides = {1, 1, 1, 1};
  std::array<int64_t, 4> dilations = {1, 1, 1, 1};
  std::array<int64_t, 4> ksize = {1, 1, 1, 1};                // MaxPool window
  std::array<int64_t, 8> explicit_paddings = {};              // Padding::explicit_
  // _FusedConv2D / _FusedMatMul epilogue: y = op(x) (+ bias) (then relu).
  bool fused_bias = false;  // the third input is a [channels] bias
  bool fused_relu = false;
  // Conv2D only, set by the executor when it folds a following batch norm
  // (Mul by a per-channel constant, then Add of one) into the convolution: the
  // node's inputs then end with [scale, offset] after the bias.
  bool post_scale_offset = false;
  // MatMul
  bool transpose_a = false, transpose_b = false;
  // Squeeze: dims to drop (empty = every dim of size 1)
  std::vector<int64_t> squeeze_dims;
  // Max / Mean
  bool keep_dims = false;
  // Pack
  int64_t axis = 0;
  // StridedSlice bit masks (ellipsis and new-axis masks are rejected at load)
  int64_t begin_mask = 0, end_mask = 0, shrink_axis_mask = 0;
};

struct Node {
  std::string name;
  OpKind op = OpKind::Const;
  std::vector<int> inputs;  // indices into Graph::nodes (output 0 of each)
  NodeAttrs attrs;
  int constant = -1;        // Const: index into Graph::constants
  DType dtype = DType::f32; // Const/Placeholder: declared dtype
  Shape placeholder_shape;  // Placeholder: declared shape, -1 = any
};

struct Graph {
  std::string path;                      // model.json path, for messages
  std::vector<Node> nodes;               // in file order (not necessarily topological)
  std::vector<OwnedTensor> constants;    // values of Const nodes
  std::unordered_map<std::string, int> node_by_name;

  int find(const std::string& name) const;  // node index or -1
};

// Loads `path` (a model directory or its model.json). Throws tagscape::Error.
Graph load_graph(const std::string& path);

// Splits a fused node so that the pre-activation value exists as its own node:
// for "x/Relu" = _FusedConv2D/_FusedMatMul(+BiasAdd+Relu), creates "x/BiasAdd" (the
// op with bias only) and turns "x/Relu" into Relu("x/BiasAdd"). This is how the
// names TF.js fused away (`model/dense/BiasAdd`, the MusiCNN embedding) stay
// requestable. Returns the new node's index, or -1 if `name` matches no fused node.
int unfuse_bias_add(Graph& graph, const std::string& name);

}  // namespace tagscape::model
