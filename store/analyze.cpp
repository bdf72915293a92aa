#include "store/analyze.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "audio/probe.h"
#include "audio/tags.h"
#include "common/error.h"
#include "model/pipeline.h"
#include "store/content_hash.h"
#include "store/store.h"

namespace tagscape {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kTaggers = {"msd-musicnn-1", "mtt-musicnn-1", "msd-vgg-1", "mtt-vgg-1"};

// The moods space: dim name -> the two-class model whose positive class it is.
const std::vector<std::pair<std::string, std::string>> kMoodModels = {
    {"happy", "mood_happy-musicnn-msd-2"},       {"sad", "mood_sad-musicnn-msd-2"},
    {"relaxed", "mood_relaxed-musicnn-msd-2"},   {"aggressive", "mood_aggressive-musicnn-msd-2"},
    {"danceable", "danceability-musicnn-msd-2"}};

constexpr int kBatchPatches = 8;

// ------------------------------------------------------------------ discovery

bool is_hidden(const fs::path& path) { return path.filename().string().starts_with("."); }

// One discovery pass over the roots. Symlinks are followed after everything reachable
// without them, so a file or folder reachable both ways is listed under its real path.
struct Walk {
  std::set<std::pair<dev_t, ino_t>> seen;  // directories and files reached: cuts symlink loops, lists a file once
  std::deque<fs::path> links;              // symlinks met, followed once the real tree is done
  std::vector<std::string> files;          // audio files found, in walk order
  std::vector<std::string>& warnings;
  const KnownAudioFn& known_audio;
};

bool first_visit(Walk& walk, const struct stat& info) { return walk.seen.insert({info.st_dev, info.st_ino}).second; }

bool is_audio(const Walk& walk, const std::string& path) {
  return (walk.known_audio && walk.known_audio(path)) || guess_audio_file(path) != AudioGuess::not_audio;
}

void walk_directory(Walk& walk, const fs::path& directory);

// A directory entry or root: directories are walked, regular audio files listed;
// anything else (FIFOs, sockets, devices) is never opened — reading a FIFO would block.
void visit(Walk& walk, const fs::path& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 || !first_visit(walk, info)) return;  // broken symlink, or reached before
  if (S_ISDIR(info.st_mode)) walk_directory(walk, path);
  else if (S_ISREG(info.st_mode) && is_audio(walk, path.string())) walk.files.push_back(path.string());
}

void walk_directory(Walk& walk, const fs::path& directory) {
  std::error_code error;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) entries.push_back(it->path());
  if (error) {
    walk.warnings.push_back(directory.string() + ": cannot read directory (" + error.message() + ")");
    return;
  }
  std::sort(entries.begin(), entries.end());
  for (const fs::path& entry : entries) {
    struct stat link {};
    if (is_hidden(entry) || lstat(entry.c_str(), &link) != 0) continue;
    if (S_ISLNK(link.st_mode)) walk.links.push_back(entry);
    else visit(walk, entry);
  }
}

// ------------------------------------------------------------------ spaces

struct SpaceSource {
  int runner;  // index into the runner list
  int output;  // index of that runner's output
  int column;  // -1: every column; else one column (moods)
};

struct SpacePlan {
  Space space;
  int64_t id = 0;
  std::vector<SpaceSource> sources;
};

struct Models {
  std::vector<std::string> ids;             // one per runner
  std::vector<model::ModelRunner> runners;  // loaded
  std::vector<SpacePlan> spaces;
};

int positive_class(const model::ModelInfo& info, const std::string& name) {
  const auto it = std::find(info.classes.begin(), info.classes.end(), name);
  if (it == info.classes.end()) throw Error(info.id + ": no class named '" + name + "' in its metadata");
  return static_cast<int>(it - info.classes.begin());
}

int add_runner(Models& models, const std::string& id, const std::vector<std::string>& outputs, int jobs) {
  models.ids.push_back(id);
  models.runners.push_back(model::make_model_runner(id, outputs, jobs));
  return static_cast<int>(models.runners.size()) - 1;
}

