// model/executor.h — runs a loaded Graph on the CPU.
//
//   Executor executor(load_graph("models/msd-musicnn-1"), "model/Placeholder", {"model/Sigmoid", "model/dense/BiasAdd"}, {.threads = 2});
//   std::vector<Tensor> out = executor.run(patches);   // patches: f32 [B, 187, 96]
//   // out[0]: f32 [B, 50]   out[1]: f32 [B, 200]   (views valid until the next run)
//
// Build first, run later: the first run for an input shape builds a Plan — prune the
// graph to what the outputs need, order it topologically, infer every shape, fold
// everything computable without the input (Shape/StridedSlice/Pack chains, constant
// subgraphs), and lay every intermediate out in one arena where a buffer's bytes are
// reused once its last reader has run. Running a plan allocates nothing. A new batch
// size re-plans (oneDNN kernels are rebuilt: milliseconds) and reuses the arena if
// it is large enough.
//
// Graph rewrites at construction: names fused away by the TF.js converter are split
// back out when requested (model/dense/BiasAdd), and a batch norm after a
// convolution (Mul by a per-channel constant, Add of one) is folded into the
// convolution's epilogue unless one of its intermediate values is requested.
//
// Threads: convolutions and GEMMs run on oneDNN's OpenMP threads, the other ops
// split large work over one ThreadPool; both use `threads`.
// An Executor is not thread-safe: one run at a time; separate executors may run
// concurrently in separate threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "model/graph.h"
#include "model/ops.h"
#include "model/tensor.h"

namespace tagscape::model {

struct ExecutorOptions {
  int threads = 0;         // <= 0: all cores
  bool reference = false;  // scalar reference kernels (tests only: slow)
  bool profile = false;    // time every op (Executor::profile); costs a clock read per op
};

// Accumulated over every run() since construction (ExecutorOptions::profile).
struct ExecutorProfile {
  double conv_seconds = 0;   // wall seconds in Conv2D
  double conv_flops = 0;     // multiply-adds x 2 computed by Conv2D
  double other_seconds = 0;  // wall seconds in every other op
  int64_t runs = 0;
};

// One node of a plan, in execution order.
struct PlanStep {
  int node;                          // index into Graph::nodes
  std::shared_ptr<ConvKernel> conv;  // Conv2D: prepared oneDNN primitive
  double flops = 0;                  // Conv2D: 2 x multiply-adds for this input shape
};

// Where a node's value lives during a run.
struct PlanValue {
  enum class Storage : uint8_t { none, input, constant, folded, arena, view } storage = Storage::none;
  OutputSpec spec;
  int64_t arena_offset = -1;   // Storage::arena: byte offset
  int view_of = -1;            // Storage::view: node whose bytes this shares
  std::vector<uint8_t> folded; // Storage::folded: value computed at plan time
};

struct Plan {
  Shape input_shape;              // what this plan was built for
  std::vector<PlanStep> steps;    // run-time nodes in order
  std::vector<PlanValue> values;  // per graph node
  size_t arena_bytes = 0;
};

class Executor {
 public:
  // Takes its own copy of the graph (it rewrites it). Throws tagscape::Error for
  // unknown output names or an input the outputs need that is not `input_name`.
  Executor(Graph graph, std::string input_name, std::vector<std::string> output_names, ExecutorOptions options = {});

  // input: f32, shape matching the placeholder's declared shape (-1 = any).
  // Returns one view per output name, valid until the next run().
  std::vector<Tensor> run(const Tensor& input);

  const std::vector<std::string>& output_names() const { return output_names_; }
  const Plan& plan() const { return plan_; }
  int threads() const { return pool_.size(); }
  const ExecutorProfile& profile() const { return profile_; }

 private:
  void build_plan(const Shape& input_shape);
  void* value_data(const Plan& plan, int node, void* input_data);

  Graph graph_;
  int input_node_;
  std::vector<std::string> output_names_;
  std::vector<int> output_nodes_;
  std::vector<int> order_;  // needed nodes, topological
  ExecutorOptions options_;
  ThreadPool pool_;
  Plan plan_;
  ExecutorProfile profile_;
  std::vector<uint8_t> arena_;
};

// Folds Conv2D -> Mul(per-channel constant) -> Add(per-channel constant) into one
// Conv2D node (named like the Add) with NodeAttrs::post_scale_offset, where neither
// the conv nor the Mul is used elsewhere or listed in `keep`. Returns how many.
int fold_batch_norms(Graph& graph, const std::vector<int>& keep);

}  // namespace tagscape::model
