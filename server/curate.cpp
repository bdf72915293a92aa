#include "server/curate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "projection/original.h"
#include "projection/pca.h"
#include "projection/select.h"
#include "server/points.h"
#include "server/server_state.h"

namespace tagscape::server {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxPlaylistTracks = 100'000;  // ids in one playlist request
constexpr int64_t kMaxWalkSteps = 1000;
constexpr int64_t kMaxWalkK = 1000;              // as /api/knn
constexpr double kMaxGoalWeight = 1000;          // |weight| of one goal term
constexpr int64_t kMaxAxesTop = 1000;

// ---- parameter helpers ------------------------------------------------------------

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    const size_t end = text.find(separator, begin);
    parts.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

std::string required_param(const QueryParams& params, const std::string& name, const std::string& what) {
  const auto text = param(params, name);
  if (!text || text->empty()) throw RequestError(400, name + ": required (" + what + ")");
  return *text;
}

// A comma-separated list of integers in [min, max], at most max_count of them.
std::vector<int64_t> int_list_param(const QueryParams& params, const std::string& name, const std::string& what,
                                    int64_t min, int64_t max, int64_t max_count) {
  const std::vector<std::string> parts = split(required_param(params, name, what), ',');
  if (static_cast<int64_t>(parts.size()) > max_count)
    throw RequestError(400, name + ": at most " + std::to_string(max_count) + " values, got " + std::to_string(parts.size()));
  std::vector<int64_t> values;
  values.reserve(parts.size());
  for (const std::string& part : parts) values.push_back(parse_int(name, part, min, max));
  return values;
}

// The selection /api/points would use for the same space/tracks/seed/granularity (and
// method/x/y): parsed by parse_points_request itself so both endpoints validate alike.
PointsRequest points_request_of(const QueryParams& params, const Space& space) {
  QueryParams subset;
  for (const char* name : {"space", "tracks", "seed", "granularity", "method", "x", "y"})
    if (const auto value = param(params, name)) subset.emplace(name, *value);
  return parse_points_request(subset, space);
}

// select_points as /api/points runs it: 404 when the space has no analysed tracks, 413 above kMaxPoints.
// Caller holds server.compute_mutex.
PointSet select_or_throw(Store& store, const PointsRequest& request) {
  const Selection selection{.space = request.space, .track_count = request.all_tracks ? -1 : request.tracks,
                            .seed = request.seed, .granularity = request.granularity};
  PointSet points;
  try {
    points = select_points(store, selection);
  } catch (const Error& error) {
    throw RequestError(404, error.what());
  }
  if (points.n > kMaxPoints)
    throw RequestError(413, "the selection has " + std::to_string(points.n) + " points; at most " +
                                std::to_string(kMaxPoints) + " per request (fewer tracks, or granularity=averages)");
  return points;
}

// ---- goals and tag values -----------------------------------------------------------

// The space whose dims name tags/moods for `space`: the `name` parameter if given, else
// moods for moods, else "<model>/taggrams".
std::string default_tag_space_name(const Space& space) {
  return space.kind == SpaceKind::moods ? space.name : space.model.empty() ? std::string() : space.model + "/taggrams";
}

Space tag_space_for(Store& store, const QueryParams& params, const std::string& name, const Space& space) {
  if (const auto given = param(params, name)) return find_space_or_404(store, given);
  const std::string fallback = default_tag_space_name(space);
  if (const auto found = fallback.empty() ? std::nullopt : find_space(store, fallback)) return *found;
  throw RequestError(400, name + ": required for space '" + space.name + "' (no " +
                              (fallback.empty() ? "model taggrams" : "space '" + fallback + "'") +
                              " to default to; give a space name from /api/summary)");
}

struct GoalTerm {
  std::string name;  // as the space names the dim (or its index when unnamed)
  int dim;           // 0..space.dims-1, each at most once per goal
  double weight;     // -kMaxGoalWeight..kMaxGoalWeight; negative = away from that tag
};

struct Goal {
  Space space;                  // where the dims live (goal_space)
  std::vector<GoalTerm> terms;  // at least one
};

std::string dim_name(const Space& space, int dim) {
  return dim < static_cast<int>(space.dim_names.size()) ? space.dim_names[dim] : std::to_string(dim);
}

// "name:weight" (weight 1 when ":weight" is left out). The name is split at the LAST
// colon so tag names containing one still work.
GoalTerm parse_goal_term(const Space& space, const std::string& text) {
  const size_t colon = text.rfind(':');
  const std::string name = text.substr(0, colon);
  const double weight =
      colon == std::string::npos ? 1.0 : parse_double("goal", text.substr(colon + 1), -kMaxGoalWeight, kMaxGoalWeight);
  if (name.empty()) throw RequestError(400, "goal: empty tag name in '" + text.substr(0, 64) + "' (expected name:weight)");
  int dim = 0;
  try {
    dim = resolve_dim(space, name);
  } catch (const Error& error) {
    throw RequestError(400, std::string("goal: ") + error.what());
  }
  return {dim_name(space, dim), dim, weight};
}

Goal parse_goal(Store& store, const QueryParams& params, const Space& space) {
  Goal goal{tag_space_for(store, params, "goal_space", space), {}};
  const std::string text = required_param(params, "goal", "name:weight,... e.g. happy:1,vocals:-0.5");
  const std::vector<std::string> parts = split(text, ',');
  if (static_cast<int>(parts.size()) > goal.space.dims)
    throw RequestError(400, "goal: " + std::to_string(parts.size()) + " terms, but the space '" + goal.space.name +
                                "' has only " + std::to_string(goal.space.dims) + " dims");
  for (const std::string& part : parts) {
    GoalTerm term = parse_goal_term(goal.space, part);
    for (const GoalTerm& earlier : goal.terms)
      if (earlier.dim == term.dim) throw RequestError(400, "goal: '" + term.name + "' given more than once");
    goal.terms.push_back(std::move(term));
  }
  return goal;
}

json goal_json(const Goal& goal) {
  json terms = json::array();
  for (const GoalTerm& t : goal.terms) terms.push_back({{"name", t.name}, {"dim", t.dim}, {"weight", t.weight}});
  return terms;
}

double goal_score(const Goal& goal, const double* row) {
  double score = 0;
  for (const GoalTerm& t : goal.terms) score += t.weight * row[t.dim];
  return score;
}

// The values of `space` for rows [begin, end) of `points`, all of one track: row r gets
// the track's segment points.segment_index[r], or for an average row (-1) the mean over
// its segments. [(end - begin) x space.dims]; empty when the track has no (matching)
// vectors in that space.
std::vector<double> tag_rows(Store& store, const Space& space, const PointSet& points, int64_t begin, int64_t end) {
  TrackVectors vectors;
  try {
    vectors = read_track_vectors(store, points.track_ids[begin], space.id);
  } catch (const Error&) {
    return {};  // not analysed with that model (or an unreadable blob): no values
  }
  if (vectors.dims != space.dims || vectors.segments < 1) return {};
  const int dims = vectors.dims;
  std::vector<double> mean(dims, 0.0);
  for (int s = 0; s < vectors.segments; ++s)
    for (int d = 0; d < dims; ++d) mean[d] += vectors.values[int64_t(s) * dims + d] / vectors.segments;
  std::vector<double> rows;
  rows.reserve((end - begin) * dims);
  for (int64_t r = begin; r < end; ++r) {
    const int32_t segment = points.segment_index[r];
    if (segment >= vectors.segments) return {};
    if (segment < 0) rows.insert(rows.end(), mean.begin(), mean.end());
    else rows.insert(rows.end(), vectors.values.begin() + int64_t(segment) * dims,
                     vectors.values.begin() + int64_t(segment + 1) * dims);
  }
  return rows;
}

// Calls fn(begin, end) for every run of rows of one track (select_points keeps them together).
template <typename Fn>
void for_each_track_run(const PointSet& points, Fn fn) {
  for (int64_t begin = 0, end = 0; begin < points.n; begin = end) {
    end = begin + 1;
    while (end < points.n && points.track_ids[end] == points.track_ids[begin]) ++end;
    fn(begin, end);
  }
}

// A track's goal score (goal on the mean of its segments), or nullopt without goal-space vectors.
std::optional<double> track_score(Store& store, const Goal& goal, int64_t track_id) {
  const PointSet one{.n = 1, .dims = 1, .values = {0}, .track_ids = {track_id}, .segment_index = {-1}, .std = {}};
  const std::vector<double> row = tag_rows(store, goal.space, one, 0, 1);
  if (row.empty()) return std::nullopt;
  return goal_score(goal, row.data());
}

// ---- /api/playlist ------------------------------------------------------------------

struct PlaylistEntry {
  Track track;
  std::optional<int64_t> selected_segments;  // from counts=, summed over repeated ids
  std::string path;                           // absolute, or relative to the playlist's base
};

std::string one_line(std::string text) {
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

// The deepest directory that contains every file (lexically; "/" at worst).
fs::path common_parent(const std::vector<PlaylistEntry>& entries) {
  fs::path base = fs::path(entries.front().track.file.path).lexically_normal().parent_path();
  for (const PlaylistEntry& entry : entries) {
    const fs::path dir = fs::path(entry.track.file.path).lexically_normal().parent_path();
    fs::path shared;
    for (auto a = base.begin(), b = dir.begin(); a != base.end() && b != dir.end() && *a == *b; ++a, ++b) shared /= *a;
    base = shared;
  }
  return base;
}

std::string extinf_label(const Track& track) {
  const std::string title = track.metadata.title.empty() ? base_name(track.file.path) : track.metadata.title;
  return one_line(track.metadata.artist.empty() ? title : track.metadata.artist + " - " + title);
}

std::string m3u8_body(const std::vector<PlaylistEntry>& entries, const std::optional<fs::path>& base) {
  std::string body = "#EXTM3U\n";
  if (base) body += "# base: " + one_line(base->string()) + "\n";
  for (const PlaylistEntry& e : entries) {
    if (e.path.find_first_of("\r\n") != std::string::npos) {  // M3U has no way to write it
      body += "# skipped track " + std::to_string(e.track.id) + ": its path contains a line break\n";
      continue;
    }
    body += "#EXTINF:" + std::to_string(std::lround(e.track.duration_s)) + "," + extinf_label(e.track) + "\n";
    body += e.path + "\n";
  }
  return body;
}

// ref: RFC 4180 section 2: fields with , " CR or LF are quoted, quotes doubled; lines end CRLF.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_body(const std::vector<PlaylistEntry>& entries) {
  std::string body = "track_id,path,artist,title,album,duration_s,selected_segments\r\n";
  char duration[32];
  for (const PlaylistEntry& e : entries) {
    std::snprintf(duration, sizeof duration, "%.3f", e.track.duration_s);
    const Track& t = e.track;
    body += std::to_string(t.id) + "," + csv_field(e.path) + "," + csv_field(t.metadata.artist) + "," +
            csv_field(t.metadata.title) + "," + csv_field(t.metadata.album) + "," + duration + "," +
            (e.selected_segments ? std::to_string(*e.selected_segments) : "") + "\r\n";
  }
  return body;
}

// The listed tracks in order, duplicates dropped (their counts added to the first).
std::vector<PlaylistEntry> playlist_entries(Server& server, Store& store, const QueryParams& params) {
  const std::vector<int64_t> ids =
      int_list_param(params, "tracks", "comma-separated track ids from /api/tracks", 0, INT32_MAX, kMaxPlaylistTracks);
  std::optional<std::vector<int64_t>> counts;
  if (param(params, "counts")) {
    counts = int_list_param(params, "counts", "one count per track id", 0, INT32_MAX, kMaxPlaylistTracks);
    if (counts->size() != ids.size())
      throw RequestError(400, "counts: " + std::to_string(counts->size()) + " values for " + std::to_string(ids.size()) +
                                  " track ids (give one per id)");
  }
  std::vector<PlaylistEntry> entries;
  std::map<int64_t, size_t> position;  // track id -> index in entries
  for (size_t i = 0; i < ids.size(); ++i) {
    auto [at, added] = position.emplace(ids[i], entries.size());
    if (added) entries.push_back({find_track(server, store, ids[i]), counts ? std::optional<int64_t>(0) : std::nullopt, {}});
    if (counts) *entries[at->second].selected_segments += (*counts)[i];
  }
  return entries;
}

void handle_playlist(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"tracks", "format", "paths", "counts", "token"});
  const std::string format = choice_param(req.params, "format", "m3u8", {"m3u8", "csv"});
  const bool relative = choice_param(req.params, "paths", "absolute", {"absolute", "relative"}) == "relative";
  BorrowedStore store(server.stores);
  std::vector<PlaylistEntry> entries = playlist_entries(server, store.store, req.params);
  std::optional<fs::path> base;
  if (relative) base = common_parent(entries);
  for (PlaylistEntry& e : entries) {
    const fs::path path = fs::path(e.track.file.path).lexically_normal();
    e.path = base ? path.lexically_relative(*base).string() : path.string();
  }
  if (base) res.set_header("X-Playlist-Base", one_line(base->string()));
  res.set_header("Content-Disposition", "attachment; filename=\"tagscape-playlist." + format + "\"");
  res.set_header("Cache-Control", "no-store");
  if (format == "m3u8") res.set_content(m3u8_body(entries, base), "audio/x-mpegurl; charset=utf-8");
  else res.set_content(csv_body(entries), "text/csv; charset=utf-8");
}