void plan_tagger(Models& models, const std::string& id, int jobs) {
  const int runner = add_runner(models, id, {"taggrams", "embeddings"}, jobs);
  const model::ModelInfo& info = models.runners[runner].info;
  SpacePlan taggrams{{0, id + "/taggrams", SpaceKind::taggrams, id, models.runners[runner].outputs[0],
                      static_cast<int>(info.classes.size()), info.classes},
                     0, {{runner, 0, -1}}};
  const std::string embedding_node = models.runners[runner].outputs[1];
  int64_t embedding_dims = 0;
  for (const auto& output : info.outputs)
    if (output.name == embedding_node) embedding_dims = output.dims;
  if (embedding_dims <= 0) throw Error(id + ": metadata gives no size for " + embedding_node);
  SpacePlan embeddings{{0, id + "/embeddings", SpaceKind::embeddings, id, embedding_node,
                        static_cast<int>(embedding_dims), {}},
                       0, {{runner, 1, -1}}};
  models.spaces.push_back(std::move(taggrams));
  models.spaces.push_back(std::move(embeddings));
}

void plan_moods(Models& models, int jobs) {
  SpacePlan moods{{0, "moods", SpaceKind::moods, "", "model/Sigmoid", static_cast<int>(kMoodModels.size()), {}}, 0, {}};
  for (const auto& [mood, id] : kMoodModels) {
    const int runner = add_runner(models, id, {"taggrams"}, jobs);
    moods.space.dim_names.push_back(mood);
    moods.sources.push_back({runner, 0, positive_class(models.runners[runner].info, mood)});
  }
  models.spaces.push_back(std::move(moods));
}

std::vector<std::string> selection_with_store_spaces(const std::string& selection, Store& store) {
  if (!selection.empty()) return expand_model_selection(selection);
  std::vector<std::string> ids = {"msd-musicnn-1"};
  for (const Space& space : list_spaces(store)) {
    const std::string id = space.kind == SpaceKind::moods ? "moods" : space.model;
    if (space.kind != SpaceKind::imported && !id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end())
      ids.push_back(id);
  }
  return ids;
}

Models load_models(const std::vector<std::string>& selection, int jobs, Store& store) {
  Models models;
  for (const std::string& id : selection) {
    if (id == "moods") plan_moods(models, jobs);
    else plan_tagger(models, id, jobs);
  }
  for (SpacePlan& plan : models.spaces) plan.id = upsert_space(store, plan.space);
  return models;
}

// Times one batch per model (also compiles oneDNN's kernels before the first track).
void measure_cost(Models& models, AnalyzePlanInfo& info) {
  std::vector<float> zeros(static_cast<size_t>(kBatchPatches) * MusicnnInput::patch_frames * MusicnnInput::bands, 0.0f);
  const model::Tensor batch{model::DType::f32, {kBatchPatches, MusicnnInput::patch_frames, MusicnnInput::bands}, zeros.data()};
  double seconds_per_patch = 0, flops_per_patch = 0;
  for (auto& runner : models.runners) {
    runner.executor->run(batch);  // plan + JIT
    const auto start = Clock::now();
    runner.executor->run(batch);
    seconds_per_patch += std::chrono::duration<double>(Clock::now() - start).count() / kBatchPatches;
    for (const auto& step : runner.executor->plan().steps) flops_per_patch += step.flops / kBatchPatches;
  }
  const double patches_per_hour = 3600.0 / (MusicnnInput::patch_frames * MusicnnInput::frame_hop_s);
  info.seconds_per_audio_hour = seconds_per_patch * patches_per_hour;
  info.gflop_per_audio_minute = flops_per_patch * patches_per_hour / 60 / 1e9;
}

// ------------------------------------------------------------------ planning per file

enum class Action {
  analyse,       // new or changed: decode, run every model, commit_track
  update,        // unchanged, missing spaces: decode, run the missing models, add_track_vectors
  restore,       // back after 'removed', missing spaces: restore + like update
  restore_only,  // back after 'removed', complete: restore without decoding
  skip,          // unchanged and complete
  skip_failed,   // unchanged and failed before
};

struct WorkItem {
  std::string path;
  FileIdentity identity;
  Action action = Action::analyse;
  int64_t track_id = 0;
  std::vector<int> spaces;     // indexes into Models::spaces to compute
  bool stale_mtime = false;    // unchanged by content hash, but the store holds an older mtime
  int stored_segments = 0;     // segment count of the stored analysis (update/restore)
};

