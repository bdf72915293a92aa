// Golden tests: our executor on the reference mel vs the reference pipeline's
// (TF.js 4.22) outputs for the joram clip, for every shared model.
#include <gtest/gtest.h>

#include <cmath>

#include "common/npy.h"
#include "model/executor.h"
#include "model/metadata.h"

using namespace tagscape;
using namespace tagscape::model;

namespace {

const std::string kReference = TAGSCAPE_SHARED_DIR "/reference/joram/";

// The reference mel cut into non-overlapping 187-frame patches: f32 [9, 187, 96].
std::vector<float> reference_patches(int64_t& patch_count) {
  const NpyArray mel = read_npy(kReference + "mel_musicnn.npy");
  patch_count = mel.shape[0] / 187;
  return std::vector<float>(mel.data.begin(), mel.data.begin() + patch_count * 187 * 96);
}

float max_abs_difference(const Tensor& ours, const NpyArray& expected) {
  EXPECT_EQ(ours.shape, expected.shape);
  float worst = 0;
  for (int64_t i = 0; i < std::min<int64_t>(ours.size(), expected.data.size()); ++i)
    worst = std::max(worst, std::fabs(ours.f32()[i] - expected.data[i]));
  return worst;
}

struct GoldenCase {
  std::string model;
  std::string output;
  std::string reference_file;
  float tolerance;
};

void PrintTo(const GoldenCase& golden, std::ostream* out) { *out << golden.model << " " << golden.output; }

class ModelGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ModelGolden, MatchesReferencePipeline) {
  const GoldenCase& golden = GetParam();
  Executor executor(load_graph(resolve_model_directory(golden.model)), "model/Placeholder", {golden.output}, {.threads = 2});
  int64_t patches = 0;
  std::vector<float> input = reference_patches(patches);
  const auto outputs = executor.run({DType::f32, {patches, 187, 96}, input.data()});
  const NpyArray expected = read_npy(kReference + golden.reference_file);
  const float difference = max_abs_difference(outputs[0], expected);
  EXPECT_LE(difference, golden.tolerance) << golden.model << " " << golden.output;
  RecordProperty("max_abs_difference", std::to_string(difference));
  std::printf("    %s %s: max |diff| = %.3g\n", golden.model.c_str(), golden.output.c_str(), difference);
}

INSTANTIATE_TEST_SUITE_P(
    Reference, ModelGolden,
    ::testing::Values(
        GoldenCase{"msd-musicnn-1", "model/Sigmoid", "model__Sigmoid.npy", 1e-4f},
        GoldenCase{"msd-musicnn-1", "model/dense/BiasAdd", "model__dense__BiasAdd.npy", 1e-3f},
        GoldenCase{"msd-musicnn-1", "model/dense/Relu", "model__dense__Relu.npy", 1e-3f},
        GoldenCase{"msd-musicnn-1", "model/batch_normalization_10/batchnorm/add_1",
                   "model__batch_normalization_10__batchnorm__add_1.npy", 1e-3f},
        GoldenCase{"msd-musicnn-1", "model/batch_normalization_9/batchnorm/add_1",
                   "model__batch_normalization_9__batchnorm__add_1.npy", 1e-3f},
        GoldenCase{"mtt-musicnn-1", "model/Sigmoid", "mtt-musicnn__model__Sigmoid.npy", 1e-4f},
        GoldenCase{"mtt-musicnn-1", "model/dense/BiasAdd", "mtt-musicnn__model__dense__BiasAdd.npy", 1e-3f},
        GoldenCase{"msd-vgg-1", "model/Sigmoid", "msd-vgg__model__Sigmoid.npy", 1e-4f},
        GoldenCase{"msd-vgg-1", "model/flatten/Reshape", "msd-vgg__model__flatten__Reshape.npy", 1e-3f},
        GoldenCase{"mtt-vgg-1", "model/Sigmoid", "mtt-vgg__model__Sigmoid.npy", 1e-4f},
        GoldenCase{"mtt-vgg-1", "model/flatten/Reshape", "mtt-vgg__model__flatten__Reshape.npy", 1e-3f},
        GoldenCase{"mood_happy-musicnn-msd-2", "model/Sigmoid", "mood_happy__model__Sigmoid.npy", 1e-4f}),
    [](const auto& info) {
      std::string name = info.param.model + "_" + info.param.output;
      for (char& c : name) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

}  // namespace
