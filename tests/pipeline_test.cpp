// End to end: the joram mp3 through decode, mel and MusiCNN, against the reference
// pipeline (Essentia mel + TF.js) outputs for the same clip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "common/npy.h"
#include "model/pipeline.h"

using namespace tagscape;
using namespace tagscape::model;

namespace {

const std::string kClip = TAGSCAPE_SHARED_DIR "/audio/joram-moments_of_clarity-08-solipsism-59-88.mp3";
const std::string kReference = TAGSCAPE_SHARED_DIR "/reference/joram/";

std::vector<int> top_tags(const std::vector<float>& taggram, int64_t dims, int count) {
  std::vector<double> mean(dims, 0.0);
  const int64_t rows = static_cast<int64_t>(taggram.size()) / dims;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < dims; ++d) mean[d] += taggram[r * dims + d] / rows;
  std::vector<int> order(dims);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mean[a] > mean[b]; });
  order.resize(count);
  return order;
}

TEST(Pipeline, Mp3EndToEndMatchesReference) {
  std::vector<ModelRunner> models;
  models.push_back(make_model_runner("msd-musicnn-1", {"taggrams", "embeddings"}, 2));
  const TrackAnalysis track = analyze_file(kClip, models, {});
  ASSERT_EQ(track.segments.size(), 9u);
  ASSERT_EQ(track.outputs.size(), 2u);
  EXPECT_EQ(track.outputs[0].output, "model/Sigmoid");
  EXPECT_EQ(track.outputs[1].output, "model/dense/BiasAdd");
  EXPECT_EQ(track.outputs[1].dims, 200);

  const NpyArray expected = read_npy(kReference + "model__Sigmoid.npy");
  ASSERT_EQ(track.outputs[0].values.size(), expected.data.size());
  float worst = 0;
  for (size_t k = 0; k < expected.data.size(); ++k)
    worst = std::max(worst, std::fabs(track.outputs[0].values[k] - expected.data[k]));
  std::printf("    taggram max |diff| from the mp3: %.3g\n", worst);
  EXPECT_LE(worst, 0.01f);
  EXPECT_EQ(top_tags(track.outputs[0].values, 50, 5), top_tags(expected.data, 50, 5));

  // Segments tile the track in 2.992 s steps.
  for (size_t k = 0; k < track.segments.size(); ++k) {
    EXPECT_NEAR(track.segments[k].start_s, 2.992 * k, 1e-9);
    EXPECT_NEAR(track.segments[k].end_s, 2.992 * (k + 1), 1e-9);
  }
}

TEST(Pipeline, BatchSizeAndChunkingDoNotChangeResults) {
  const NpyArray audio = read_npy(kReference + "audio_16k_mono.npy");
  std::vector<ModelRunner> models;
  models.push_back(make_model_runner("msd-musicnn-1", {"taggrams"}, 2));
  AnalysisOptions one_by_one;
  one_by_one.batch_patches = 1;
  AnalysisOptions batched;
  batched.batch_patches = 4;  // 9 patches: batches of 4, 4, 1
  const auto a = analyze_samples(audio.data.data(), audio.data.size(), models, one_by_one);
  const auto b = analyze_samples(audio.data.data(), audio.data.size(), models, batched);
  ASSERT_EQ(a.outputs[0].values.size(), b.outputs[0].values.size());
  for (size_t k = 0; k < a.outputs[0].values.size(); ++k) EXPECT_NEAR(a.outputs[0].values[k], b.outputs[0].values[k], 1e-5f);
  // From the reference 16 kHz signal the mel and the model must agree to 1e-4.
  const NpyArray expected = read_npy(kReference + "model__Sigmoid.npy");
  for (size_t k = 0; k < expected.data.size(); ++k) EXPECT_NEAR(b.outputs[0].values[k], expected.data[k], 1e-4f);
}

TEST(Pipeline, OverlappingPatchesAndShortTracks) {
  const NpyArray audio = read_npy(kReference + "audio_16k_mono.npy");
  std::vector<ModelRunner> models;
  models.push_back(make_model_runner("msd-musicnn-1", {"taggrams"}, 2));
  AnalysisOptions half_hop;
  half_hop.patches.patch_hop_frames = 93;
  const auto overlapping = analyze_samples(audio.data.data(), audio.data.size(), models, half_hop);
  // 1822 frames: patches start at 0, 93, ..., while start + 187 <= 1822.
  EXPECT_EQ(overlapping.segments.size(), static_cast<size_t>((1822 - 187) / 93 + 1));
  // A 1 s clip: no full patch; repeat mode gives one.
  const int64_t one_second = 16000;
  EXPECT_EQ(analyze_samples(audio.data.data(), one_second, models, {}).segments.size(), 0u);
  AnalysisOptions repeat;
  repeat.patches.last_patch = LastPatchMode::repeat;
  const auto short_track = analyze_samples(audio.data.data(), one_second, models, repeat);
  ASSERT_EQ(short_track.segments.size(), 1u);
  EXPECT_EQ(short_track.outputs[0].values.size(), 50u);
  EXPECT_NEAR(short_track.segments[0].end_s, musicnn_frame_count(one_second) * 0.016, 1e-9);
}

TEST(Pipeline, UnknownOutputAliasIsAnError) {
  EXPECT_THROW(make_model_runner("mood_happy-musicnn-msd-2", {"embeddings"}), Error);
  EXPECT_THROW(make_model_runner("no-such-model", {"taggrams"}), Error);
}

}  // namespace

namespace {

TEST(Pipeline, SplitHalvesEqualTheStreamingPipeline) {
  std::vector<ModelRunner> models;
  models.push_back(make_model_runner("msd-musicnn-1", {"taggrams", "embeddings"}, 2));
  const TrackAnalysis streamed = analyze_file(kClip, models, {});
  TrackPatches patches = extract_patches(kClip, PatchOptions{});
  ASSERT_EQ(patches.patches.size(), streamed.segments.size() * 187 * 96);
  TrackAnalysis split = patches.track;
  run_models_on_patches(models, patches, 187, 3, split);
  ASSERT_EQ(split.outputs.size(), streamed.outputs.size());
  for (size_t k = 0; k < split.outputs.size(); ++k) {
    ASSERT_EQ(split.outputs[k].values.size(), streamed.outputs[k].values.size());
    for (size_t i = 0; i < split.outputs[k].values.size(); ++i)
      EXPECT_NEAR(split.outputs[k].values[i], streamed.outputs[k].values[i], 1e-5f);
  }
}

}  // namespace