std::optional<FileIdentity> stat_identity(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileIdentity{path, static_cast<int64_t>(info.st_size),
                      static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec, ""};
}

bool unchanged(const TrackState& known, FileIdentity& identity) {
  if (known.size_bytes != identity.size_bytes) return false;
  if (known.mtime_ns == identity.mtime_ns) return true;
  try {  // same size, new mtime: only the content can tell (a touch, a copy)
    identity.content_hash = hash_file_content(identity.path);
  } catch (const Error&) {
    return false;
  }
  return identity.content_hash == known.content_hash;
}

WorkItem plan_file(Store& store, const std::string& path, const Models& models, bool force) {
  WorkItem item{path, {}, Action::analyse, 0, {}};
  const std::optional<FileIdentity> identity = stat_identity(path);
  if (identity) item.identity = *identity;
  item.identity.path = path;
  for (size_t k = 0; k < models.spaces.size(); ++k) item.spaces.push_back(static_cast<int>(k));
  const std::optional<TrackState> known = lookup_track(store, path);
  if (force || !known || !identity || !unchanged(*known, item.identity)) return item;
  item.track_id = known->track_id;
  item.stale_mtime = known->mtime_ns != item.identity.mtime_ns;
  item.stored_segments = known->segment_count;
  if (known->status == TrackStatus::failed) {
    item.action = Action::skip_failed;
    return item;
  }
  item.spaces.clear();
  for (size_t k = 0; k < models.spaces.size(); ++k)
    if (!std::binary_search(known->space_ids.begin(), known->space_ids.end(), models.spaces[k].id))
      item.spaces.push_back(static_cast<int>(k));
  if (known->status == TrackStatus::removed) item.action = item.spaces.empty() ? Action::restore_only : Action::restore;
  else item.action = item.spaces.empty() ? Action::skip : Action::update;
  return item;
}

// Tracks under a root whose files are gone.
std::vector<std::string> vanished_tracks(const std::vector<Track>& tracks, const std::vector<std::string>& roots,
                                         const std::set<std::string>& found) {
  std::vector<std::string> gone;
  for (const Track& track : tracks) {
    if (track.status == TrackStatus::removed || found.count(track.file.path)) continue;
    for (const std::string& root : roots) {
      const std::string prefix = root.ends_with('/') ? root : root + "/";
      std::error_code error;
      if ((track.file.path.starts_with(prefix) || track.file.path == root) && !fs::exists(track.file.path, error)) {
        gone.push_back(track.file.path);
        break;
      }
    }
  }
  return gone;
}

// ------------------------------------------------------------------ analysis

// What the decoding thread hands to the inference thread.
struct Prepared {
  size_t item;                                 // index into the work list
  std::optional<model::TrackPatches> patches;  // unset if decoding failed
  AudioTags tags;                              // read for Action::analyse only
  std::string content_hash;                    // '' if the file could not be read
  std::string error;                           // why decoding failed, '' if it did not
};

// A bounded queue between the decode thread and the inference thread.
class PreparedQueue {
 public:
  explicit PreparedQueue(size_t capacity) : capacity_(capacity) {}

  bool push(Prepared prepared, const std::atomic<bool>* stop) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_ || closed_ || (stop && *stop); });
    if (closed_ || (stop && *stop)) return false;
    queue_.push_back(std::move(prepared));
    not_empty_.notify_one();
    return true;
  }

  std::optional<Prepared> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (queue_.empty()) return std::nullopt;
    Prepared prepared = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return prepared;
  }

  void finish() {  // producer: no more items
    std::lock_guard lock(mutex_);
    finished_ = true;
    not_empty_.notify_all();
  }

  void close() {  // consumer: stop accepting
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Prepared> queue_;
  size_t capacity_;
  bool finished_ = false, closed_ = false;
};

model::TrackPatches decode_patches(const std::string& path, int patch_hop_frames) {
  PatchOptions options;
  options.patch_hop_frames = patch_hop_frames;
  model::TrackPatches patches = model::extract_patches(path, options);
  if (patches.track.segments.empty() && patches.track.samples > 0) {  // shorter than one segment
    options.last_patch = LastPatchMode::repeat;
    patches = model::extract_patches(path, options);
  }
  return patches;
}

