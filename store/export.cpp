#include "store/export.h"

#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/error.h"
#include "common/npy.h"

namespace tagscape {

namespace {

namespace fs = std::filesystem;

// What one export writes: the space, its rows, and for each exported track its
// metadata and segment times (parallel to matrix.track_ids).
struct ExportTable {
  Space space;
  SpaceMatrix matrix;                         // per-segment rows, or per-track means if averaged
  std::vector<Track> tracks;                  // matrix.track_ids order
  std::vector<std::vector<Segment>> segments; // per track, time order
  bool averaged = false;
};

std::string available_spaces(Store& store) {
  std::string names;
  for (const Space& space : list_spaces(store)) names += (names.empty() ? "" : ", ") + space.name;
  return names.empty() ? "(none: run `tagscape analyze` first)" : names;
}

// Replaces each track's rows by their mean (in double), so row i = track i.
void average_rows(SpaceMatrix& matrix) {
  const int64_t dims = matrix.dims;
  std::vector<float> means(matrix.track_ids.size() * dims);
  std::vector<double> sum(dims);
  for (size_t t = 0; t < matrix.track_ids.size(); ++t) {
    std::fill(sum.begin(), sum.end(), 0.0);
    const int64_t first = matrix.segment_offsets[t], last = matrix.segment_offsets[t + 1];
    for (int64_t row = first; row < last; ++row)
      for (int64_t d = 0; d < dims; ++d) sum[d] += matrix.values[row * dims + d];
    for (int64_t d = 0; d < dims; ++d) means[t * dims + d] = static_cast<float>(sum[d] / std::max<int64_t>(last - first, 1));
  }
  matrix.values = std::move(means);
  for (size_t t = 0; t <= matrix.track_ids.size(); ++t) matrix.segment_offsets[t] = static_cast<int64_t>(t);
}

ExportTable load_table(Store& store, const std::string& space_name, bool average) {
  ExportTable table;
  std::optional<Space> space = find_space(store, space_name);
  if (!space)
    throw Error("no space '" + space_name + "' in " + store.path + "; available: " + available_spaces(store));
  table.space = *space;
  table.matrix = read_space(store, space->id);

  // read_space is one snapshot, the reads below are others: a concurrent `analyze`
  // may commit in between, which shows as a missing track or a changed segment count.
  std::unordered_map<int64_t, Track> tracks_by_id;
  for (Track& track : list_tracks(store)) tracks_by_id.emplace(track.id, std::move(track));
  const auto changed = [&] { return Error(store.path + ": the collection changed during the export; run it again"); };
  for (size_t t = 0; t < table.matrix.track_ids.size(); ++t) {
    const auto found = tracks_by_id.find(table.matrix.track_ids[t]);
    if (found == tracks_by_id.end()) throw changed();
    std::vector<Segment> segments = read_segments(store, found->first);
    if (static_cast<int64_t>(segments.size()) != table.matrix.segment_offsets[t + 1] - table.matrix.segment_offsets[t])
      throw changed();
    table.tracks.push_back(std::move(found->second));
    table.segments.push_back(std::move(segments));
  }
  if (average) average_rows(table.matrix);
  table.averaged = average;
  return table;
}

// ---- text output -------------------------------------------------------------------

// A file written under a temporary name and renamed onto `path` by commit(); removed
// if never committed (an exception on the way out leaves no half file).
struct PendingFile {
  std::string path;       // final name
  std::string temp_path;  // hidden sibling: same directory, so rename() is atomic
  std::string label;      // the name errors give (the user's output path)
  FILE* file = nullptr;
  std::string buffer;     // flushed in ~1 MiB writes

