#include "model/executor.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cassert>
#include <cstring>
#include <map>

#include "common/error.h"

namespace tagscape::model {

namespace {

constexpr size_t kAlignment = 64;  // bytes: a cache line, and AVX-512 friendly

size_t align_up(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

// First-fit allocation of byte ranges in a growing arena.
struct ArenaAllocator {
  std::map<size_t, size_t> free_blocks;  // offset -> size
  size_t high_water = 0;

  size_t allocate(size_t bytes) {
    bytes = align_up(std::max<size_t>(bytes, 1));
    for (auto it = free_blocks.begin(); it != free_blocks.end(); ++it) {
      if (it->second < bytes) continue;
      const size_t offset = it->first, size = it->second;
      free_blocks.erase(it);
      if (size > bytes) free_blocks[offset + bytes] = size - bytes;
      return offset;
    }
    // Grow: extend a free block that ends at the high-water mark, if any.
    if (!free_blocks.empty()) {
      auto last = std::prev(free_blocks.end());
      if (last->first + last->second == high_water) {
        const size_t offset = last->first;
        free_blocks.erase(last);
        high_water = offset + bytes;
        return offset;
      }
    }
    const size_t offset = high_water;
    high_water += bytes;
    return offset;
  }

  void release(size_t offset, size_t bytes) {
    bytes = align_up(std::max<size_t>(bytes, 1));
    auto [it, inserted] = free_blocks.emplace(offset, bytes);
    assert(inserted);
    auto next = std::next(it);
    if (next != free_blocks.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_blocks.erase(next);
    }
    if (it != free_blocks.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_blocks.erase(it);
      }
    }
  }
};

std::string nearest_names(const Graph& graph, const std::string& name) {
  // Suggest nodes sharing the requested name's scope, e.g. "model/dense/...".
  const std::string scope = name.substr(0, name.rfind('/') + 1);
  std::string suggestions;
  int shown = 0;
  for (const Node& node : graph.nodes) {
    if (node.op == OpKind::Const || scope.empty() || node.name.rfind(scope, 0) != 0) continue;
    suggestions += (shown ? ", " : "") + node.name;
    if (++shown == 5) break;
  }
  return suggestions.empty() ? "" : " (nodes in that scope: " + suggestions + ")";
}

// Nodes the outputs depend on, in topological order (inputs before users).
std::vector<int> topological_order(const Graph& graph, const std::vector<int>& outputs) {
  enum Mark : uint8_t { unvisited, visiting, done };
  std::vector<Mark> marks(graph.nodes.size(), unvisited);
  std::vector<int> order;
  // Iterative DFS: graphs can be deep enough to overflow a recursive walk.
  for (int output : outputs) {
    std::vector<std::pair<int, size_t>> stack = {{output, 0}};
    while (!stack.empty()) {
      auto& [node, next_input] = stack.back();
      if (next_input == 0) {
        if (marks[node] == done) { stack.pop_back(); continue; }
        marks[node] = visiting;
      }
      const auto& inputs = graph.nodes[node].inputs;
      if (next_input < inputs.size()) {
        const int input = inputs[next_input++];
        if (marks[input] == visiting) throw Error(graph.path + ": graph has a cycle through node '" + graph.nodes[input].name + "'");
        if (marks[input] == unvisited) stack.push_back({input, 0});
        continue;
      }
      marks[node] = done;
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

std::vector<int> consumer_counts(const Graph& graph) {
  std::vector<int> counts(graph.nodes.size(), 0);
  for (const Node& node : graph.nodes)
    for (int input : node.inputs) ++counts[input];
  return counts;
}

const Tensor* constant_of(const Graph& graph, int node, Tensor& view) {
  if (graph.nodes[node].op != OpKind::Const) return nullptr;
  view = graph.constants[graph.nodes[node].constant].view();
  return view.dtype == DType::f32 ? &view : nullptr;
}

}  // namespace

int fold_batch_norms(Graph& graph, const std::vector<int>& keep) {
  int folded = 0;
  auto kept = [&](int node) { return std::find(keep.begin(), keep.end(), node) != keep.end(); };
  for (size_t add = 0; add < graph.nodes.size(); ++add) {
    if (graph.nodes[add].op != OpKind::Add || graph.nodes[add].inputs.size() != 2) continue;
    const auto consumers = consumer_counts(graph);
    for (int side = 0; side < 2; ++side) {
      const int mul = graph.nodes[add].inputs[side], offset = graph.nodes[add].inputs[1 - side];
      if (graph.nodes[mul].op != OpKind::Mul || consumers[mul] != 1 || kept(mul)) continue;
      const auto& mul_inputs = graph.nodes[mul].inputs;
      const int conv = graph.nodes[mul_inputs[0]].op == OpKind::Conv2D ? mul_inputs[0] : mul_inputs[1];
      const int scale = conv == mul_inputs[0] ? mul_inputs[1] : mul_inputs[0];
      const Node& conv_node = graph.nodes[conv];
      if (conv_node.op != OpKind::Conv2D || conv_node.attrs.post_scale_offset || consumers[conv] != 1 || kept(conv))
        continue;
      Tensor filter, scale_values, offset_values;
      if (!constant_of(graph, conv_node.inputs[1], filter) || filter.rank() != 4) continue;
      if (!constant_of(graph, scale, scale_values) || !constant_of(graph, offset, offset_values)) continue;
      if (scale_values.rank() != 1 || offset_values.rank() != 1 || scale_values.shape[0] != filter.shape[3] ||
          offset_values.shape[0] != filter.shape[3])
        continue;
      Node fused = conv_node;
      fused.name = graph.nodes[add].name;
      fused.inputs.push_back(scale);
      fused.inputs.push_back(offset);
      fused.attrs.post_scale_offset = true;
      graph.nodes[add] = std::move(fused);
      ++folded;
      break;
    }
  }
  return folded;
}

Executor::Executor(Graph graph, std::string input_name, std::vector<std::string> output_names, ExecutorOptions options)
    : graph_(std::move(graph)), output_names_(std::move(output_names)), options_(options), pool_(options.threads) {
  input_node_ = graph_.find(input_name);
  if (input_node_ < 0 || graph_.nodes[input_node_].op != OpKind::Placeholder)
    throw Error(graph_.path + ": no input placeholder named '" + input_name + "'");
  if (output_names_.empty()) throw Error(graph_.path + ": no outputs requested");
  for (const std::string& name : output_names_) {
    int node = graph_.find(name);
    if (node < 0) node = unfuse_bias_add(graph_, name);
    if (node < 0) throw Error(graph_.path + ": no node named '" + name + "'" + nearest_names(graph_, name));
    output_nodes_.push_back(node);
  }
  std::vector<int> keep = output_nodes_;
  keep.push_back(input_node_);
  fold_batch_norms(graph_, keep);
  order_ = topological_order(graph_, output_nodes_);
  for (int node : order_)
    if (graph_.nodes[node].op == OpKind::Placeholder && node != input_node_)
      throw Error(graph_.path + ": the requested outputs need input '" + graph_.nodes[node].name + "', which is not fed");
}

void* Executor::value_data(const Plan& plan, int node, void* input_data) {
  const PlanValue& value = plan.values[node];
  switch (value.storage) {
    case PlanValue::Storage::input: return input_data;
    case PlanValue::Storage::constant: return const_cast<uint8_t*>(graph_.constants[graph_.nodes[node].constant].bytes.data());
    case PlanValue::Storage::folded: return const_cast<uint8_t*>(value.folded.data());
    case PlanValue::Storage::arena: {
      const size_t base = align_up(reinterpret_cast<uintptr_t>(arena_.data())) - reinterpret_cast<uintptr_t>(arena_.data());
      return arena_.data() + base + value.arena_offset;
    }
    case PlanValue::Storage::view: return value_data(plan, value.view_of, input_data);
    case PlanValue::Storage::none: break;
  }
  return nullptr;
}

void Executor::build_plan(const Shape& input_shape) {
  Plan plan;
  plan.input_shape = input_shape;
  plan.values.resize(graph_.nodes.size());
  const OpContext fold_context;  // plan-time folding: single-threaded, no scratch needed by folded ops

  for (int index : order_) {
    const Node& node = graph_.nodes[index];
    PlanValue& value = plan.values[index];
    if (node.op == OpKind::Placeholder) {
      value.storage = PlanValue::Storage::input;
      value.spec = {node.dtype, input_shape};
      continue;
    }
    if (node.op == OpKind::Const) {
      const OwnedTensor& constant = graph_.constants[node.constant];
      value.storage = PlanValue::Storage::constant;
      value.spec = {constant.dtype, constant.shape};
      continue;
    }
    std::vector<Tensor> inputs;
    bool all_known = true;
    for (int input : node.inputs) {
      const PlanValue& in = plan.values[input];
      const bool known = in.storage == PlanValue::Storage::constant || in.storage == PlanValue::Storage::folded;
      all_known = all_known && known;
      inputs.push_back({in.spec.dtype, in.spec.shape, known ? value_data(plan, input, nullptr) : nullptr});
    }
    value.spec = infer_op(node, inputs);
    if (all_known || node.op == OpKind::Shape) {  // Shape needs only the input's shape
      value.storage = PlanValue::Storage::folded;
      value.folded.resize(element_count(value.spec.shape) * dtype_size(value.spec.dtype));
      compute_op(node, inputs, {value.spec.dtype, value.spec.shape, value.folded.data()}, fold_context);
      continue;
    }
    if (op_is_view(node.op)) {
      value.storage = PlanValue::Storage::view;
      value.view_of = plan.values[node.inputs[0]].storage == PlanValue::Storage::view ? plan.values[node.inputs[0]].view_of
                                                                                      : node.inputs[0];
    } else {
      value.storage = PlanValue::Storage::arena;
    }
    PlanStep step{index, nullptr, 0};
    if (node.op == OpKind::Conv2D)  // 2 * N * OH * OW * O * (KH * KW * C)
      step.flops = 2.0 * element_count(value.spec.shape) * element_count(inputs[1].shape) / inputs[1].shape[3];
    const bool constant_filter = node.op == OpKind::Conv2D && inputs[1].data;
    if (constant_filter && !options_.reference)
      step.conv = prepare_conv(inputs[0], inputs[1], value.spec.shape, conv2d_params(node, inputs, value.spec.shape));
    plan.steps.push_back(std::move(step));
  }

  // Liveness: a buffer (the root of any views) lives until its last reader has run;
  // requested outputs live to the end.
  auto root_of = [&](int node) {
    const PlanValue& value = plan.values[node];
    return value.storage == PlanValue::Storage::view ? value.view_of : node;
  };
  std::vector<int> last_use(graph_.nodes.size(), -1);
  for (size_t step = 0; step < plan.steps.size(); ++step) {
    const int node = plan.steps[step].node;
    last_use[root_of(node)] = std::max<int>(last_use[root_of(node)], static_cast<int>(step));
    for (int input : graph_.nodes[node].inputs) last_use[root_of(input)] = static_cast<int>(step);
  }
  for (int output : output_nodes_) last_use[root_of(output)] = static_cast<int>(plan.steps.size());

  ArenaAllocator allocator;
  std::vector<std::vector<int>> release_after(plan.steps.size() + 1);
  for (size_t step = 0; step < plan.steps.size(); ++step) {
    const int node = plan.steps[step].node;
    PlanValue& value = plan.values[node];
    if (value.storage == PlanValue::Storage::arena) {
      value.arena_offset = allocator.allocate(element_count(value.spec.shape) * dtype_size(value.spec.dtype));
      release_after[last_use[node]].push_back(node);
    }
    for (int released : release_after[step]) {
      const PlanValue& done = plan.values[released];
      allocator.release(done.arena_offset, element_count(done.spec.shape) * dtype_size(done.spec.dtype));
    }
  }
  plan.arena_bytes = allocator.high_water;
  plan_ = std::move(plan);
  if (arena_.size() < plan_.arena_bytes + kAlignment) arena_.assign(plan_.arena_bytes + kAlignment, 0);
}

std::vector<Tensor> Executor::run(const Tensor& input) {
  const Node& placeholder = graph_.nodes[input_node_];
  if (input.dtype != placeholder.dtype)
    throw Error(graph_.path + ": input must be " + dtype_name(placeholder.dtype) + ", got " + dtype_name(input.dtype));
  const Shape& declared = placeholder.placeholder_shape;
  bool matches = declared.empty() || declared.size() == input.shape.size();
  for (size_t d = 0; matches && d < declared.size(); ++d) matches = declared[d] < 0 || declared[d] == input.shape[d];
  if (!matches)
    throw Error(graph_.path + ": input '" + placeholder.name + "' has wrong shape: got " + shape_string(input.shape) +
                ", expected " + shape_string(declared) + " (-1 = any)");
  if (plan_.input_shape != input.shape || plan_.values.empty()) build_plan(input.shape);

  omp_set_num_threads(pool_.size());  // oneDNN's threads for this (calling) thread
  OpContext context{&pool_, options_.reference, nullptr};
  std::vector<Tensor> inputs;
  for (const PlanStep& step : plan_.steps) {
    const Node& node = graph_.nodes[step.node];
    context.conv = step.conv.get();
    inputs.clear();
    for (int in : node.inputs) inputs.push_back({plan_.values[in].spec.dtype, plan_.values[in].spec.shape, value_data(plan_, in, input.data)});
    const PlanValue& value = plan_.values[step.node];
    const auto start = options_.profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    compute_op(node, inputs, {value.spec.dtype, value.spec.shape, value_data(plan_, step.node, input.data)}, context);
    if (options_.profile) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      (node.op == OpKind::Conv2D ? profile_.conv_seconds : profile_.other_seconds) += seconds;
      profile_.conv_flops += step.flops;
    }
  }
  ++profile_.runs;
  std::vector<Tensor> outputs;
  for (int node : output_nodes_) outputs.push_back({plan_.values[node].spec.dtype, plan_.values[node].spec.shape, value_data(plan_, node, input.data)});
  return outputs;
}

}  // namespace tagscape::model
