#include "model/graph.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "common/error.h"

namespace tagscape::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

// ---------------------------------------------------------------- tensor basics

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32: return 4;
    case DType::i32: return 4;
    case DType::b8: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "float32";
    case DType::i32: return "int32";
    case DType::b8: return "bool";
  }
  return "?";
}

int64_t element_count(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::string shape_string(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

const char* op_kind_name(OpKind op) {
  static const char* const names[] = {
      "Const", "Placeholder", "Identity", "ExpandDims", "Squeeze", "Reshape", "Pack", "Shape",
      "StridedSlice", "Pad", "Mul", "Add", "Sub", "Conv2D", "MaxPool", "ConcatV2", "Transpose", "Max",
      "Mean", "MatMul", "BiasAdd", "Relu", "Sigmoid", "Tanh", "Softmax"};
  return names[static_cast<int>(op)];
}

int Graph::find(const std::string& name) const {
  auto it = node_by_name.find(name);
  return it == node_by_name.end() ? -1 : it->second;
}

namespace {

// ---------------------------------------------------------------- JSON helpers

std::string base64_decode(const std::string& text) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const size_t value = alphabet.find(c);
    if (value == std::string::npos) continue;  // '=' padding
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

// TF's JSON encodes int64 as strings ("187"); accept numbers too.
int64_t json_int(const json& value) {
  return value.is_string() ? std::stoll(value.get<std::string>()) : value.get<int64_t>();
}

struct NodeContext {
  const std::string& path;
  const std::string& node;
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path + ": node '" + node + "': " + what);
  }
};

const json* find_attr(const json& node, const char* name) {
  auto attrs = node.find("attr");
  if (attrs == node.end() || !attrs->is_object()) return nullptr;
  auto it = attrs->find(name);
  return it == attrs->end() ? nullptr : &*it;
}

std::string attr_string(const json& node, const char* name, const std::string& fallback = "") {
  const json* attr = find_attr(node, name);
  return attr && attr->contains("s") ? base64_decode((*attr)["s"].get<std::string>()) : fallback;
}

int64_t attr_int(const json& node, const char* name, int64_t fallback = 0) {
  const json* attr = find_attr(node, name);
  return attr && attr->contains("i") ? json_int((*attr)["i"]) : fallback;
}

bool attr_bool(const json& node, const char* name, bool fallback = false) {
  const json* attr = find_attr(node, name);
  return attr && attr->contains("b") ? (*attr)["b"].get<bool>() : fallback;
}

std::vector<int64_t> attr_ints(const json& node, const char* name) {
  std::vector<int64_t> values;
  const json* attr = find_attr(node, name);
  if (attr && attr->contains("list") && (*attr)["list"].contains("i"))
    for (const json& value : (*attr)["list"]["i"]) values.push_back(json_int(value));
  return values;
}

std::vector<std::string> attr_strings(const json& node, const char* name) {
  std::vector<std::string> values;
  const json* attr = find_attr(node, name);
  if (attr && attr->contains("list") && (*attr)["list"].contains("s"))
    for (const json& value : (*attr)["list"]["s"]) values.push_back(base64_decode(value.get<std::string>()));
  return values;
}

template <size_t N>
std::array<int64_t, N> attr_array(const json& node, const char* name, const NodeContext& context,
                                   std::array<int64_t, N> fallback) {
  const std::vector<int64_t> values = attr_ints(node, name);
  if (values.empty()) return fallback;
  if (values.size() != N) context.fail(std::string("attribute ") + name + " must have " + std::to_string(N) + " values");
  std::array<int64_t, N> out;
  std::copy(values.begin(), values.end(), out.begin());
  return out;
}

DType parse_tf_dtype(const std::string& type, const NodeContext& context) {
  if (type == "DT_FLOAT") return DType::f32;
  if (type == "DT_INT32") return DType::i32;
  if (type == "DT_BOOL") return DType::b8;
  context.fail("unsupported dtype " + type);
}

// ---------------------------------------------------------------- ops and attrs

OpKind parse_op(const std::string& op, const NodeContext& context) {
  static const std::unordered_map<std::string, OpKind> ops = {
      {"Const", OpKind::Const}, {"Placeholder", OpKind::Placeholder},
      {"Identity", OpKind::Identity}, {"ExpandDims", OpKind::ExpandDims},
      {"Squeeze", OpKind::Squeeze}, {"Reshape", OpKind::Reshape}, {"Pack", OpKind::Pack},
      {"Shape", OpKind::Shape}, {"StridedSlice", OpKind::StridedSlice}, {"Pad", OpKind::Pad},
      {"Mul", OpKind::Mul}, {"Add", OpKind::Add}, {"AddV2", OpKind::Add}, {"Sub", OpKind::Sub},
      {"Conv2D", OpKind::Conv2D}, {"_FusedConv2D", OpKind::Conv2D}, {"MaxPool", OpKind::MaxPool},
      {"ConcatV2", OpKind::ConcatV2}, {"Transpose", OpKind::Transpose}, {"Max", OpKind::Max},
      {"Mean", OpKind::Mean}, {"MatMul", OpKind::MatMul}, {"_FusedMatMul", OpKind::MatMul},
      {"BiasAdd", OpKind::BiasAdd}, {"Relu", OpKind::Relu}, {"Sigmoid", OpKind::Sigmoid},
      {"Tanh", OpKind::Tanh}, {"Softmax", OpKind::Softmax}};
  auto it = ops.find(op);
  if (it == ops.end()) context.fail("unknown op '" + op + "'");
  return it->second;
}

Padding parse_padding(const std::string& padding, const NodeContext& context) {
  if (padding == "VALID") return Padding::valid;
  if (padding == "SAME") return Padding::same;
  if (padding == "EXPLICIT") return Padding::explicit_;
  context.fail("unsupported padding '" + padding + "'");
}

void parse_fused_ops(const json& node, Node& parsed, const NodeContext& context) {
  for (const std::string& fused : attr_strings(node, "fused_ops")) {
    if (fused == "BiasAdd") parsed.attrs.fused_bias = true;
    else if (fused == "Relu") parsed.attrs.fused_relu = true;
    else context.fail("unsupported fused op '" + fused + "'");
  }
  const size_t expected_inputs = parsed.attrs.fused_bias ? 3 : 2;
  if (parsed.inputs.size() != expected_inputs)
    context.fail("expects " + std::to_string(expected_inputs) + " inputs, has " + std::to_string(parsed.inputs.size()));
}

void parse_conv_attrs(const json& node, Node& parsed, const NodeContext& context) {
  const std::string format = attr_string(node, "data_format", "NHWC");
  if (format != "NHWC") context.fail("data_format " + format + " is not supported (NHWC only)");
  parsed.attrs.padding = parse_padding(attr_string(node, "padding", "VALID"), context);
  parsed.attrs.strides = attr_array<4>(node, "strides", context, {1, 1, 1, 1});
  parsed.attrs.dilations = attr_array<4>(node, "dilations", context, {1, 1, 1, 1});
  if (parsed.attrs.padding == Padding::explicit_)
    parsed.attrs.explicit_paddings = attr_array<8>(node, "explicit_paddings", context, {});
  if (parsed.attrs.strides[0] != 1 || parsed.attrs.strides[3] != 1)
    context.fail("strides over batch or channels are not supported");
  if (parsed.attrs.dilations[0] != 1 || parsed.attrs.dilations[3] != 1)
    context.fail("dilations over batch or channels are not supported");
}

void parse_attrs(const json& node, Node& parsed, const NodeContext& context) {
  switch (parsed.op) {
    case OpKind::Conv2D:
      parse_conv_attrs(node, parsed, context);
      if (node["op"] == "_FusedConv2D") parse_fused_ops(node, parsed, context);
      break;
    case OpKind::MaxPool:
      parse_conv_attrs(node, parsed, context);
      parsed.attrs.ksize = attr_array<4>(node, "ksize", context, {1, 1, 1, 1});
      if (parsed.attrs.ksize[0] != 1 || parsed.attrs.ksize[3] != 1)
        context.fail("pooling over batch or channels is not supported");
      break;
    case OpKind::MatMul:
      parsed.attrs.transpose_a = attr_bool(node, "transpose_a");
      parsed.attrs.transpose_b = attr_bool(node, "transpose_b");
      if (node["op"] == "_FusedMatMul") parse_fused_ops(node, parsed, context);
      break;
    case OpKind::Squeeze:
      parsed.attrs.squeeze_dims = attr_ints(node, "squeeze_dims");
      break;
    case OpKind::Max:
    case OpKind::Mean:
      parsed.attrs.keep_dims = attr_bool(node, "keep_dims");
      break;
    case OpKind::Pack:
      parsed.attrs.axis = attr_int(node, "axis");
      break;
    case OpKind::StridedSlice:
      parsed.attrs.begin_mask = attr_int(node, "begin_mask");
      parsed.attrs.end_mask = attr_int(node, "end_mask");
      parsed.attrs.shrink_axis_mask = attr_int(node, "shrink_axis_mask");
      if (attr_int(node, "ellipsis_mask") || attr_int(node, "new_axis_mask"))
        context.fail("StridedSlice ellipsis_mask/new_axis_mask are not supported");
      break;
    case OpKind::BiasAdd:
      if (attr_string(node, "data_format", "NHWC") != "NHWC") context.fail("BiasAdd supports NHWC only");
      break;
    case OpKind::Placeholder: {
      const json* dtype = find_attr(node, "dtype");
      if (dtype && dtype->contains("type")) parsed.dtype = parse_tf_dtype((*dtype)["type"], context);
      const json* shape = find_attr(node, "shape");
      if (shape && shape->contains("shape") && (*shape)["shape"].contains("dim"))
        for (const json& dim : (*shape)["shape"]["dim"]) parsed.placeholder_shape.push_back(json_int(dim["size"]));
      break;
    }
    default:
      break;
  }
}

// ---------------------------------------------------------------- weights

float half_to_float(uint16_t half) {
  const uint32_t sign = (half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1f;
  const uint32_t mantissa = half & 0x3ff;
  float magnitude;
  if (exponent == 0) magnitude = std::ldexp(static_cast<float>(mantissa), -24);           // subnormal
  else if (exponent == 31) magnitude = mantissa ? NAN : INFINITY;
  else magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  uint32_t bits;
  std::memcpy(&bits, &magnitude, 4);
  bits |= sign;
  std::memcpy(&magnitude, &bits, 4);
  return magnitude;
}

DType parse_weight_dtype(const std::string& dtype, const std::string& where) {
  if (dtype == "float32") return DType::f32;
  if (dtype == "int32") return DType::i32;
  if (dtype == "bool") return DType::b8;
  throw Error(where + ": unsupported weight dtype '" + dtype + "'");
}

// Stored bytes per element: quantisation changes the storage type, not the value type.
size_t stored_element_size(const json& weight, DType dtype) {
  if (!weight.contains("quantization")) return dtype_size(dtype);
  const std::string stored = weight["quantization"].value("dtype", "");
  if (stored == "uint8") return 1;
  if (stored == "uint16" || stored == "float16") return 2;
  return 0;  // reported by decode_weight
}

// Decodes one weight's stored bytes into `out` (dtype/shape already set).
// ref: tfjs-core io_utils.ts decodeWeights: value = q * scale + min; float16 -> float32.
void decode_weight(const json& weight, const uint8_t* stored, OwnedTensor& out, const std::string& where) {
  const int64_t count = element_count(out.shape);
  out.bytes.resize(count * dtype_size(out.dtype));
  if (!weight.contains("quantization")) {
    std::memcpy(out.bytes.data(), stored, out.bytes.size());
    return;
  }
  const json& quantization = weight["quantization"];
  const std::string stored_dtype = quantization.value("dtype", "");
  std::vector<float> values(count);
  if (stored_dtype == "float16") {
    for (int64_t i = 0; i < count; ++i) {
      uint16_t half;
      std::memcpy(&half, stored + 2 * i, 2);
      values[i] = half_to_float(half);
    }
  } else if (stored_dtype == "uint8" || stored_dtype == "uint16") {
    if (!quantization.contains("scale") || !quantization.contains("min"))
      throw Error(where + ": quantised weight needs 'scale' and 'min'");
    const float scale = quantization["scale"].get<float>();
    const float min = quantization["min"].get<float>();
    for (int64_t i = 0; i < count; ++i) {
      uint16_t q = stored[i];
      if (stored_dtype == "uint16") std::memcpy(&q, stored + 2 * i, 2);
      values[i] = q * scale + min;
    }
  } else {
    throw Error(where + ": unsupported quantization dtype '" + stored_dtype + "'");
  }
  if (out.dtype == DType::f32) {
    std::memcpy(out.bytes.data(), values.data(), out.bytes.size());
  } else if (out.dtype == DType::i32) {
    auto* ints = reinterpret_cast<int32_t*>(out.bytes.data());
    for (int64_t i = 0; i < count; ++i) ints[i] = static_cast<int32_t>(std::lround(values[i]));
  } else {
    throw Error(where + ": quantised bool weights are not supported");
  }
}

std::vector<uint8_t> read_file_bytes(const fs::path& path, const std::string& model_path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(model_path + ": weight shard " + path.filename().string() + " is missing or unreadable");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Reads every group of the manifest; returns name -> decoded tensor.
std::unordered_map<std::string, OwnedTensor> load_weights(const json& manifest, const fs::path& directory,
                                                          const std::string& model_path) {
  std::unordered_map<std::string, OwnedTensor> weights;
  if (!manifest.is_array()) throw Error(model_path + ": weightsManifest must be an array");
  for (const json& group : manifest) {
    std::vector<uint8_t> bytes;
    for (const json& shard : group.at("paths")) {
      std::vector<uint8_t> shard_bytes = read_file_bytes(directory / shard.get<std::string>(), model_path);
      bytes.insert(bytes.end(), shard_bytes.begin(), shard_bytes.end());
    }
    size_t offset = 0;
    for (const json& weight : group.at("weights")) {
      const std::string name = weight.at("name");
      const std::string where = model_path + ": weight '" + name + "'";
      OwnedTensor tensor;
      tensor.dtype = parse_weight_dtype(weight.at("dtype"), where);
      for (const json& dim : weight.at("shape")) tensor.shape.push_back(json_int(dim));
      const size_t stored_size = element_count(tensor.shape) * stored_element_size(weight, tensor.dtype);
      if (stored_size == 0 && element_count(tensor.shape) != 0)
        throw Error(where + ": unsupported quantization dtype '" + weight["quantization"].value("dtype", "") + "'");
      if (offset + stored_size > bytes.size())
        throw Error(model_path + ": weight shards hold " + std::to_string(bytes.size()) +
                    " bytes, but the manifest needs at least " + std::to_string(offset + stored_size) +
                    " (shard truncated or wrong size)");
      decode_weight(weight, bytes.data() + offset, tensor, where);
      offset += stored_size;
      weights[name] = std::move(tensor);
    }
    if (offset != bytes.size())
      throw Error(model_path + ": weight shards hold " + std::to_string(bytes.size()) + " bytes, but the manifest describes " +
                  std::to_string(offset) + " (wrong shard size)");
  }
  return weights;
}

json read_model_json(const std::string& model_path) {
  std::ifstream in(model_path);
  if (!in) throw Error(model_path + ": cannot open (missing or unreadable)");
  try {
    return json::parse(in);
  } catch (const json::exception& error) {
    throw Error(model_path + ": malformed JSON (" + std::string(error.what()) + ")");
  }
}

std::string model_json_path(const std::string& path) {
  return fs::is_directory(path) ? (fs::path(path) / "model.json").string() : path;
}

void parse_nodes(const json& nodes, const std::string& model_path, Graph& graph,
                 std::vector<std::vector<std::string>>& input_names) {
  for (const json& node : nodes) {
    Node parsed;
    parsed.name = node.at("name").get<std::string>();
    const NodeContext context{model_path, parsed.name};
    parsed.op = parse_op(node.at("op").get<std::string>(), context);
    std::vector<std::string> names;
    for (const json& input : node.value("input", json::array())) {
      std::string name = input.get<std::string>();
      if (!name.empty() && name[0] == '^') continue;  // control dependency: ordering only
      const size_t colon = name.rfind(':');
      if (colon != std::string::npos) {
        if (name.substr(colon + 1) != "0") context.fail("input '" + name + "' uses a secondary output (unsupported)");
        name.resize(colon);
      }
      names.push_back(name);
    }
    parsed.inputs.resize(names.size(), -1);
    if (graph.node_by_name.count(parsed.name)) context.fail("duplicate node name");
    graph.node_by_name[parsed.name] = static_cast<int>(graph.nodes.size());
    graph.nodes.push_back(std::move(parsed));
    input_names.push_back(std::move(names));
    parse_attrs(node, graph.nodes.back(), context);  // after inputs: fused-op checks count them
  }
}

void resolve_inputs(Graph& graph, const std::vector<std::vector<std::string>>& input_names) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    Node& node = graph.nodes[i];
    for (size_t k = 0; k < input_names[i].size(); ++k) {
      const int input = graph.find(input_names[i][k]);
      if (input < 0) throw Error(graph.path + ": node '" + node.name + "': input '" + input_names[i][k] + "' does not exist");
      node.inputs[k] = input;
    }
  }
}

void attach_constants(Graph& graph, std::unordered_map<std::string, OwnedTensor>& weights) {
  for (Node& node : graph.nodes) {
    if (node.op != OpKind::Const) continue;
    auto it = weights.find(node.name);
    if (it == weights.end()) throw Error(graph.path + ": Const node '" + node.name + "' has no weight in the manifest");
    node.dtype = it->second.dtype;
    node.constant = static_cast<int>(graph.constants.size());
    graph.constants.push_back(std::move(it->second));
  }
}

}  // namespace

