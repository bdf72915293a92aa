#include "store/import.h"

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/error.h"
#include "common/npy.h"

namespace tagscape {

namespace {

namespace fs = std::filesystem;

struct TrackKey {
  int64_t id;
  std::string path;          // as stored (absolute)
  std::string path_no_ext;   // path without the file's extension (== path if it has none)
  int segments;
};

// Tracks indexed by file name and by file stem: every match ends in one of these.
struct TrackIndex {
  std::vector<TrackKey> tracks;
  std::unordered_map<std::string, std::vector<size_t>> by_last_part;  // "b.mp3" and "b" -> tracks
};

TrackIndex index_ok_tracks(Store& store) {
  TrackIndex index;
  for (const Track& track : list_tracks(store)) {
    if (track.status != TrackStatus::ok) continue;
    const fs::path path = track.file.path;
    const fs::path no_ext = path.parent_path() / path.stem();
    index.tracks.push_back({track.id, path.generic_string(), no_ext.generic_string(), track.segment_count});
    const size_t k = index.tracks.size() - 1;
    index.by_last_part[path.filename().string()].push_back(k);
    if (path.stem() != path.filename()) index.by_last_part[path.stem().string()].push_back(k);
  }
  return index;
}

bool ends_with_part(const std::string& path, const std::string& suffix) {
  return path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         path[path.size() - suffix.size() - 1] == '/';
}

struct Match {
  enum Kind { none, unique, ambiguous } kind = none;
  size_t track = 0;                 // index into TrackIndex::tracks when unique
  bool by_name_only = false;        // only the last part matched although the file had folders
  std::vector<size_t> candidates;   // when ambiguous
};

// See the MATCHING rule in import.h.
Match match_file(const TrackIndex& index, const std::string& relative_no_npy) {
  std::vector<std::string> parts;
  std::stringstream split(relative_no_npy);
  for (std::string part; std::getline(split, part, '/');)
    if (!part.empty()) parts.push_back(part);
  Match match;
  if (parts.empty()) return match;
  const auto found = index.by_last_part.find(parts.back());
  if (found == index.by_last_part.end()) return match;
  std::vector<size_t> candidates = found->second;
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());

  for (size_t j = 0; j < parts.size(); ++j) {
    std::string suffix;
    for (size_t p = j; p < parts.size(); ++p) suffix += (p > j ? "/" : "") + parts[p];
    std::vector<size_t> with_ext, without_ext;
    for (size_t k : candidates) {
      if (ends_with_part(index.tracks[k].path, suffix)) with_ext.push_back(k);
      else if (ends_with_part(index.tracks[k].path_no_ext, suffix)) without_ext.push_back(k);
    }
    if (with_ext.empty() && without_ext.empty()) continue;
    match.by_name_only = j + 1 == parts.size() && parts.size() > 1;
    if (with_ext.size() == 1 || (with_ext.empty() && without_ext.size() == 1)) {
      match.kind = Match::unique;
      match.track = with_ext.empty() ? without_ext[0] : with_ext[0];
    } else {
      match.kind = Match::ambiguous;
      match.candidates = with_ext;
      match.candidates.insert(match.candidates.end(), without_ext.begin(), without_ext.end());
    }
    return match;
  }
  return match;  // unreachable in practice: the last part alone matches every candidate
}

// *.npy files under dir, sorted; hidden files and folders skipped, folder symlinks not
// followed (no loops).
std::vector<fs::path> find_npy_files(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw Error(dir + ": no such folder");
  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, error);
  if (error) throw Error(dir + ": cannot read folder (" + error.message() + ")");
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) throw Error(dir + ": cannot read folder (" + error.message() + ")");
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    std::string extension = it->path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(), ::tolower);
    if (extension == ".npy" && it->is_regular_file(error)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// One file that matched one track and passed the checks of pass 1.
struct Accepted {
  fs::path file;
  size_t track;       // index into TrackIndex::tracks
  bool by_name_only;  // Match::by_name_only
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t k = 0; k < shape.size(); ++k) text += (k ? ", " : "") + std::to_string(shape[k]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// Reads one matched file and checks it against its track; returns the error, or "".
std::string check_file(const fs::path& file, const TrackKey& track, NpyArray& array) {
  try {
    array = read_npy(file.string());
  } catch (const Error& error) {
    return error.what();
  }
  if (array.shape.size() != 2 || array.shape[1] == 0)
    return file.string() + ": expected a 2-D array [segments, dims], got shape " + shape_text(array.shape);
  if (array.shape[0] != track.segments)
    return file.string() + ": " + std::to_string(array.shape[0]) + " rows but " + track.path + " has " +
           std::to_string(track.segments) + " segments in the collection";
  return "";
}

std::string candidate_list(const TrackIndex& index, const std::vector<size_t>& candidates) {
  std::string text;
  for (size_t k = 0; k < candidates.size() && k < 5; ++k) text += (k ? ", " : "") + index.tracks[candidates[k]].path;
  if (candidates.size() > 5) text += ", ... (" + std::to_string(candidates.size()) + " in all)";
  return text;
}

// The space to write into, after checking it may be written with these dims and names.
Space target_space(Store& store, const ImportRequest& request, int dims) {
  Space space;
  space.name = request.space_name;
  space.kind = request.kind;
  space.dims = dims;
  space.dim_names = request.dim_names;
  if (std::optional<Space> existing = find_space(store, request.space_name)) {
    if (!existing->model.empty())
      throw Error(store.path + ": space '" + request.space_name + "' is produced by `tagscape analyze` (model " +
                  existing->model + "); import into another name");
    if (existing->dims != dims)
      throw Error(store.path + ": space '" + request.space_name + "' has " + std::to_string(existing->dims) +
                  " dims but the files have " + std::to_string(dims));
    if (space.dim_names.empty()) space.dim_names = existing->dim_names;
  }
  if (!space.dim_names.empty() && static_cast<int>(space.dim_names.size()) != dims)
    throw Error("dim names: " + std::to_string(space.dim_names.size()) + " names but the files have " +
                std::to_string(dims) + " dims");
  return space;
}

}  // namespace

SpaceKind parse_space_kind(const std::string& text) {
  for (SpaceKind kind : {SpaceKind::taggrams, SpaceKind::embeddings, SpaceKind::moods, SpaceKind::imported})
    if (text == space_kind_name(kind)) return kind;
  throw Error("unknown space kind '" + text + "' (expected taggrams, embeddings, moods or imported)");
}

std::vector<std::string> read_dim_names_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<std::string> names;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    const nlohmann::json array = nlohmann::json::parse(text, nullptr, false);
    if (array.is_discarded() || !array.is_array()) throw Error(path + ": not a valid JSON array of names");
    for (const auto& name : array) {
      if (!name.is_string()) throw Error(path + ": dim names must be strings, found " + name.dump());
      names.push_back(name.get<std::string>());
    }
  } else {
    std::stringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      names.push_back(line);
    }
    while (!names.empty() && names.back().empty()) names.pop_back();
  }
  if (names.empty()) throw Error(path + ": no dim names in the file");
  for (size_t k = 0; k < names.size(); ++k)
    if (names[k].empty()) throw Error(path + ": dim name " + std::to_string(k + 1) + " is empty");
  return names;
}

