// store/analyze.h — a music folder into a collection file (`tagscape analyze`).
//
//   AnalyzeOptions options;
//   options.roots = {"~/Music"};
//   AnalyzeSummary summary = analyze_collection(options, print_plan, print_progress, &stop_flag);
//
// What happens:
//   1. Discovery: every regular, non-hidden file under the roots (symlinks followed
//      after the real tree, loops cut and each file taken once by (device, inode)), in
//      sorted order, that is audio by extension or — for unknown or ambiguous extensions
//      — by content (audio/probe.h). FIFOs, sockets and devices are never opened.
//   2. Plan per file, against what the store holds (store/store.h lookup_track):
//      unchanged (same size + mtime, or same size and content hash) and holding every
//      wanted space -> skipped; unchanged but missing spaces -> only the missing models run
//      and their vectors are added; new or changed -> full analysis; unchanged and
//      failed before -> skipped (retried with `force`); present again, unchanged, after
//      being marked removed -> restored (without decoding unless spaces are missing).
//      Tracks under a root whose file is gone -> 'removed'. A file unchanged by hash
//      but with a new mtime gets the new mtime stored (later runs need no hash).
//   3. Analysis: one thread decodes + computes the mel + cuts patches for the next
//      tracks (a queue of 2 files) and hashes them, the calling thread runs the models
//      (`jobs` threads each, oneDNN) and commits each track in one transaction
//      (crash-safe: a kill at any moment leaves each track either as before or
//      complete). A stored analysis that the decoder now cuts into a different number
//      of segments cannot be completed with new spaces: that file is analysed afresh.
//      Memory: a queued file holds all its patches (86 MB per audio hour), so up to
//      three files' worth at once.
//
// Spaces written (store/store.h Space):
//   "<model>/taggrams"   kind taggrams, dims = tags (50), dim_names = tag names
//   "<model>/embeddings" kind embeddings: model/dense/BiasAdd (MusiCNN, 200) or
//                        model/flatten/Reshape (VGG, 256)
//   "moods"              kind moods, 5 dims happy, sad, relaxed, aggressive, danceable:
//                        each the positive-class probability of its two-class model
// A track shorter than one segment (2.992 s) is stored as 'ok' with one segment made by
// repeating its frames (Essentia's lastPatchMode=repeat), so short jingles still get tags.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace tagscape {

struct AnalyzeOptions {
  std::vector<std::string> roots;             // folders or single files to analyse
  std::string db_path = "collection.tagscape";
  std::string models;                         // "" = msd-musicnn-1 + the store's spaces; else a comma list of
                                              // model ids, "moods", "paper" (the 4 taggers), "all"
  int patch_hop_frames = 0;                   // 0 = the store's (default 187 = non-overlapping segments)
  int jobs = 0;                               // inference threads, 0 = all cores
  bool force = false;                         // re-analyse every file
};

struct AnalyzeProgress {
  int64_t done = 0, total = 0;  // files handled / files to handle (skipped ones excluded)
  int64_t bytes_done = 0, bytes_total = 0;  // the same in file bytes: a better base for an ETA
  double audio_s = 0;           // audio analysed so far, seconds
  double elapsed_s = 0;         // wall seconds since analysis started
  std::string file;             // the file just handled
  std::string event;            // "analysed", "updated", "restored", "failed"
  std::string detail;           // failure reason or warnings
};
using AnalyzeProgressFn = std::function<void(const AnalyzeProgress&)>;

struct AnalyzeFailure {
  std::string path, error;
};

struct AnalyzePlanInfo {
  std::vector<std::string> selection;  // the --models selection expanded (or the default): model ids, "moods"
  std::vector<std::string> models;  // networks that will run for new files (moods = 5 of them)
  std::vector<std::string> spaces;  // space names written
  int64_t files = 0;                // audio files found
  int64_t to_analyse = 0, to_update = 0, to_skip = 0, to_restore = 0, to_remove = 0;
  double seconds_per_audio_hour = 0;  // all `models` on one audio hour, timed on one batch at start-up;
                                      // 0 when nothing is to be analysed (then nothing is timed)
  double gflop_per_audio_minute = 0;  // all `models`, from the executors' plans
};
using AnalyzePlanFn = std::function<void(const AnalyzePlanInfo&)>;

struct AnalyzeSummary {
  AnalyzePlanInfo plan;
  int64_t analysed = 0;        // new or changed files, fully analysed
  int64_t updated = 0;         // unchanged files that got missing spaces
  int64_t restored = 0;        // files back after being marked removed
  int64_t skipped = 0;         // unchanged and complete
  int64_t skipped_failed = 0;  // unchanged and failed before (not retried without --force)
  int64_t removed = 0;         // marked removed this run
  std::vector<AnalyzeFailure> failures;  // this run's failures, in order
  std::vector<std::string> warnings;     // discovery problems (unreadable folders, non-audio roots)
  double audio_s = 0, wall_s = 0;
  bool interrupted = false;    // stopped by the stop flag
};

// Expands a --models value into model ids ("moods" stays "moods"), in the order given,
// duplicates dropped.
// Throws Error naming an unknown entry and listing the valid ones.
std::vector<std::string> expand_model_selection(const std::string& models);

// True for a file already known to be audio (e.g. in the store with the same size and
// mtime): discovery then takes it without probing its content — re-runs over files
// without a known extension would otherwise open each one with FFmpeg (~1 ms a file).
using KnownAudioFn = std::function<bool(const std::string& path)>;

// Audio files under `roots` (see above), sorted; a file reached through several paths
// (symlinks, hard links) is listed once, under its first path in sorted walk order.
// Unreadable directories are reported in `warnings` and skipped. Throws Error if a
// root does not exist.
std::vector<std::string> find_audio_files(const std::vector<std::string>& roots, std::vector<std::string>& warnings,
                                          const KnownAudioFn& known_audio = {});

// Runs the whole analysis. `on_plan` is called once before any file is analysed,
// `on_progress` after each file handled. `stop`, when set, ends the run after the
// current file's commit. Throws Error only for problems with the store, the models or
// the options; problems with single files are counted in the summary.
AnalyzeSummary analyze_collection(const AnalyzeOptions& options, const AnalyzePlanFn& on_plan,
                                  const AnalyzeProgressFn& on_progress, const std::atomic<bool>* stop);

}  // namespace tagscape