void produce(const std::vector<WorkItem>& work, const std::vector<size_t>& order, int patch_hop_frames,
             PreparedQueue& queue, const std::atomic<bool>* stop) {
  for (size_t index : order) {
    if (stop && *stop) break;
    const WorkItem& item = work[index];
    Prepared prepared{index, std::nullopt, {}, item.identity.content_hash, ""};
    try {
      prepared.patches = decode_patches(item.path, patch_hop_frames);
      if (item.action == Action::analyse) prepared.tags = read_audio_tags(item.path);
    } catch (const std::exception& error) {
      prepared.error = error.what();
    }
    try {  // here, not on the inference thread: hashing reads the whole file
      if (prepared.content_hash.empty()) prepared.content_hash = hash_file_content(item.path);
    } catch (const Error& error) {  // e.g. deleted since it was decoded
      if (prepared.error.empty()) prepared.error = error.what();
    }
    if (!queue.push(std::move(prepared), stop)) break;
  }
  queue.finish();
}

// [segments, dims] of one space from the models' raw outputs.
std::vector<float> assemble_space(const SpacePlan& plan, const std::vector<std::vector<std::vector<float>>>& outputs,
                                  const std::vector<std::vector<int64_t>>& output_dims, int64_t segments) {
  std::vector<float> values;
  values.reserve(static_cast<size_t>(segments) * plan.space.dims);
  for (int64_t row = 0; row < segments; ++row)
    for (const SpaceSource& source : plan.sources) {
      const int64_t dims = output_dims[source.runner][source.output];
      const float* data = outputs[source.runner][source.output].data() + row * dims;
      if (source.column < 0) values.insert(values.end(), data, data + dims);
      else values.push_back(data[source.column]);
    }
  return values;
}

struct SpaceValues {
  std::vector<int64_t> ids;
  std::vector<std::vector<float>> values;
};

SpaceValues run_spaces(Models& models, const std::vector<int>& wanted, const model::TrackPatches& patches) {
  std::set<int> runners;
  for (int space : wanted)
    for (const SpaceSource& source : models.spaces[space].sources) runners.insert(source.runner);
  const int64_t segments = static_cast<int64_t>(patches.track.segments.size());
  const size_t patch_floats = static_cast<size_t>(MusicnnInput::patch_frames) * MusicnnInput::bands;
  std::vector<std::vector<std::vector<float>>> outputs(models.runners.size());
  std::vector<std::vector<int64_t>> output_dims(models.runners.size());
  for (int runner : runners) {
    auto& executor = *models.runners[runner].executor;
    outputs[runner].resize(models.runners[runner].outputs.size());
    output_dims[runner].resize(models.runners[runner].outputs.size());
    for (int64_t first = 0; first < segments; first += kBatchPatches) {
      const int count = static_cast<int>(std::min<int64_t>(kBatchPatches, segments - first));
      const model::Tensor input{model::DType::f32, {count, MusicnnInput::patch_frames, MusicnnInput::bands},
                                const_cast<float*>(patches.patches.data() + first * patch_floats)};
      const auto results = executor.run(input);
      for (size_t k = 0; k < results.size(); ++k) {
        output_dims[runner][k] = results[k].size() / count;
        outputs[runner][k].insert(outputs[runner][k].end(), results[k].f32(), results[k].f32() + results[k].size());
      }
    }
  }
  SpaceValues values;
  for (int space : wanted) {
    values.ids.push_back(models.spaces[space].id);
    values.values.push_back(assemble_space(models.spaces[space], outputs, output_dims, segments));
  }
  return values;
}

std::vector<SpaceVectors> space_vectors(const SpaceValues& values) {
  std::vector<SpaceVectors> vectors;
  for (size_t k = 0; k < values.ids.size(); ++k) vectors.push_back({values.ids[k], values.values[k]});
  return vectors;
}

TrackMetadata metadata_of(const AudioTags& tags, const std::string& path) {
  TrackMetadata metadata{tags.title, tags.artist, tags.album, tags.genre, tags.year, tags.track_number};
  if (metadata.title.empty()) metadata.title = fs::path(path).stem().string();  // filename fallback
  return metadata;
}

