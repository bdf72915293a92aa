#include "model/pipeline.h"

#include <chrono>
#include <cstring>

#include "common/error.h"

namespace tagscape::model {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr int kBands = MusicnnInput::bands;

// Turns a stream of samples into batches of patches and runs the models on them.
// Keeps only the mel frames that a future patch still needs.
class PatchBatcher {
 public:
  PatchBatcher(std::vector<ModelRunner>& models, const AnalysisOptions& options, TrackAnalysis& track)
      : models_(models), options_(options), track_(track) {
    batch_.reserve(static_cast<size_t>(options.batch_patches) * options.patches.patch_frames * kBands);
    for (ModelRunner& runner : models)
      for (const std::string& output : runner.outputs) track.outputs.push_back({runner.info.id, output, 0, {}});
  }

  void push(std::span<const float> samples) {
    auto start = Clock::now();
    mel_.push(samples.data(), static_cast<int64_t>(samples.size()), frames_);
    track_.seconds.mel += seconds_since(start);
    cut_ready_patches(false);
  }

  void finish() {
    auto start = Clock::now();
    mel_.finish(frames_);
    track_.seconds.mel += seconds_since(start);
    track_.samples = mel_.samples_pushed();
    track_.mel_frames = mel_.frames_emitted();
    cut_ready_patches(true);
    run_batch();
  }

 private:
  int64_t frames_available() const { return first_frame_ + static_cast<int64_t>(frames_.size()) / kBands; }

  // Cuts every patch whose frames are all present (at the end: per patch_count,
  // which adds the repeated last patch in repeat mode).
  void cut_ready_patches(bool at_end) {
    const PatchOptions& patches = options_.patches;
    const int64_t total = at_end ? patch_count(frames_available(), patches) : -1;
    while (true) {
      PatchSpan span;
      if (at_end) {
        if (next_patch_ >= total) break;
        span = patch_span(frames_available(), patches, next_patch_);
      } else {
        const int64_t start = next_patch_ * patches.patch_hop_frames;
        if (start + patches.patch_frames > frames_available()) break;
        span = {start, patches.patch_frames, start * MusicnnInput::frame_hop_s,
                (start + patches.patch_frames) * MusicnnInput::frame_hop_s};
      }
      append_patch(span);
      ++next_patch_;
      if (batch_patches() == options_.batch_patches) run_batch();
    }
    drop_consumed_frames();
  }

  // Rows of the patch: frame start + (r % real_frames), as Essentia's repeat mode.
  void append_patch(const PatchSpan& span) {
    for (int row = 0; row < options_.patches.patch_frames; ++row) {
      const int64_t frame = span.start_frame + row % span.real_frames - first_frame_;
      const float* source = frames_.data() + frame * kBands;
      batch_.insert(batch_.end(), source, source + kBands);
    }
    track_.segments.push_back(span);
  }

  int batch_patches() const {
    return static_cast<int>(batch_.size() / (static_cast<size_t>(options_.patches.patch_frames) * kBands));
  }

  void run_batch() {
    const int count = batch_patches();
    if (count == 0) return;
    auto start = Clock::now();
    const Tensor input{DType::f32, {count, options_.patches.patch_frames, kBands}, batch_.data()};
    size_t slot = 0;
    for (ModelRunner& runner : models_) {
      const std::vector<Tensor> results = runner.executor->run(input);
      for (const Tensor& result : results) {
        OutputVectors& out = track_.outputs[slot++];
        out.dims = result.shape.empty() ? 1 : result.size() / result.shape[0];
        out.values.insert(out.values.end(), result.f32(), result.f32() + result.size());
      }
    }
    batch_.clear();
    track_.seconds.model += seconds_since(start);
  }

  // Frames before the next patch's start are never read again; drop them in bulk.
  void drop_consumed_frames() {
    const int64_t needed_from = next_patch_ * options_.patches.patch_hop_frames;
    const int64_t droppable = std::min<int64_t>(needed_from - first_frame_, static_cast<int64_t>(frames_.size()) / kBands);
    if (droppable < 4096) return;  // amortise the erase
    frames_.erase(frames_.begin(), frames_.begin() + droppable * kBands);
    first_frame_ += droppable;
  }

  std::vector<ModelRunner>& models_;
  const AnalysisOptions& options_;
  TrackAnalysis& track_;
  MelStream mel_;
  std::vector<float> frames_;  // mel frames [first_frame_, ...) not yet dropped
  int64_t first_frame_ = 0;
  int64_t next_patch_ = 0;
  std::vector<float> batch_;   // [patches, patch_frames, 96]
};

}  // namespace

std::string resolve_output_name(const ModelInfo& info, const std::string& output) {
  const std::string purpose = output == "taggrams" ? "predictions" : output == "embeddings" ? "embeddings" : "";
  if (purpose.empty()) return output;
  const std::string node = info.output_for(purpose);
  if (node.empty()) throw Error(info.id + ": the model's metadata names no " + output + " output");
  return node;
}

ModelRunner make_model_runner(const std::string& name_or_path, const std::vector<std::string>& outputs, int threads) {
  ModelRunner runner;
  const std::string directory = resolve_model_directory(name_or_path);
  runner.info = load_model_info(directory);
  for (const std::string& output : outputs) runner.outputs.push_back(resolve_output_name(runner.info, output));
  runner.executor = std::make_unique<Executor>(load_graph(directory), runner.info.input_name, runner.outputs,
                                               ExecutorOptions{.threads = threads});
  return runner;
}

TrackAnalysis analyze_file(const std::string& path, std::vector<ModelRunner>& models, const AnalysisOptions& options) {
  TrackAnalysis track;
  PatchBatcher batcher(models, options, track);
  const auto start = Clock::now();
  track.audio = decode_audio_stream(path, [&](std::span<const float> samples) { batcher.push(samples); });
  batcher.finish();
  track.seconds.decode = seconds_since(start) - track.seconds.mel - track.seconds.model;
  return track;
}

TrackAnalysis analyze_samples(const float* samples, int64_t count, std::vector<ModelRunner>& models,
                              const AnalysisOptions& options) {
  TrackAnalysis track;
  PatchBatcher batcher(models, options, track);
  for (int64_t offset = 0; offset < count; offset += kMaxChunkSamples)
    batcher.push({samples + offset, static_cast<size_t>(std::min<int64_t>(kMaxChunkSamples, count - offset))});
  batcher.finish();
  track.audio.decoded_duration_s = static_cast<double>(count) / kAnalysisSampleRateHz;
  return track;
}

}  // namespace tagscape::model