// ---- /api/walk -----------------------------------------------------------------------

struct WalkStep {
  int64_t track;
  double score;    // goal score, > the previous step's
  float distance;  // from the previous track in the walk's space (metric of the index)
};

struct Walk {
  std::vector<WalkStep> path;
  bool ran_all_steps = false;  // else no unvisited neighbour improved the score
};

// The nearest of the k nearest unvisited neighbours of `row` scoring above `score`.
std::optional<WalkStep> next_step(Store& store, const KnnIndex& index, const Goal& goal, int64_t row, double score,
                                  int k, const std::set<int64_t>& visited,
                                  std::map<int64_t, std::optional<double>>& scores) {
  if (k < 1) return std::nullopt;
  for (const Neighbor& near : knn_of_row(index, row, k)) {
    const int64_t track = index.track_ids[near.row];
    if (visited.count(track)) continue;
    auto cached = scores.find(track);
    if (cached == scores.end()) cached = scores.emplace(track, track_score(store, goal, track)).first;
    if (cached->second && *cached->second > score) return WalkStep{track, *cached->second, near.distance};
  }
  return std::nullopt;
}

Walk walk_towards(Store& store, const KnnIndex& index, const Goal& goal, int64_t start_row, double start_score,
                  int64_t steps, int64_t k) {
  const int k_used = static_cast<int>(std::min<int64_t>(k, index.n - 1));
  std::set<int64_t> visited{index.track_ids[start_row]};
  std::map<int64_t, std::optional<double>> scores;
  Walk walk;
  int64_t row = start_row;
  double score = start_score;
  for (int64_t s = 0; s < steps; ++s) {
    const auto step = next_step(store, index, goal, row, score, k_used, visited, scores);
    if (!step) return walk;
    walk.path.push_back(*step);
    visited.insert(step->track);
    row = find_row(index, step->track, -1);
    score = step->score;
  }
  walk.ran_all_steps = true;
  return walk;
}