std::string join_warnings(const std::vector<std::string>& warnings) {
  std::string text;
  for (const std::string& warning : warnings) text += (text.empty() ? "" : "; ") + warning;
  return text;
}

std::string record_failure(Store& store, WorkItem& item, const Prepared& prepared, AnalyzeSummary& summary) {
  item.identity.content_hash = prepared.content_hash;  // so an unchanged bad file is not retried
  mark_track_failed(store, item.identity, prepared.error);
  summary.failures.push_back({item.path, prepared.error});
  return "failed";
}

// Update/restore of a stored analysis whose segment count no longer matches what the
// decoder cuts now (another tagscape version): its vectors cannot be completed, so the
// file is analysed afresh with every model.
void reanalyse_if_cut_differently(WorkItem& item, Prepared& prepared, const Models& models) {
  if (item.action == Action::analyse ||
      static_cast<int>(prepared.patches->track.segments.size()) == item.stored_segments)
    return;
  item.action = Action::analyse;
  item.spaces.clear();
  for (size_t k = 0; k < models.spaces.size(); ++k) item.spaces.push_back(static_cast<int>(k));
  prepared.tags = read_audio_tags(item.path);
}

std::string commit_analysis(Store& store, WorkItem& item, const Prepared& prepared, const SpaceValues& values) {
  const model::TrackPatches& patches = *prepared.patches;
  TrackAnalysis analysis;
  analysis.file = item.identity;
  analysis.file.content_hash = prepared.content_hash;
  analysis.metadata = metadata_of(prepared.tags, item.path);
  analysis.duration_s = patches.track.audio.decoded_duration_s;
  for (const PatchSpan& span : patches.track.segments) analysis.segments.push_back({span.start_s, span.end_s});
  analysis.vectors = space_vectors(values);
  commit_track(store, analysis);
  return "analysed";
}

// Runs the models for one prepared file and commits it; returns the progress event name.
std::string commit_prepared(Store& store, Models& models, WorkItem& item, Prepared& prepared, AnalyzeSummary& summary,
                            std::string& detail) {
  if (!prepared.error.empty()) {
    detail = prepared.error;
    return record_failure(store, item, prepared, summary);
  }
  reanalyse_if_cut_differently(item, prepared, models);
  detail = join_warnings(prepared.patches->track.audio.warnings);
  const SpaceValues values = run_spaces(models, item.spaces, *prepared.patches);
  summary.audio_s += prepared.patches->track.audio.decoded_duration_s;
  if (item.action == Action::analyse) {
    const std::string event = commit_analysis(store, item, prepared, values);
    ++summary.analysed;
    return event;
  }
  if (item.action == Action::restore) restore_removed_track(store, item.track_id);
  if (!values.ids.empty()) add_track_vectors(store, item.track_id, space_vectors(values));
  ++(item.action == Action::restore ? summary.restored : summary.updated);
  return item.action == Action::restore ? "restored" : "updated";
}

int resolve_patch_hop(Store& store, const AnalyzeOptions& options) {
  const std::optional<std::string> stored = get_meta(store, "patch_hop_frames");
  const int requested = options.patch_hop_frames;
  if (requested < 0 || requested > MusicnnInput::patch_frames)
    throw Error("--patch-hop " + std::to_string(requested) + " must be between 1 and " +
                std::to_string(MusicnnInput::patch_frames) + " frames");
  if (stored && requested && std::stoi(*stored) != requested && !options.force)
    throw Error(options.db_path + ": the collection was analysed with --patch-hop " + *stored +
                "; use --force to re-analyse every file with " + std::to_string(requested));
  const int hop = requested ? requested : stored ? std::stoi(*stored) : MusicnnInput::patch_frames;
  set_meta(store, "patch_hop_frames", std::to_string(hop));
  return hop;
}

void count_plan(const std::vector<WorkItem>& work, AnalyzePlanInfo& info) {
  for (const WorkItem& item : work) {
    switch (item.action) {
      case Action::analyse: ++info.to_analyse; break;
      case Action::update: ++info.to_update; break;
      case Action::restore:
      case Action::restore_only: ++info.to_restore; break;
      case Action::skip:
      case Action::skip_failed: ++info.to_skip; break;
    }
  }
}

