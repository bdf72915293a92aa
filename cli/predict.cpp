// `tagscape predict`: run one model over audio files; print top tags, or write
// per-segment outputs as .npy / JSON.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli/commands.h"
#include "common/error.h"
#include "common/npy.h"
#include "model/pipeline.h"

namespace tagscape::cli {

namespace {

namespace fs = std::filesystem;

struct PredictOptions {
  std::string model = "msd-musicnn-1";
  std::vector<std::string> outputs;
  int patch_hop = 0;  // 0: the model's own (187)
  bool pad_last = false;
  std::string npy_dir;
  bool json = false;
  int top = 5;
  int threads = 0;
  int batch = 8;
  std::vector<std::string> files;
};

// Mean of each column of a [rows, dims] matrix.
std::vector<double> column_means(const std::vector<float>& values, int64_t dims) {
  std::vector<double> means(dims, 0.0);
  const int64_t rows = dims ? static_cast<int64_t>(values.size()) / dims : 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < dims; ++d) means[d] += values[r * dims + d];
  for (double& mean : means) mean /= std::max<int64_t>(rows, 1);
  return means;
}

std::vector<std::pair<std::string, double>> top_tags(const model::ModelInfo& info, const model::OutputVectors& taggram,
                                                      int count) {
  const std::vector<double> means = column_means(taggram.values, taggram.dims);
  std::vector<int> order(means.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return means[a] > means[b]; });
  std::vector<std::pair<std::string, double>> tags;
  for (int k = 0; k < std::min<int>(count, static_cast<int>(order.size())); ++k) {
    const int index = order[k];
    tags.push_back({index < static_cast<int>(info.classes.size()) ? info.classes[index] : "#" + std::to_string(index),
                    means[index]});
  }
  return tags;
}

// "model/dense/BiasAdd" -> "embeddings" when that is its alias, else "model_dense_BiasAdd".
std::string output_file_label(const model::ModelInfo& info, const std::string& node) {
  if (node == info.output_for("predictions")) return "taggrams";
  if (node == info.output_for("embeddings")) return "embeddings";
  std::string label = node;
  std::replace(label.begin(), label.end(), '/', '_');
  return label;
}

const model::OutputVectors* find_taggram(const model::ModelRunner& runner, const model::TrackAnalysis& track) {
  for (const auto& output : track.outputs)
    if (output.output == runner.info.output_for("predictions")) return &output;
  return nullptr;
}

void write_npy_outputs(const PredictOptions& options, const model::ModelRunner& runner, const std::string& file,
                       const model::TrackAnalysis& track) {
  const std::string stem = fs::path(file).stem().string();
  const int64_t segments = static_cast<int64_t>(track.segments.size());
  for (const auto& output : track.outputs) {
    const fs::path path = fs::path(options.npy_dir) / (stem + "." + output_file_label(runner.info, output.output) + ".npy");
    write_npy(path.string(), {segments, output.dims}, output.values.data());
    std::printf("%s\n", path.string().c_str());
  }
  std::vector<float> times;  // [segments, 2]: start, end seconds
  for (const auto& span : track.segments) times.insert(times.end(), {float(span.start_s), float(span.end_s)});
  const fs::path path = fs::path(options.npy_dir) / (stem + ".segments.npy");
  write_npy(path.string(), {segments, 2}, times.data());
  std::printf("%s\n", path.string().c_str());
}

void print_json(const model::ModelRunner& runner, const std::string& file, const model::TrackAnalysis& track, int top) {
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& span : track.segments) segments.push_back({span.start_s, span.end_s});
  nlohmann::json outputs = nlohmann::json::object();
  for (const auto& output : track.outputs) {
    nlohmann::json rows = nlohmann::json::array();
    for (size_t r = 0; r < track.segments.size(); ++r)
      rows.push_back(std::vector<float>(output.values.begin() + r * output.dims, output.values.begin() + (r + 1) * output.dims));
    outputs[output.output] = {{"dims", output.dims}, {"values", rows}};
  }
  nlohmann::json line = {{"file", file}, {"model", runner.info.id}, {"duration_s", track.audio.decoded_duration_s},
                         {"segments", segments}, {"outputs", outputs}};
  if (const auto* taggram = find_taggram(runner, track)) {
    nlohmann::json tags = nlohmann::json::array();
    for (const auto& [tag, score] : top_tags(runner.info, *taggram, top)) tags.push_back({{"tag", tag}, {"score", score}});
    line["top_tags"] = tags;
  }
  std::printf("%s\n", line.dump().c_str());
}

