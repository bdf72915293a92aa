// The TF.js loader on small generated models: weight encodings, and a table of
// broken models with the error each must give.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "model/executor.h"
#include "model/graph.h"

using namespace tagscape;
using namespace tagscape::model;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// y = x [-1, 3] @ w [3, 2] + b [2]   (a _FusedMatMul with BiasAdd, as TF.js writes it)
json tiny_model() {
  return json::parse(R"({
    "format": "graph-model",
    "modelTopology": {"node": [
      {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"},
        "shape": {"shape": {"dim": [{"size": "-1"}, {"size": "3"}]}}}},
      {"name": "w", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
      {"name": "b", "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}}},
      {"name": "y", "op": "_FusedMatMul", "input": ["x", "w", "b"],
        "attr": {"fused_ops": {"list": {"s": ["Qmlhc0FkZA=="]}}, "transpose_a": {"b": false}, "transpose_b": {"b": false}}}
    ]},
    "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [
      {"name": "w", "shape": [3, 2], "dtype": "float32"},
      {"name": "b", "shape": [2], "dtype": "float32"}
    ]}]
  })");
}

const std::vector<float> kW = {1, 2, 3, 4, 5, 6};
const std::vector<float> kB = {0.5f, -0.5f};

std::vector<uint8_t> float_bytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

struct TempModel {
  fs::path dir;
  explicit TempModel(const std::string& name) : dir(fs::temp_directory_path() / ("tagscape_graph_test_" + name)) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempModel() { fs::remove_all(dir); }
  void write(const std::string& file, const std::string& text) const { std::ofstream(dir / file, std::ios::binary) << text; }
  void write_bytes(const std::string& file, const std::vector<uint8_t>& bytes) const {
    std::ofstream(dir / file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
};

std::vector<float> run_tiny(const fs::path& dir) {
  Executor executor(load_graph(dir.string()), "x", {"y"}, {.threads = 1});
  std::vector<float> x = {1, 0, -1, 2, 1, 0};  // two rows
  const auto out = executor.run({DType::f32, {2, 3}, x.data()});
  return std::vector<float>(out[0].f32(), out[0].f32() + out[0].size());
}

TEST(Graph, LoadsFloat32WeightsAndRuns) {
  TempModel model("float32");
  model.write("model.json", tiny_model().dump());
  std::vector<uint8_t> bytes = float_bytes(kW);
  const auto bias = float_bytes(kB);
  bytes.insert(bytes.end(), bias.begin(), bias.end());
  model.write_bytes("group1-shard1of1.bin", bytes);
  // [1, 0, -1] @ w = [1 - 5, 2 - 6] = [-4, -4]; [2, 1, 0] @ w = [5, 8]; + b
  EXPECT_EQ(run_tiny(model.dir), (std::vector<float>{-3.5f, -4.5f, 5.5f, 7.5f}));
}

TEST(Graph, DecodesQuantisedAndFloat16Weights) {
  // ref: tfjs io_utils decodeWeights: value = q * scale + min
  TempModel model("quantised");
  json topology = tiny_model();
  auto& weights = topology["weightsManifest"][0]["weights"];
  weights[0]["quantization"] = {{"dtype", "uint8"}, {"scale", 0.5}, {"min", 1.0}};   // w: q = 2 * (value - 1)
  weights[1]["quantization"] = {{"dtype", "float16"}};
  model.write("model.json", topology.dump());
  std::vector<uint8_t> bytes = {0, 2, 4, 6, 8, 10};        // uint8 -> 1, 2, 3, 4, 5, 6
  bytes.insert(bytes.end(), {0x00, 0x38, 0x00, 0xb8});     // float16 0.5, -0.5 (little-endian)
  model.write_bytes("group1-shard1of1.bin", bytes);
  EXPECT_EQ(run_tiny(model.dir), (std::vector<float>{-3.5f, -4.5f, 5.5f, 7.5f}));

  weights[0]["quantization"] = {{"dtype", "uint16"}, {"scale", 0.25}, {"min", -1.0}};  // q = 4 * (value + 1)
  model.write("model.json", topology.dump());
  std::vector<uint8_t> wide;
  for (float v : kW) {
    const uint16_t q = static_cast<uint16_t>(4 * (v + 1));
    wide.push_back(q & 0xff), wide.push_back(q >> 8);
  }
  wide.insert(wide.end(), {0x00, 0x38, 0x00, 0xb8});
  model.write_bytes("group1-shard1of1.bin", wide);
  EXPECT_EQ(run_tiny(model.dir), (std::vector<float>{-3.5f, -4.5f, 5.5f, 7.5f}));
}

struct BrokenModel {
  std::string name;
  std::function<void(json&, std::vector<uint8_t>&)> mutate;  // applied to the valid model
  std::string message;                                       // expected in the error
};

TEST(Graph, BrokenModelsGiveClearErrors) {
  const std::vector<BrokenModel> cases = {
      {"unknown op", [](json& m, auto&) { m["modelTopology"]["node"][3]["op"] = "FancyConv"; },
       "node 'y': unknown op 'FancyConv'"},
      {"missing input", [](json& m, auto&) { m["modelTopology"]["node"][3]["input"][1] = "nowhere"; },
       "input 'nowhere' does not exist"},
      {"bad weight dtype", [](json& m, auto&) { m["weightsManifest"][0]["weights"][1]["dtype"] = "complex64"; },
       "weight 'b': unsupported weight dtype 'complex64'"},
      {"bad quantization", [](json& m, auto&) { m["weightsManifest"][0]["weights"][0]["quantization"] = {{"dtype", "int4"}}; },
       "unsupported quantization dtype 'int4'"},
      {"short shard", [](json&, auto& bytes) { bytes.resize(bytes.size() - 3); }, "shard truncated or wrong size"},
      {"long shard", [](json&, auto& bytes) { bytes.push_back(0); }, "wrong shard size"},
      {"missing shard", [](json& m, auto&) { m["weightsManifest"][0]["paths"][0] = "gone.bin"; },
       "weight shard gone.bin is missing or unreadable"},
      {"const without weight", [](json& m, auto& bytes) {
         m["weightsManifest"][0]["weights"].erase(1);
         bytes.resize(bytes.size() - 8);
       },
       "Const node 'b' has no weight"},
      {"unsupported fused op", [](json& m, auto&) { m["modelTopology"]["node"][3]["attr"]["fused_ops"]["list"]["s"][0] = "UHJlbHU="; },
       "unsupported fused op 'Prelu'"},
      {"NCHW conv", [](json& m, auto&) {
         m["modelTopology"]["node"][3]["op"] = "Conv2D";
         m["modelTopology"]["node"][3]["attr"] = {{"data_format", {{"s", "TkNIVw=="}}}};
       }, "data_format NCHW is not supported"},
      {"not a graph model", [](json& m, auto&) { m["format"] = "layers-model"; }, "is not a TF.js graph model"},
  };
  for (const BrokenModel& c : cases) {
    TempModel model("broken");
    json topology = tiny_model();
    std::vector<uint8_t> bytes = float_bytes(kW);
    const auto bias = float_bytes(kB);
    bytes.insert(bytes.end(), bias.begin(), bias.end());
    c.mutate(topology, bytes);
    model.write("model.json", topology.dump());
    model.write_bytes("group1-shard1of1.bin", bytes);
    try {
      load_graph(model.dir.string());
      ADD_FAILURE() << c.name << ": loaded without error";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(c.message), std::string::npos) << c.name << ": " << message;
      EXPECT_NE(message.find("model.json"), std::string::npos) << c.name << ": error does not name the file: " << message;
    }
  }
}

TEST(Graph, MalformedOrMissingModelJson) {
  TempModel model("malformed");
  model.write("model.json", "{\"format\": \"graph-model\", \"modelTopology\": ");
  try {
    load_graph(model.dir.string());
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("model.json: malformed JSON"), std::string::npos) << error.what();
  }
  EXPECT_THROW(load_graph((model.dir / "nothing").string()), Error);
}