// Paths the store holds (any status) with the file's current size and mtime: audio
// already, no need to probe their content again.
KnownAudioFn known_audio_files(const std::vector<Track>& tracks) {
  auto known = std::make_shared<std::map<std::string, std::pair<int64_t, int64_t>>>();
  for (const Track& track : tracks) (*known)[track.file.path] = {track.file.size_bytes, track.file.mtime_ns};
  return [known](const std::string& path) {
    const auto it = known->find(path);
    if (it == known->end()) return false;
    const std::optional<FileIdentity> identity = stat_identity(path);
    return identity && std::pair(identity->size_bytes, identity->mtime_ns) == it->second;
  };
}

// A file whose mtime changed but whose bytes did not (a touch, a copy without -t): the
// store gets the new mtime, so later runs skip it on size + mtime instead of hashing it
// every time. The store has no identity-only update, so the entry is re-committed from
// what it holds — one transaction, the same vectors bit for bit. Removed tracks are left
// alone (the restore below and the next run's hash check handle them).
void refresh_identity(Store& store, const Track& track, const FileIdentity& identity) {
  if (track.status == TrackStatus::failed) {
    mark_track_failed(store, identity, track.error);
    return;
  }
  if (track.status != TrackStatus::ok) return;
  TrackAnalysis analysis{identity, track.metadata, track.duration_s, read_segments(store, track.id), {}};
  std::vector<std::pair<int64_t, TrackVectors>> held;
  for (int64_t space : track_space_ids(store, track.id)) held.push_back({space, read_track_vectors(store, track.id, space)});
  for (const auto& [space, vectors] : held) analysis.vectors.push_back({space, vectors.values});
  commit_track(store, analysis);
}

void refresh_stale_identities(Store& store, const std::vector<Track>& tracks, const std::vector<WorkItem>& work) {
  std::map<int64_t, const Track*> by_id;
  for (const Track& track : tracks) by_id[track.id] = &track;
  for (const WorkItem& item : work)
    if (item.stale_mtime && by_id.count(item.track_id)) refresh_identity(store, *by_id[item.track_id], item.identity);
}

// Counts the skipped files, restores the complete ones that came back (no decoding
// needed), and returns the work left for the decoder, in discovery order.
std::vector<size_t> settle_without_decoding(Store& store, const std::vector<WorkItem>& work, AnalyzeSummary& summary) {
  std::vector<size_t> order;
  for (size_t k = 0; k < work.size(); ++k) {
    switch (work[k].action) {
      case Action::skip: ++summary.skipped; break;
      case Action::skip_failed: ++summary.skipped_failed; break;
      case Action::restore_only:
        restore_removed_track(store, work[k].track_id);
        ++summary.restored;
        break;
      default: order.push_back(k);
    }
  }
  return order;
}

// Decodes `order` on a producer thread (2 files ahead) while this thread runs the
// models and commits; returns the last progress report.
AnalyzeProgress analyse_in_order(Store& store, Models& models, std::vector<WorkItem>& work, const std::vector<size_t>& order,
                                 int patch_hop, AnalyzeSummary& summary, const AnalyzeProgressFn& on_progress,
                                 const std::atomic<bool>* stop, Clock::time_point start) {
  PreparedQueue queue(2);
  std::thread producer([&] { produce(work, order, patch_hop, queue, stop); });
  AnalyzeProgress progress;
  progress.total = static_cast<int64_t>(order.size());
  for (size_t index : order) progress.bytes_total += work[index].identity.size_bytes;
  try {
    while (std::optional<Prepared> prepared = queue.pop()) {
      WorkItem& item = work[prepared->item];
      progress.event = commit_prepared(store, models, item, *prepared, summary, progress.detail);
      ++progress.done;
      progress.bytes_done += item.identity.size_bytes;
      progress.file = item.path;
      progress.audio_s = summary.audio_s;
      progress.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
      if (on_progress) on_progress(progress);
      if (stop && *stop) break;
    }
  } catch (...) {
    queue.close();
    producer.join();
    throw;
  }
  queue.close();
  producer.join();
  return progress;
}

}  // namespace