Graph load_graph(const std::string& path) {
  Graph graph;
  graph.path = model_json_path(path);
  const json model = read_model_json(graph.path);
  try {
    if (model.value("format", "graph-model") != "graph-model")
      throw Error(graph.path + ": format '" + model.value("format", "") + "' is not a TF.js graph model");
    if (!model.contains("modelTopology") || !model["modelTopology"].contains("node"))
      throw Error(graph.path + ": no modelTopology.node (not a TF.js graph model)");
    std::vector<std::vector<std::string>> input_names;
    parse_nodes(model["modelTopology"]["node"], graph.path, graph, input_names);
    resolve_inputs(graph, input_names);
    auto weights = load_weights(model.value("weightsManifest", json::array()), fs::path(graph.path).parent_path(), graph.path);
    attach_constants(graph, weights);
  } catch (const json::exception& error) {
    throw Error(graph.path + ": malformed model (" + std::string(error.what()) + ")");
  }
  return graph;
}

int unfuse_bias_add(Graph& graph, const std::string& name) {
  const std::string suffix = "/BiasAdd";
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return -1;
  const int fused_index = graph.find(name.substr(0, name.size() - suffix.size()) + "/Relu");
  if (fused_index < 0) return -1;
  Node& fused = graph.nodes[fused_index];
  if ((fused.op != OpKind::Conv2D && fused.op != OpKind::MatMul) || !fused.attrs.fused_bias || !fused.attrs.fused_relu)
    return -1;
  Node pre_activation = fused;  // same op, inputs and attrs, without the Relu
  pre_activation.name = name;
  pre_activation.attrs.fused_relu = false;
  const int pre_index = static_cast<int>(graph.nodes.size());
  Node relu;
  relu.name = fused.name;
  relu.op = OpKind::Relu;
  relu.inputs = {pre_index};
  graph.nodes[fused_index] = std::move(relu);
  graph.nodes.push_back(std::move(pre_activation));
  graph.node_by_name[name] = pre_index;
  return pre_index;
}

}  // namespace tagscape::model