void print_summary(const model::ModelRunner& runner, const std::string& file, const model::TrackAnalysis& track, int top) {
  std::printf("%s  (%.1f s, %zu segments)\n", file.c_str(), track.audio.decoded_duration_s, track.segments.size());
  if (track.segments.empty()) {
    std::printf("  shorter than one %.2f s segment: no prediction (use --pad-last)\n",
                runner.info.patch_size * MusicnnInput::frame_hop_s);
    return;
  }
  if (const auto* taggram = find_taggram(runner, track)) {
    for (const auto& [tag, score] : top_tags(runner.info, *taggram, top)) std::printf("  %-20s %.3f\n", tag.c_str(), score);
    return;
  }
  for (const auto& output : track.outputs)
    std::printf("  %s: [%zu, %lld]\n", output.output.c_str(), track.segments.size(), static_cast<long long>(output.dims));
}

int run_predict(PredictOptions options) {
  if (options.outputs.empty()) options.outputs = {"taggrams"};
  if (!options.npy_dir.empty()) {
    std::error_code error;
    fs::create_directories(options.npy_dir, error);
    if (error) throw Error(options.npy_dir + ": cannot create output directory (" + error.message() + ")");
  }
  std::vector<model::ModelRunner> models;
  models.push_back(model::make_model_runner(options.model, options.outputs, options.threads));
  const model::ModelRunner& runner = models[0];
  model::AnalysisOptions analysis;
  analysis.batch_patches = options.batch;
  analysis.patches.patch_frames = runner.info.patch_size;
  analysis.patches.patch_hop_frames = options.patch_hop > 0 ? options.patch_hop : runner.info.patch_hop_size;
  analysis.patches.last_patch = options.pad_last ? LastPatchMode::repeat : LastPatchMode::discard;
  if (analysis.patches.patch_hop_frames > analysis.patches.patch_frames)
    throw Error("--patch-hop " + std::to_string(options.patch_hop) + " is larger than a patch (" +
                std::to_string(analysis.patches.patch_frames) + " frames)");

  int failures = 0;
  for (const std::string& file : options.files) {
    try {
      const model::TrackAnalysis track = model::analyze_file(file, models, analysis);
      for (const std::string& warning : track.audio.warnings) std::fprintf(stderr, "warning: %s: %s\n", file.c_str(), warning.c_str());
      if (!options.npy_dir.empty()) write_npy_outputs(options, runner, file, track);
      else if (options.json) print_json(runner, file, track, options.top);
      else print_summary(runner, file, track, options.top);
      std::fflush(stdout);
    } catch (const Error& error) {
      std::fprintf(stderr, "error: %s\n", error.what());
      ++failures;
    }
  }
  if (failures) std::fprintf(stderr, "%d of %zu files failed\n", failures, options.files.size());
  return failures ? 1 : 0;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* command = app.add_subcommand(
      "predict", "Run a model over audio files: top tags per file, or per-segment outputs as .npy/JSON.");
  command->footer(
      "Each file is decoded to 16 kHz mono, turned into a log-mel spectrogram and cut into\n"
      "~3 s segments (187 frames); the model runs on every segment. Tag scores printed are\n"
      "the mean over the file's segments.\n\n"
      "Examples:\n"
      "  tagscape predict song.mp3                      top 5 tags (msd-musicnn-1)\n"
      "  tagscape predict --model mtt-vgg-1 --top 10 *.flac\n"
      "  tagscape predict --output taggrams --output embeddings --npy out/ song.mp3\n"
      "      writes out/song.taggrams.npy [segments, 50], out/song.embeddings.npy [segments, 200]\n"
      "      and out/song.segments.npy [segments, 2] (start, end seconds)\n"
      "  tagscape predict --output model/dense_1/BiasAdd --json song.mp3   any graph node");
  command->add_option("--model,-m", options->model,
                      "Installed model name (see `tagscape models`) or a model directory with model.json.")
      ->capture_default_str();
  command->add_option("--output,-o", options->outputs,
                      "What to compute: taggrams (tag activations), embeddings (the model's embedding layer), "
                      "or any graph node name. Repeatable. Default: taggrams.");
  command->add_option("--patch-hop", options->patch_hop,
                      "Frames between segment starts (1..187; 16 ms a frame). Default: the model's (187, no overlap).")
      ->check(CLI::Range(1, 100000));
  command->add_flag("--pad-last", options->pad_last,
                    "Keep the last partial segment by repeating its frames (so files under 3 s give one segment).");
  command->add_option("--npy", options->npy_dir, "Write one float32 .npy per output into this directory.");
  command->add_flag("--json", options->json, "Print one JSON object per file (segments, outputs, top tags).");
  command->add_option("--top", options->top, "Number of top tags to print.")->capture_default_str()->check(CLI::Range(1, 1000));
  command->add_option("--threads,-j", options->threads, "Threads for inference (default: all cores).")
      ->check(CLI::Range(0, 256));
  command->add_option("--batch", options->batch, "Segments per inference batch (memory ≈ 9.4 MB per MusiCNN segment).")
      ->capture_default_str()->check(CLI::Range(1, 256));
  command->add_option("files", options->files, "Audio files (any format FFmpeg reads).")->required();
  command->get_option("--json")->excludes("--npy");
  return [options] { return run_predict(*options); };
}

}  // namespace tagscape::cli