void handle_walk(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"space", "from", "goal", "goal_space", "steps", "k", "metric", "token"});
  BorrowedStore store(server.stores);
  const Space space = find_space_or_404(store.store, param(req.params, "space"));
  const int64_t from = parse_int("from", required_param(req.params, "from", "a track id from /api/tracks"), 0, INT32_MAX);
  const Goal goal = parse_goal(store.store, req.params, space);
  const int64_t steps = int_param(req.params, "steps", 10, 1, kMaxWalkSteps);
  const int64_t k = int_param(req.params, "k", 15, 1, kMaxWalkK);
  const Metric metric = choice_param(req.params, "metric", "cosine", {"cosine", "euclidean"}) == "cosine"
                            ? Metric::cosine : Metric::euclidean;
  find_track(server, store.store, from);
  const auto start_score = track_score(store.store, goal, from);
  if (!start_score)
    throw RequestError(404, "track " + std::to_string(from) + " has no vectors in goal space '" + goal.space.name + "'");
  const auto index = knn_index_for(server, store.store, space, Granularity::averages, metric);
  const int64_t row = find_row(*index, from, -1);
  if (row < 0) throw RequestError(404, "track " + std::to_string(from) + " has no vectors in space '" + space.name + "'");
  const Walk walk = walk_towards(store.store, *index, goal, row, *start_score, steps, k);
  json path = json::array();
  for (const WalkStep& s : walk.path) path.push_back({{"track", s.track}, {"score", s.score}, {"distance", s.distance}});
  send_json(res, {{"goal", goal_json(goal)}, {"goal_space", goal.space.name},
                  {"start", {{"track", from}, {"score", *start_score}}}, {"path", path},
                  {"stopped", walk.ran_all_steps ? "steps" : "no_better_neighbour"}});
}