  PendingFile(const std::string& final_path, const std::string& temp, const std::string& shown)
      : path(final_path), temp_path(temp), label(shown) {
    file = std::fopen(temp_path.c_str(), "wb");
    if (!file) throw Error(label + ": cannot write (" + std::strerror(errno) + ")");
  }
  ~PendingFile() {
    if (file) std::fclose(file);
    if (!temp_path.empty()) std::remove(temp_path.c_str());
  }
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  void append(std::string_view text) {
    buffer.append(text);
    if (buffer.size() >= (1 << 20)) flush();
  }
  void flush() {
    if (!buffer.empty() && std::fwrite(buffer.data(), 1, buffer.size(), file) != buffer.size())
      throw Error(label + ": write failed (" + std::strerror(errno) + ")");
    buffer.clear();
  }
  // Data on disk before the rename, so a power loss shows the old file or the new one.
  void commit() {
    flush();
    const bool written = std::fflush(file) == 0 && fsync(fileno(file)) == 0;
    const int saved_errno = errno;
    std::fclose(file);
    file = nullptr;
    if (!written) throw Error(label + ": write failed (" + std::strerror(saved_errno) + ")");
    std::error_code error;
    fs::rename(temp_path, path, error);
    if (error) throw Error(label + ": cannot rename the finished file into place (" + error.message() + ")");
    temp_path.clear();
  }
};

// "out/", "./out" and "." all name a directory entry: make the name absolute and drop a
// trailing separator so that the sibling lands next to it, not inside it.
fs::path entry_path(const std::string& path) {
  fs::path entry = fs::absolute(path).lexically_normal();
  return entry.has_filename() ? entry : entry.parent_path();
}

// A hidden name in the same directory as `path` (so rename() onto it is atomic).
std::string temp_sibling(const std::string& path) {
  const fs::path entry = entry_path(path);
  std::string name = ".";
  name += entry.filename().string();
  name += ".tmp-";
  name += std::to_string(getpid());
  return (entry.parent_path() / name).string();
}

template <typename Number>
void append_number(std::string& out, Number value) {
  if (!std::isfinite(value)) {
    out += std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf";
    return;
  }
  char text[64];
  const auto result = std::to_chars(text, text + sizeof text, value);
  assert(result.ec == std::errc());
  out.append(text, result.ptr);
}

template <typename Number>
void append_json_number(std::string& out, Number value) {
  if (!std::isfinite(value)) out += "null";                     // JSON has no NaN/Infinity
  else if (value == 0 && std::signbit(value)) out += "-0.0";  // "-0" parses as the integer 0
  else append_number(out, value);
}

std::string json_string(const std::string& text) {
  // Paths need not be UTF-8 on Linux: invalid bytes become U+FFFD rather than an exception.
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_csv_line(std::string& out, const std::vector<std::string>& fields) {
  for (size_t k = 0; k < fields.size(); ++k) {
    if (k) out += ',';
    out += csv_field(fields[k]);
  }
  out += '\n';
}

void append_vector_csv(std::string& out, const float* row, int dims) {
  for (int d = 0; d < dims; ++d) {
    out += ',';
    append_number(out, row[d]);
  }
}

std::vector<std::string> track_columns(const Track& track) {
  return {track.file.path,        track.metadata.title, track.metadata.artist,
          track.metadata.album,   track.metadata.genre, std::to_string(track.metadata.year),
          std::to_string(track.metadata.track_number)};
}

void write_csv(const ExportTable& table, PendingFile& out) {
  const int dims = table.matrix.dims;
  std::vector<std::string> header = table.averaged
      ? std::vector<std::string>{"track_id", "path", "title", "artist", "album", "genre", "year", "track_number", "duration_s", "segments"}
      : std::vector<std::string>{"track_id", "path", "segment_index", "start_s", "end_s"};
  for (const std::string& name : dim_column_names(table.space)) header.push_back(name);
  std::string line;
  append_csv_line(line, header);
  out.append(line);
  for (size_t t = 0; t < table.tracks.size(); ++t) {
    const Track& track = table.tracks[t];
    const std::string path = csv_field(track.file.path);
    if (table.averaged) {
      line.clear();
      std::vector<std::string> fields = track_columns(track);
      line += std::to_string(track.id);
      for (const std::string& field : fields) {
        line += ',';
        line += csv_field(field);
      }
      line += ',';
      append_number(line, track.duration_s);
      line += ',';
      line += std::to_string(track.segment_count);
      append_vector_csv(line, &table.matrix.values[t * dims], dims);
      line += '\n';
      out.append(line);
      continue;
    }
    for (size_t s = 0; s < table.segments[t].size(); ++s) {
      line.clear();
      line += std::to_string(track.id) + "," + path + "," + std::to_string(s) + ",";
      append_number(line, table.segments[t][s].start_s);
      line += ',';
      append_number(line, table.segments[t][s].end_s);
      append_vector_csv(line, &table.matrix.values[(table.matrix.segment_offsets[t] + s) * dims], dims);
      line += '\n';
      out.append(line);
    }
  }
}

void append_vector_json(std::string& out, const float* row, int dims) {
  out += "\"vector\":[";
  for (int d = 0; d < dims; ++d) {
    if (d) out += ',';
    append_json_number(out, row[d]);
  }
  out += "]}\n";
}

void write_jsonl(const ExportTable& table, PendingFile& out) {
  const int dims = table.matrix.dims;
  std::string line;
  for (size_t t = 0; t < table.tracks.size(); ++t) {
    const Track& track = table.tracks[t];
    const std::string head = "{\"track_id\":" + std::to_string(track.id) + ",\"path\":" + json_string(track.file.path);
    if (table.averaged) {
      const TrackMetadata& m = track.metadata;
      line = head + ",\"title\":" + json_string(m.title) + ",\"artist\":" + json_string(m.artist) +
             ",\"album\":" + json_string(m.album) + ",\"genre\":" + json_string(m.genre) +
             ",\"year\":" + std::to_string(m.year) + ",\"track_number\":" + std::to_string(m.track_number) +
             ",\"duration_s\":";
      append_json_number(line, track.duration_s);
      line += ",\"segments\":" + std::to_string(track.segment_count) + ",";
      append_vector_json(line, &table.matrix.values[t * dims], dims);
      out.append(line);
      continue;
    }
    for (size_t s = 0; s < table.segments[t].size(); ++s) {
      line = head + ",\"segment_index\":" + std::to_string(s) + ",\"start_s\":";
      append_json_number(line, table.segments[t][s].start_s);
      line += ",\"end_s\":";
      append_json_number(line, table.segments[t][s].end_s);
      line += ',';
      append_vector_json(line, &table.matrix.values[(table.matrix.segment_offsets[t] + s) * dims], dims);
      out.append(line);
    }
  }
}

// ---- npy directory -----------------------------------------------------------------

void write_segments_csv(const ExportTable& table, PendingFile& out) {
  std::string text = "row,track_id,segment_index,start_s,end_s\n";
  for (size_t t = 0; t < table.tracks.size(); ++t) {
    for (size_t s = 0; s < table.segments[t].size(); ++s) {
      text += std::to_string(table.matrix.segment_offsets[t] + s) + "," + std::to_string(table.tracks[t].id) + "," +
              std::to_string(s) + ",";
      append_number(text, table.segments[t][s].start_s);
      text += ',';
      append_number(text, table.segments[t][s].end_s);
      text += '\n';
    }
    out.append(text);
    text.clear();
  }
}

void write_tracks_csv(const ExportTable& table, PendingFile& out) {
  std::string text = "row,track_id,path,title,artist,album,genre,year,track_number,duration_s,segments,first_row\n";
  for (size_t t = 0; t < table.tracks.size(); ++t) {
    const Track& track = table.tracks[t];
    text += std::to_string(t);
    text += ',';
    text += std::to_string(track.id);
    for (const std::string& field : track_columns(track)) {
      text += ',';
      text += csv_field(field);
    }
    text += ',';
    append_number(text, track.duration_s);
    text += ',';
    text += std::to_string(track.segment_count);
    text += ',';
    text += std::to_string(table.matrix.segment_offsets[t]);
    text += '\n';
    out.append(text);
    text.clear();
  }
}

// All files are written into a hidden sibling directory first, then renamed one by one
// into OUT; a failure before the renames leaves OUT untouched.
std::vector<std::string> write_npy_dir(const ExportTable& table, const fs::path& out_dir) {
  std::error_code error;
  if (fs::exists(out_dir, error) && !fs::is_directory(out_dir, error))
    throw Error(out_dir.string() + ": exists and is not a directory (npy export writes a directory)");
  const fs::path staging = temp_sibling(out_dir.string());
  fs::remove_all(staging, error);
  if (!fs::create_directories(staging, error) || error)
    throw Error(out_dir.string() + ": cannot create a directory next to it (" + error.message() + ")");
  struct RemoveStaging {
    fs::path path;
    ~RemoveStaging() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } remove_staging{staging};

  std::vector<std::string> names = {"vectors.npy"};
  const int64_t rows = table.matrix.segment_offsets.back();
  write_npy((staging / "vectors.npy").string(), {rows, table.matrix.dims}, table.matrix.values.data());
  auto write_text = [&](const std::string& name, auto&& writer) {
    PendingFile file((staging / name).string(), (staging / (name + ".part")).string(), (out_dir / name).string());
    writer(table, file);
    file.commit();  // a rename within staging; the move into OUT is below
    names.push_back(name);
  };
  if (!table.averaged) write_text("segments.csv", write_segments_csv);
  write_text("tracks.csv", write_tracks_csv);
  write_text("dims.json", [](const ExportTable& t, PendingFile& file) {
    file.append(nlohmann::json(dim_column_names(t.space)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  });

  fs::create_directories(out_dir, error);
  if (error) throw Error(out_dir.string() + ": cannot create directory (" + error.message() + ")");
  std::vector<std::string> files;
  for (const std::string& name : names) {
    fs::rename(staging / name, out_dir / name, error);
    if (error) throw Error((out_dir / name).string() + ": cannot move into place (" + error.message() + ")");
    files.push_back((out_dir / name).string());
  }
  // An earlier per-segment export's index would not describe averaged rows.
  if (table.averaged) fs::remove(out_dir / "segments.csv", error);
  return files;
}

}  // namespace

std::optional<ExportFormat> parse_export_format(const std::string& text) {
  if (text == "npy") return ExportFormat::npy;
  if (text == "csv") return ExportFormat::csv;
  if (text == "jsonl") return ExportFormat::jsonl;
  return std::nullopt;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string shortest_decimal(float value) {
  std::string text;
  append_number(text, value);
  return text;
}

std::string shortest_decimal(double value) {
  std::string text;
  append_number(text, value);
  return text;
}

std::vector<std::string> dim_column_names(const Space& space) {
  if (static_cast<int>(space.dim_names.size()) == space.dims) return space.dim_names;
  std::vector<std::string> names;
  for (int d = 0; d < space.dims; ++d) {
    std::string name = "d";
    names.push_back(name += std::to_string(d));
  }
  return names;
}

ExportSummary export_space(Store& store, const ExportRequest& request) {
  assert(!request.out_path.empty());
  const ExportTable table = load_table(store, request.space_name, request.average);
  ExportSummary summary;
  summary.tracks = static_cast<int64_t>(table.tracks.size());
  summary.rows = table.matrix.segment_offsets.back();
  summary.dims = table.matrix.dims;
  if (request.format == ExportFormat::npy) {
    summary.files = write_npy_dir(table, request.out_path);
    return summary;
  }
  fs::path out = request.out_path;
  std::error_code error;
  if (fs::is_directory(out, error)) throw Error(request.out_path + ": is a directory (csv/jsonl export writes one file)");
  PendingFile file(request.out_path, temp_sibling(request.out_path), request.out_path);
  if (request.format == ExportFormat::csv) write_csv(table, file);
  else write_jsonl(table, file);
  file.commit();
  summary.files = {request.out_path};
  return summary;
}

}  // namespace tagscape