std::vector<std::string> expand_model_selection(const std::string& models) {
  std::vector<std::string> ids;
  auto add = [&](const std::string& id) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  size_t start = 0;
  while (start <= models.size()) {
    const size_t comma = models.find(',', start);
    std::string entry = models.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    entry.erase(0, entry.find_first_not_of(" "));
    entry.erase(entry.find_last_not_of(" ") + 1);
    if (entry == "paper") for (const auto& id : kTaggers) add(id);
    else if (entry == "all") {
      for (const auto& id : kTaggers) add(id);
      add("moods");
    } else if (entry == "moods" || std::find(kTaggers.begin(), kTaggers.end(), entry) != kTaggers.end()) add(entry);
    else if (!entry.empty())
      throw Error("--models: unknown entry '" + entry + "' (valid: msd-musicnn-1, mtt-musicnn-1, msd-vgg-1, mtt-vgg-1, "
                  "moods, paper, all)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (ids.empty()) throw Error("--models: no model selected");
  return ids;
}

std::vector<std::string> find_audio_files(const std::vector<std::string>& roots, std::vector<std::string>& warnings,
                                          const KnownAudioFn& known_audio) {
  Walk walk{{}, {}, {}, warnings, known_audio};
  for (const std::string& root : roots) {
    const fs::path path = fs::absolute(root).lexically_normal();
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) throw Error(root + ": no such file or directory");
    if (!S_ISDIR(info.st_mode) && !(S_ISREG(info.st_mode) && is_audio(walk, path.string())))
      warnings.push_back(root + ": not an audio file, skipped");
    else visit(walk, path);  // a root given twice, or inside another root, adds nothing
  }
  while (!walk.links.empty()) {  // following a link may meet more links: breadth first
    const fs::path link = walk.links.front();
    walk.links.pop_front();
    visit(walk, link);
  }
  std::sort(walk.files.begin(), walk.files.end());
  return walk.files;
}

AnalyzeSummary analyze_collection(const AnalyzeOptions& options, const AnalyzePlanFn& on_plan,
                                  const AnalyzeProgressFn& on_progress, const std::atomic<bool>* stop) {
  const auto start = Clock::now();
  if (!options.models.empty()) expand_model_selection(options.models);  // fail before a long discovery
  AnalyzeSummary summary;
  std::vector<std::string> roots;
  for (const std::string& root : options.roots) {
    std::error_code error;
    if (!fs::exists(root, error)) throw Error(root + ": no such file or directory");  // before creating the store
    roots.push_back(fs::absolute(root).lexically_normal().string());
  }
  Store store = open_store(options.db_path, OpenMode::create);
  const std::vector<Track> tracks = list_tracks(store);
  const std::vector<std::string> files = find_audio_files(roots, summary.warnings, known_audio_files(tracks));

  const int patch_hop = resolve_patch_hop(store, options);
  summary.plan.selection = selection_with_store_spaces(options.models, store);
  Models models = load_models(summary.plan.selection, options.jobs, store);
  summary.plan.models = models.ids;
  for (const SpacePlan& plan : models.spaces) summary.plan.spaces.push_back(plan.space.name);
  summary.plan.files = static_cast<int64_t>(files.size());
  std::vector<WorkItem> work;
  for (const std::string& path : files) work.push_back(plan_file(store, path, models, options.force));
  count_plan(work, summary.plan);
  const std::vector<std::string> gone = vanished_tracks(tracks, roots, std::set<std::string>(files.begin(), files.end()));
  summary.plan.to_remove = static_cast<int64_t>(gone.size());
  summary.removed = mark_tracks_removed(store, gone);
  refresh_stale_identities(store, tracks, work);
  const std::vector<size_t> order = settle_without_decoding(store, work, summary);
  if (!order.empty()) measure_cost(models, summary.plan);
  if (on_plan) on_plan(summary.plan);

  const AnalyzeProgress progress = analyse_in_order(store, models, work, order, patch_hop, summary, on_progress, stop, start);
  summary.interrupted = stop && *stop && progress.done < progress.total;
  summary.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

}  // namespace tagscape