// ---- /api/scores ---------------------------------------------------------------------

// Goal score of every row of `points`; NaN for rows whose track has no goal-space vectors.
std::vector<float> point_scores(Store& store, const Goal& goal, const PointSet& points) {
  std::vector<float> scores(points.n, std::numeric_limits<float>::quiet_NaN());
  for_each_track_run(points, [&](int64_t begin, int64_t end) {
    const std::vector<double> rows = tag_rows(store, goal.space, points, begin, end);
    if (rows.empty()) return;
    for (int64_t r = begin; r < end; ++r)
      scores[r] = static_cast<float>(goal_score(goal, rows.data() + (r - begin) * goal.space.dims));
  });
  return scores;
}

void handle_scores(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"space", "tracks", "seed", "granularity", "goal", "goal_space", "token"});
  BorrowedStore store(server.stores);
  const Space space = find_space_or_404(store.store, param(req.params, "space"));
  const PointsRequest request = points_request_of(req.params, space);
  const Goal goal = parse_goal(store.store, req.params, space);
  std::lock_guard compute(server.compute_mutex);
  const PointSet points = select_or_throw(store.store, request);
  const std::vector<float> scores = point_scores(store.store, goal, points);
  float lo = INFINITY, hi = -INFINITY;
  int64_t missing = 0;
  for (float s : scores) {
    missing += std::isnan(s);
    if (!std::isnan(s)) lo = std::min(lo, s), hi = std::max(hi, s);
  }
  const bool any = missing < points.n;
  json header = {{"kind", "scores"}, {"n", points.n}, {"goal", goal_json(goal)}, {"goal_space", goal.space.name},
                 {"min", any ? json(lo) : json(nullptr)}, {"max", any ? json(hi) : json(nullptr)}};
  header["missing"] = missing;
  std::vector<int32_t> track(points.track_ids.begin(), points.track_ids.end());  // ids are <= INT32_MAX
  const FrameArray arrays[] = {{"score", "f32", scores.data(), scores.size()},
                               {"track", "i32", track.data(), track.size()},
                               {"segment", "i32", points.segment_index.data(), points.segment_index.size()}};
  res.set_content(encode_frame(std::move(header), arrays), "application/octet-stream");
}

