// The real `tagscape` binary: predict and models, as a user runs them.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "common/npy.h"
#include "model/metadata.h"
#include "tests/run_command.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

const std::string kClip = TAGSCAPE_SHARED_DIR "/audio/joram-moments_of_clarity-08-solipsism-59-88.mp3";
const std::string kReference = TAGSCAPE_SHARED_DIR "/reference/joram/";

using tagscape::testing::CommandResult;

CommandResult run_tagscape(const std::string& args) {
  return tagscape::testing::run_command(std::string(TAGSCAPE_BINARY) + " " + args);
}

// The reference's top tags (mean over segments), named with the model's metadata.
std::vector<std::string> reference_top_tags(int count) {
  const NpyArray taggram = read_npy(kReference + "model__Sigmoid.npy");
  const auto info = model::load_model_info(TAGSCAPE_SOURCE_MODELS_DIR "/msd-musicnn-1");
  std::vector<double> mean(50, 0.0);
  for (size_t k = 0; k < taggram.data.size(); ++k) mean[k % 50] += taggram.data[k];
  std::vector<int> order(50);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return mean[a] > mean[b]; });
  std::vector<std::string> tags;
  for (int k = 0; k < count; ++k) tags.push_back(info.classes[order[k]]);
  return tags;
}

TEST(CliPredict, PrintsReferenceTopTagsInOrder) {
  const CommandResult run = run_tagscape("predict '" + kClip + "'");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("9 segments"), std::string::npos) << run.out;
  size_t position = 0;
  for (const std::string& tag : reference_top_tags(5)) {
    const size_t found = run.out.find("  " + tag + " ", position);
    ASSERT_NE(found, std::string::npos) << tag << " missing or out of order in:\n" << run.out;
    position = found + 1;
  }
}

TEST(CliPredict, NpyOutputsLoadAndMatchReference) {
  const fs::path dir = fs::temp_directory_path() / "tagscape_cli_npy";
  fs::remove_all(dir);
  const CommandResult run = run_tagscape("predict -o taggrams -o embeddings --npy '" + dir.string() + "' '" + kClip + "'");
  ASSERT_EQ(run.status, 0) << run.err;
  const std::string stem = fs::path(kClip).stem().string();
  const NpyArray taggrams = read_npy((dir / (stem + ".taggrams.npy")).string());
  const NpyArray embeddings = read_npy((dir / (stem + ".embeddings.npy")).string());
  const NpyArray segments = read_npy((dir / (stem + ".segments.npy")).string());
  EXPECT_EQ(taggrams.shape, (std::vector<int64_t>{9, 50}));
  EXPECT_EQ(embeddings.shape, (std::vector<int64_t>{9, 200}));
  EXPECT_EQ(segments.shape, (std::vector<int64_t>{9, 2}));
  const NpyArray expected = read_npy(kReference + "model__dense__BiasAdd.npy");
  for (size_t k = 0; k < expected.data.size(); ++k) EXPECT_NEAR(embeddings.data[k], expected.data[k], 1e-3f);
  fs::remove_all(dir);
}

TEST(CliPredict, JsonLineParses) {
  const CommandResult run = run_tagscape("predict --model mtt-vgg-1 --json '" + kClip + "'");
  ASSERT_EQ(run.status, 0) << run.err;
  const auto line = nlohmann::json::parse(run.out);
  EXPECT_EQ(line["model"], "mtt-vgg-1");
  EXPECT_EQ(line["segments"].size(), 9u);
  EXPECT_EQ(line["outputs"]["model/Sigmoid"]["values"].size(), 9u);
  EXPECT_EQ(line["top_tags"].size(), 5u);
}

TEST(CliPredict, BadFilesAreReportedAndSetTheExitStatus) {
  const fs::path text = fs::temp_directory_path() / "tagscape_cli_text.mp3";
  std::ofstream(text) << "this is not audio";
  const CommandResult run = run_tagscape("predict '" + text.string() + "' /no/such/file.wav '" + kClip + "'");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find(text.string() + ": not an audio file"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("/no/such/file.wav: no such file"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("9 segments"), std::string::npos) << "the good file must still be analysed";
  fs::remove(text);
}

TEST(CliPredict, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run_tagscape("predict").status, 2);
  EXPECT_EQ(run_tagscape("predict --patch-hop 0 x.mp3").status, 2);
  const CommandResult unknown_model = run_tagscape("predict --model nope '" + kClip + "'");
  EXPECT_EQ(unknown_model.status, 1);
  EXPECT_NE(unknown_model.err.find("nope: no such model directory or installed model"), std::string::npos) << unknown_model.err;
}

TEST(CliModels, ListsEveryInstalledModel) {
  const CommandResult run = run_tagscape("models --json");
  ASSERT_EQ(run.status, 0) << run.err;
  const auto models = nlohmann::json::parse(run.out);
  std::vector<std::string> ids;
  for (const auto& m : models) ids.push_back(m["id"]);
  for (const auto& entry : fs::directory_iterator(TAGSCAPE_SOURCE_MODELS_DIR))
    if (fs::exists(entry.path() / "model.json"))
      EXPECT_NE(std::find(ids.begin(), ids.end(), entry.path().filename().string()), ids.end()) << entry.path();
}

}  // namespace