TEST(Graph, UnknownOutputNameIsAnErrorWithSuggestions) {
  try {
    Executor executor(load_graph(TAGSCAPE_SOURCE_MODELS_DIR "/msd-musicnn-1"), "model/Placeholder", {"model/dense/Nope"});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("no node named 'model/dense/Nope'"), std::string::npos) << message;
    EXPECT_NE(message.find("model/dense/Relu"), std::string::npos) << message;
  }
}

TEST(Graph, FusedAwayPreActivationIsRequestableAndUnfolded) {
  // model/dense/BiasAdd does not exist in the TF.js file; the executor splits it out
  // of model/dense/Relu, and relu(BiasAdd) must equal the fused Relu output.
  Graph graph = load_graph(TAGSCAPE_SOURCE_MODELS_DIR "/msd-musicnn-1");
  EXPECT_EQ(graph.find("model/dense/BiasAdd"), -1);
  Executor executor(graph, "model/Placeholder", {"model/dense/BiasAdd", "model/dense/Relu"}, {.threads = 2});
  std::vector<float> input(2 * 187 * 96);
  for (size_t k = 0; k < input.size(); ++k) input[k] = static_cast<float>((k * 7919) % 1000) / 250.0f;
  const auto out = executor.run({DType::f32, {2, 187, 96}, input.data()});
  ASSERT_EQ(out[0].shape, (Shape{2, 200}));
  int negatives = 0;
  for (int64_t k = 0; k < out[0].size(); ++k) {
    EXPECT_FLOAT_EQ(out[1].f32()[k], std::max(0.0f, out[0].f32()[k]));
    negatives += out[0].f32()[k] < 0;
  }
  EXPECT_GT(negatives, 0) << "pre-activation should have negative values";
}

TEST(Graph, FoldedBatchNormEqualsUnfoldedReference) {
  // Requesting an intermediate (the first conv's raw output) keeps its batch norm
  // unfolded; the folded fast plan must agree with the scalar reference plan.
  const Graph graph = load_graph(TAGSCAPE_SOURCE_MODELS_DIR "/msd-musicnn-1");
  std::vector<float> input(187 * 96);
  for (size_t k = 0; k < input.size(); ++k) input[k] = static_cast<float>((k * 104729) % 997) / 300.0f;
  const Tensor patch{DType::f32, {1, 187, 96}, input.data()};
  Executor fast(graph, "model/Placeholder", {"model/batch_normalization_1/FusedBatchNorm"}, {.threads = 2});
  Executor reference(graph, "model/Placeholder", {"model/batch_normalization_1/FusedBatchNorm"},
                     {.threads = 2, .reference = true});
  const Tensor a = fast.run(patch)[0];
  const Tensor b = reference.run(patch)[0];
  ASSERT_EQ(a.shape, (Shape{1, 187, 59, 204}));
  float worst = 0;
  for (int64_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(a.f32()[k] - b.f32()[k]));
  EXPECT_LT(worst, 1e-3f);
}

}  // namespace