// ---- /api/axes -----------------------------------------------------------------------

// Sums for Pearson's r between each tag dim and each PCA component over the rows that
// have tag values. Tag values are shifted by their first value (the shifted-data
// algorithm: no cancellation when a tag's variance is small next to its mean);
// components are already centred by PCA.
struct CorrelationSums {
  int64_t n = 0;
  std::vector<double> c, cc;      // [components] sum of c, c^2
  std::vector<double> shift;      // [dims] first value of each tag
  std::vector<double> t, tt;      // [dims] sum of (t - shift), its square
  std::vector<double> tc;         // [components, dims] sum of (t - shift) * c
};

void add_row(CorrelationSums& sums, const double* tags, const std::vector<double>& components) {
  const size_t dims = sums.t.size();
  if (sums.n++ == 0) sums.shift.assign(tags, tags + dims);
  for (size_t a = 0; a < components.size(); ++a) {
    sums.c[a] += components[a];
    sums.cc[a] += components[a] * components[a];
  }
  for (size_t d = 0; d < dims; ++d) {
    const double t = tags[d] - sums.shift[d];
    sums.t[d] += t;
    sums.tt[d] += t * t;
    for (size_t a = 0; a < components.size(); ++a) sums.tc[a * dims + d] += t * components[a];
  }
}

// Pearson r of tag `dim` with component `a`, or nullopt when either is constant.
std::optional<double> pearson(const CorrelationSums& s, size_t a, size_t dim) {
  const double n = static_cast<double>(s.n);
  const double mean_t = s.t[dim] / n, mean_c = s.c[a] / n;
  const double var_t = s.tt[dim] / n - mean_t * mean_t, var_c = s.cc[a] / n - mean_c * mean_c;
  const double cov = s.tc[a * s.t.size() + dim] / n - mean_t * mean_c;
  // A variance at rounding-noise level (constant tag or component) has no meaningful r.
  if (s.n < 2 || !(var_t > 1e-12 * s.tt[dim] / n) || !(var_c > 1e-12 * s.cc[a] / n)) return std::nullopt;
  return std::clamp(cov / std::sqrt(var_t * var_c), -1.0, 1.0);
}

