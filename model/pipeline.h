// model/pipeline.h — one audio file through the whole engine:
//
//   file --audio/decode--> mono 16 kHz --features/mel--> [frames, 96] log-mel
//        --patches [187, 96] in batches--> every model's executor --> [segments, dims] per output
//
//   std::vector<ModelRunner> models;
//   models.push_back(make_model_runner("msd-musicnn-1", {"taggrams", "embeddings"}));
//   TrackAnalysis track = analyze_file("song.mp3", models, {});
//   // track.segments[k]: segment k's time span; track.outputs[i].values: [segments, dims]
//
// Everything streams: the decoder hands chunks to the mel stream, complete patches
// are batched, and a full batch runs through every model at once; only the mel
// frames not yet consumed by a patch are kept. Memory is bounded by the batch, not
// by the file's length. The mel is computed once and shared by all models.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "audio/decode.h"
#include "features/mel.h"
#include "model/executor.h"
#include "model/metadata.h"

namespace tagscape::model {

// A model ready to run: metadata + executor for the requested outputs.
struct ModelRunner {
  ModelInfo info;
  std::vector<std::string> outputs;  // graph node names, as the executor was built
  std::unique_ptr<Executor> executor;
};

// Resolves output aliases: "taggrams" (the predictions node), "embeddings" (the
// embeddings node), or any graph node name. Throws Error for an alias the model's
// metadata does not define.
std::string resolve_output_name(const ModelInfo& info, const std::string& output);

// Loads an installed model (name) or a model directory, with executors for `outputs`
// (aliases allowed). `threads` <= 0: all cores.
ModelRunner make_model_runner(const std::string& name_or_path, const std::vector<std::string>& outputs, int threads = 0);

struct AnalysisOptions {
  PatchOptions patches;       // 187-frame patches, hop 187, discard the partial last one
  int batch_patches = 8;      // patches per executor run (memory ≈ 9.4 MB per MusiCNN patch)
};

struct OutputVectors {
  std::string model;          // model id, e.g. "msd-musicnn-1"
  std::string output;         // graph node name, e.g. "model/Sigmoid"
  int64_t dims = 0;           // values per segment
  std::vector<float> values;  // [segments, dims] row-major
};

struct StageSeconds {
  double decode = 0;  // wall seconds in FFmpeg decode + resample
  double mel = 0;     // wall seconds computing the log-mel
  double model = 0;   // wall seconds in the executors (all models)
};

struct TrackAnalysis {
  AudioInfo audio;                    // what was decoded (warnings included)
  int64_t samples = 0;                // decoded samples at 16 kHz
  int64_t mel_frames = 0;             // musicnn_frame_count(samples)
  std::vector<PatchSpan> segments;    // one per patch, in time order
  std::vector<OutputVectors> outputs; // one per (model, output), in `models` order
  StageSeconds seconds;
};

// Decodes `path` and runs every model over its patches. A track too short for one
// patch (in discard mode) yields 0 segments and empty outputs, not an error.
// Throws tagscape::Error for unusable audio (see audio/decode.h).
TrackAnalysis analyze_file(const std::string& path, std::vector<ModelRunner>& models, const AnalysisOptions& options);

// The same from an in-memory 16 kHz mono signal (tests, benchmarks).
TrackAnalysis analyze_samples(const float* samples, int64_t count, std::vector<ModelRunner>& models,
                              const AnalysisOptions& options);

// ---- the two halves, for running decode + mel and inference on different threads ----

// A file's patches, ready for the models: decode + mel + cut, no inference.
// Holds every patch of the file: ≈ 72 KB per 3 s segment (86 MB per audio hour).
struct TrackPatches {
  TrackAnalysis track;         // audio, samples, mel_frames, segments, seconds.decode/mel; no outputs yet
  std::vector<float> patches;  // [track.segments.size(), patch_frames, 96]
};

// Throws tagscape::Error for unusable audio (see audio/decode.h).
TrackPatches extract_patches(const std::string& path, const PatchOptions& options);

// Runs every model over `patches` in batches, filling track.outputs (one per model
// output, in `models` order) and adding to track.seconds.model. `track` is usually
// patches.track moved out, or a copy of it.
void run_models_on_patches(std::vector<ModelRunner>& models, const TrackPatches& patches, int patch_frames,
                           int batch_patches, TrackAnalysis& track);

// Runs every model over one batch of patches [count, patch_frames, 96], appending to
// track.outputs (which must already hold one slot per model output).
void run_models(std::vector<ModelRunner>& models, const float* patches, int count, int patch_frames,
                TrackAnalysis& track);

}  // namespace tagscape::model