ImportReport import_npy_dir(Store& store, const ImportRequest& request) {
  assert(!request.space_name.empty());
  const std::vector<fs::path> files = find_npy_files(request.dir);
  if (files.empty()) throw Error(request.dir + ": no .npy files in this folder");
  const TrackIndex index = index_ok_tracks(store);
  ImportReport report;
  report.files = static_cast<int64_t>(files.size());

  // Pass 1: match and check every file, so that a folder mixing widths fails before
  // anything is written. Arrays are not kept (a collection's worth may not fit in memory).
  std::vector<Accepted> accepted;
  std::string dims_file;  // the first accepted file: sets the dims
  std::map<size_t, std::vector<size_t>> files_of_track;  // track -> indices into accepted
  for (const fs::path& file : files) {
    std::string relative = file.lexically_relative(request.dir).generic_string();
    relative.resize(relative.size() - 4);  // ".npy"
    const Match match = match_file(index, relative);
    if (match.kind == Match::none) {
      report.unmatched.push_back(file.string());
      continue;
    }
    if (match.kind == Match::ambiguous) {
      report.ambiguous.push_back(
          {file.string(), file.string() + ": matches several tracks: " + candidate_list(index, match.candidates)});
      continue;
    }
    NpyArray array;
    if (std::string problem = check_file(file, index.tracks[match.track], array); !problem.empty()) {
      report.rejected.push_back({file.string(), problem});
      continue;
    }
    const int dims = static_cast<int>(array.shape[1]);
    if (report.dims == 0) {
      report.dims = dims;
      dims_file = file.string();
    } else if (dims != report.dims) {
      throw Error(file.string() + ": " + std::to_string(dims) + " dims, but " + dims_file + " has " +
                  std::to_string(report.dims) + "; all files of one import must have the same width (nothing imported)");
    }
    files_of_track[match.track].push_back(accepted.size());
    accepted.push_back({file, match.track, match.by_name_only});
  }

  // Two files for one track: neither is trusted.
  std::vector<bool> keep(accepted.size(), true);
  for (const auto& [track, indices] : files_of_track) {
    if (indices.size() < 2) continue;
    for (size_t a : indices) {
      keep[a] = false;
      report.rejected.push_back({accepted[a].file.string(), accepted[a].file.string() + ": " +
                                                                 std::to_string(indices.size()) + " files match " +
                                                                 index.tracks[track].path + "; none of them imported"});
    }
  }

  const int64_t to_write = std::count(keep.begin(), keep.end(), true);
  if (to_write > 0) {
    report.space_id = upsert_space(store, target_space(store, request, report.dims));
    // Pass 2: read again and commit each track in its own transaction.
    for (size_t a = 0; a < accepted.size(); ++a) {
      if (!keep[a]) continue;
      const TrackKey& track = index.tracks[accepted[a].track];
      NpyArray array;
      std::string problem = check_file(accepted[a].file, track, array);
      if (problem.empty() && array.shape[1] != report.dims)
        problem = accepted[a].file.string() + ": changed during the import";
      if (problem.empty()) {
        try {
          const SpaceVectors vectors{report.space_id, array.data};
          add_track_vectors(store, track.id, std::span<const SpaceVectors>(&vectors, 1));
          ++report.imported;
          report.matched_by_name += accepted[a].by_name_only;
          continue;
        } catch (const Error& error) {
          problem = accepted[a].file.string() + ": " + error.what();
        }
      }
      report.rejected.push_back({accepted[a].file.string(), problem});
    }
  } else if (report.dims > 0) {
    target_space(store, request, report.dims);  // still report a bad --dim-names or space clash
  }
  std::sort(report.rejected.begin(), report.rejected.end(),
            [](const ImportProblem& a, const ImportProblem& b) { return a.file < b.file; });
  report.tracks_without_file = static_cast<int64_t>(index.tracks.size()) - report.imported;
  return report;
}

}  // namespace tagscape