CorrelationSums correlation_sums(Store& store, const Space& tags, const PointSet& points, const Layout& layout,
                                 const std::vector<int>& components) {
  CorrelationSums sums;
  sums.c.assign(components.size(), 0);
  sums.cc = sums.c;
  sums.t.assign(tags.dims, 0);
  sums.tt = sums.t;
  sums.tc.assign(components.size() * tags.dims, 0);
  std::vector<double> c(components.size());
  for_each_track_run(points, [&](int64_t begin, int64_t end) {
    const std::vector<double> rows = tag_rows(store, tags, points, begin, end);
    for (int64_t r = begin; r < end && !rows.empty(); ++r) {
      for (size_t a = 0; a < components.size(); ++a) c[a] = layout.coords[r * layout.out_dims + components[a]];
      add_row(sums, rows.data() + (r - begin) * tags.dims, c);
    }
  });
  return sums;
}

// {"component", "positive": top r > 0 descending, "negative": top r < 0 ascending}.
json axis_json(const CorrelationSums& sums, const Space& tags, size_t a, int component, int64_t top) {
  std::vector<std::pair<double, int>> r_dims;
  for (int d = 0; d < tags.dims; ++d)
    if (const auto r = pearson(sums, a, d)) r_dims.push_back({*r, d});
  std::sort(r_dims.begin(), r_dims.end());
  json positive = json::array(), negative = json::array();
  for (auto it = r_dims.rbegin(); it != r_dims.rend() && it->first > 0 && int64_t(positive.size()) < top; ++it)
    positive.push_back({{"name", dim_name(tags, it->second)}, {"dim", it->second}, {"r", it->first}});
  for (auto it = r_dims.begin(); it != r_dims.end() && it->first < 0 && int64_t(negative.size()) < top; ++it)
    negative.push_back({{"name", dim_name(tags, it->second)}, {"dim", it->second}, {"r", it->first}});
  return {{"component", component}, {"positive", positive}, {"negative", negative}};
}

void handle_axes(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"space", "tracks", "seed", "granularity", "method", "x", "y", "tags", "top", "token"});
  choice_param(req.params, "method", "pca", {"pca", "std-pca"});
  BorrowedStore store(server.stores);
  const Space space = find_space_or_404(store.store, param(req.params, "space"));
  const PointsRequest request = points_request_of(req.params, space);
  const Space tags = tag_space_for(store.store, req.params, "tags", space);
  const int64_t top = int_param(req.params, "top", 3, 1, kMaxAxesTop);
  std::lock_guard compute(server.compute_mutex);
  const PointSet points = select_or_throw(store.store, request);
  Layout layout;
  try {
    layout = run_pca(points, {.out_dims = std::max(request.x, request.y) + 1, .standardize = request.method == Method::std_pca});
  } catch (const Error& error) {
    throw RequestError(400, std::string("method=") + method_name(request.method) + ": " + error.what());
  }
  const CorrelationSums sums = correlation_sums(store.store, tags, points, layout, {request.x, request.y});
  json x = axis_json(sums, tags, 0, request.x, top), y = axis_json(sums, tags, 1, request.y, top);
  x["explained_variance_ratio"] = layout.explained_variance_ratio[request.x];
  y["explained_variance_ratio"] = layout.explained_variance_ratio[request.y];
  send_json(res, {{"tags_space", tags.name}, {"method", method_name(request.method)}, {"n", points.n},
                  {"correlated_points", sums.n}, {"axes", {{"x", x}, {"y", y}}}});
}

}  // namespace

void register_curate_routes(Server& server) {
  server.http.Get("/api/playlist", api(server, handle_playlist));
  server.http.Get("/api/walk", api(server, handle_walk));
  server.http.Get("/api/scores", api(server, handle_scores));
  server.http.Get("/api/axes", api(server, handle_axes));
}

std::optional<Space> default_tag_space(Store& store, const Space& space) {
  const std::string name = default_tag_space_name(space);
  return name.empty() ? std::nullopt : find_space(store, name);
}

std::vector<float> tag_values_of_points(Store& store, const Space& tag_space, const PointSet& points) {
  std::vector<float> values(static_cast<size_t>(points.n) * tag_space.dims, std::nanf(""));
  for_each_track_run(points, [&](int64_t begin, int64_t end) {
    const std::vector<double> rows = tag_rows(store, tag_space, points, begin, end);
    if (!rows.empty()) std::copy(rows.begin(), rows.end(), values.begin() + begin * tag_space.dims);
  });
  return values;
}

}  // namespace tagscape::server
