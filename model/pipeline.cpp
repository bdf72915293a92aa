#include "model/pipeline.h"

#include <chrono>
#include <cstring>
#include <functional>

#include "common/error.h"

namespace tagscape::model {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr int kBands = MusicnnInput::bands;

// Turns a stream of samples into batches of patches handed to `on_batch`.
// Keeps only the mel frames that a future patch still needs.
class PatchCutter {
 public:
  using BatchFn = std::function<void(const float* patches, int count)>;  // [count, patch_frames, 96]

  PatchCutter(const PatchOptions& patches, int batch_patches, TrackAnalysis& track, BatchFn on_batch)
      : patches_(patches), batch_patches_(batch_patches), track_(track), on_batch_(std::move(on_batch)) {
    batch_.reserve(static_cast<size_t>(batch_patches) * patches.patch_frames * kBands);
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
    flush();
  }

 private:
  int64_t frames_available() const { return first_frame_ + static_cast<int64_t>(frames_.size()) / kBands; }

  // Cuts every patch whose frames are all present (at the end: per patch_count,
  // which adds the repeated last patch in repeat mode).
  void cut_ready_patches(bool at_end) {
    const int64_t total = at_end ? patch_count(frames_available(), patches_) : -1;
    while (true) {
      PatchSpan span;
      if (at_end) {
        if (next_patch_ >= total) break;
        span = patch_span(frames_available(), patches_, next_patch_);
      } else {
        const int64_t start = next_patch_ * patches_.patch_hop_frames;
        if (start + patches_.patch_frames > frames_available()) break;
        span = {start, patches_.patch_frames, start * MusicnnInput::frame_hop_s,
                (start + patches_.patch_frames) * MusicnnInput::frame_hop_s};
      }
      append_patch(span);
      ++next_patch_;
      if (batch_count() == batch_patches_) flush();
    }
    drop_consumed_frames();
  }

  // Rows of the patch: frame start + (r % real_frames), as Essentia's repeat mode.
  void append_patch(const PatchSpan& span) {
    for (int row = 0; row < patches_.patch_frames; ++row) {
      const int64_t frame = span.start_frame + row % span.real_frames - first_frame_;
      const float* source = frames_.data() + frame * kBands;
      batch_.insert(batch_.end(), source, source + kBands);
    }
    track_.segments.push_back(span);
  }

  int batch_count() const {
    return static_cast<int>(batch_.size() / (static_cast<size_t>(patches_.patch_frames) * kBands));
  }

  void flush() {
    if (batch_count() > 0) on_batch_(batch_.data(), batch_count());
    batch_.clear();
  }

  // Frames before the next patch's start are never read again; drop them in bulk.
  void drop_consumed_frames() {
    const int64_t needed_from = next_patch_ * patches_.patch_hop_frames;
    const int64_t droppable = std::min<int64_t>(needed_from - first_frame_, static_cast<int64_t>(frames_.size()) / kBands);
    if (droppable < 4096) return;  // amortise the erase
    frames_.erase(frames_.begin(), frames_.begin() + droppable * kBands);
    first_frame_ += droppable;
  }

  const PatchOptions& patches_;
  const int batch_patches_;
  TrackAnalysis& track_;
  BatchFn on_batch_;
  MelStream mel_;
  std::vector<float> frames_;  // mel frames [first_frame_, ...) not yet dropped
  int64_t first_frame_ = 0;
  int64_t next_patch_ = 0;
  std::vector<float> batch_;   // [patches, patch_frames, 96]
};

// One output slot per (model, output), in `models` order.
void prepare_outputs(const std::vector<ModelRunner>& models, TrackAnalysis& track) {
  for (const ModelRunner& runner : models)
    for (const std::string& output : runner.outputs) track.outputs.push_back({runner.info.id, output, 0, {}});
}

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

void run_models(std::vector<ModelRunner>& models, const float* patches, int count, int patch_frames,
                TrackAnalysis& track) {
  const auto start = Clock::now();
  const Tensor input{DType::f32, {count, patch_frames, kBands}, const_cast<float*>(patches)};
  size_t slot = 0;
  for (ModelRunner& runner : models) {
    for (const Tensor& result : runner.executor->run(input)) {
      OutputVectors& out = track.outputs.at(slot++);
      out.dims = result.shape.empty() ? 1 : result.size() / result.shape[0];
      out.values.insert(out.values.end(), result.f32(), result.f32() + result.size());
    }
  }
  track.seconds.model += seconds_since(start);
}

namespace {

// Streams `feed`'s samples through a PatchCutter whose batches run the models.
template <typename Feed>
TrackAnalysis analyze_stream(std::vector<ModelRunner>& models, const AnalysisOptions& options, Feed&& feed) {
  TrackAnalysis track;
  prepare_outputs(models, track);
  PatchCutter cutter(options.patches, options.batch_patches, track, [&](const float* patches, int count) {
    run_models(models, patches, count, options.patches.patch_frames, track);
  });
  const auto start = Clock::now();
  feed(cutter);
  cutter.finish();
  track.seconds.decode = seconds_since(start) - track.seconds.mel - track.seconds.model;
  return track;
}

}  // namespace

TrackAnalysis analyze_file(const std::string& path, std::vector<ModelRunner>& models, const AnalysisOptions& options) {
  AudioInfo info;
  TrackAnalysis track = analyze_stream(models, options, [&](PatchCutter& cutter) {
    info = decode_audio_stream(path, [&](std::span<const float> samples) { cutter.push(samples); });
  });
  track.audio = std::move(info);
  return track;
}

TrackAnalysis analyze_samples(const float* samples, int64_t count, std::vector<ModelRunner>& models,
                              const AnalysisOptions& options) {
  TrackAnalysis track = analyze_stream(models, options, [&](PatchCutter& cutter) {
    for (int64_t offset = 0; offset < count; offset += kMaxChunkSamples)
      cutter.push({samples + offset, static_cast<size_t>(std::min<int64_t>(kMaxChunkSamples, count - offset))});
  });
  track.audio.decoded_duration_s = static_cast<double>(count) / kAnalysisSampleRateHz;
  return track;
}

TrackPatches extract_patches(const std::string& path, const PatchOptions& options) {
  TrackPatches result;
  PatchCutter cutter(options, 64, result.track, [&](const float* patches, int count) {
    result.patches.insert(result.patches.end(), patches, patches + static_cast<size_t>(count) * options.patch_frames * kBands);
  });
  const auto start = Clock::now();
  result.track.audio = decode_audio_stream(path, [&](std::span<const float> samples) { cutter.push(samples); });
  cutter.finish();
  result.track.seconds.decode = seconds_since(start) - result.track.seconds.mel;
  return result;
}

void run_models_on_patches(std::vector<ModelRunner>& models, const TrackPatches& patches, int patch_frames,
                           int batch_patches, TrackAnalysis& track) {
  prepare_outputs(models, track);
  const int64_t count = static_cast<int64_t>(track.segments.size());
  const size_t patch_floats = static_cast<size_t>(patch_frames) * kBands;
  for (int64_t first = 0; first < count; first += batch_patches)
    run_models(models, patches.patches.data() + first * patch_floats,
               static_cast<int>(std::min<int64_t>(batch_patches, count - first)), patch_frames, track);
}

}  // namespace tagscape::model
