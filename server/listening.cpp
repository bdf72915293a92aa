#include "server/listening.h"

#include <algorithm>
#include <ctime>
#include <random>
#include <set>

#include "server/server_state.h"
#include "store/listening.h"
#include "store/projection_cache.h"

namespace tagscape::server {

namespace {

constexpr size_t kMinSpaces = 2, kMaxSpaces = 4;  // spaces compared in one trial
constexpr int64_t kMaxSeed = 9007199254740991;    // 2^53 - 1: exact as a JavaScript number
constexpr size_t kMaxListenerBytes = 200;
// The four taggers of the paper, in the order we suggest analysing them.
const char* const kTaggers[] = {"msd-musicnn-1", "msd-vgg-1", "mtt-musicnn-1", "mtt-vgg-1"};

// ref: Steele, Lea & Flood, "Fast splittable pseudorandom number generators" (SplitMix64).
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// ---- GET /api/listening/trial ----------------------------------------------------------------

struct AnalysedSpace {
  Space space;
  int64_t tracks;  // 'ok' tracks with vectors in it
};

std::vector<AnalysedSpace> analysed_spaces(Store& store) {
  std::vector<AnalysedSpace> spaces;
  for (SpaceSummary& s : summarize(store).spaces)
    if (s.tracks > 0) spaces.push_back({std::move(s.space), s.tracks});
  return spaces;
}

// `tagscape analyze --models M MUSIC_DIR` for the first paper tagger not yet analysed.
std::string command_adding_a_space(const std::vector<AnalysedSpace>& analysed) {
  for (const char* tagger : kTaggers) {
    const bool done = std::any_of(analysed.begin(), analysed.end(),
                                  [&](const AnalysedSpace& a) { return a.space.name == std::string(tagger) + "/embeddings"; });
    if (!done) return std::string("tagscape analyze --models ") + tagger + " MUSIC_DIR";
  }
  return "tagscape analyze --models msd-musicnn-1 MUSIC_DIR";
}

// Every analysed embeddings space, then the first analysed taggrams space; the first 4.
std::vector<Space> default_trial_spaces(const std::vector<AnalysedSpace>& analysed) {
  std::vector<Space> spaces;
  for (const AnalysedSpace& a : analysed)
    if (a.space.kind == SpaceKind::embeddings) spaces.push_back(a.space);
  for (const AnalysedSpace& a : analysed)
    if (a.space.kind == SpaceKind::taggrams) {
      spaces.push_back(a.space);
      break;
    }
  if (spaces.size() > kMaxSpaces) spaces.resize(kMaxSpaces);
  if (spaces.size() < kMinSpaces) {
    std::string names;
    for (const Space& s : spaces) names += (names.empty() ? "" : ", ") + s.name;
    throw RequestError(409, "the listening test compares at least 2 spaces (embeddings or taggrams) and the collection has " +
                                std::to_string(spaces.size()) + (names.empty() ? "" : " (" + names + ")") +
                                "; add one with `" + command_adding_a_space(analysed) + "`");
  }
  return spaces;
}

// `spaces=A,B,C`: 2..4 distinct existing spaces, each analysed.
std::vector<Space> named_trial_spaces(Store& store, const std::string& list, const std::vector<AnalysedSpace>& analysed) {
  std::vector<std::string> names;
  for (size_t start = 0;;) {
    const size_t comma = list.find(',', start);
    names.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (names.size() < kMinSpaces || names.size() > kMaxSpaces)
    throw RequestError(400, "spaces: expected 2..4 comma-separated space names, got " + std::to_string(names.size()));
  std::vector<Space> spaces;
  for (const std::string& name : names) {
    if (name.empty()) throw RequestError(400, "spaces: an empty space name in '" + list.substr(0, 200) + "'");
    if (std::count(names.begin(), names.end(), name) > 1)
      throw RequestError(400, "spaces: '" + name.substr(0, 100) + "' is named twice");
    Space space = find_space_or_404(store, name);
    const bool has_tracks = std::any_of(analysed.begin(), analysed.end(), [&](const AnalysedSpace& a) { return a.space.id == space.id; });
    if (!has_tracks)
      throw RequestError(409, "space '" + space.name + "' has no analysed tracks" +
                                  (space.model.empty() ? "" : " (add them with `tagscape analyze --models " + space.model + " MUSIC_DIR`)"));
    spaces.push_back(std::move(space));
  }
  return spaces;
}

struct SegmentRef {
  int64_t track_id;
  int segment;
};

// A segment analysed in every one of `spaces`, drawn uniformly with `rng`.
SegmentRef pick_reference(Server& server, Store& store, const std::vector<Space>& spaces, uint64_t& rng) {
  std::vector<int64_t> common = space_track_ids(store, spaces[0].id);  // ascending
  for (size_t i = 1; i < spaces.size(); ++i) {
    const std::vector<int64_t> ids = space_track_ids(store, spaces[i].id);
    std::vector<int64_t> both;
    std::set_intersection(common.begin(), common.end(), ids.begin(), ids.end(), std::back_inserter(both));
    common = std::move(both);
  }
  // The cached index may miss tracks analysed since it loaded: they are not drawn this time.
  const auto tracks = track_index(server, store);
  std::vector<std::pair<int64_t, int64_t>> first_row;  // (track id, cumulative segments before it)
  int64_t total = 0;
  for (int64_t id : common) {
    const auto found = tracks->ok_tracks.find(id);
    if (found == tracks->ok_tracks.end() || found->second.segment_count <= 0) continue;
    first_row.push_back({id, total});
    total += found->second.segment_count;
  }
  if (total == 0) {
    std::string names;
    for (const Space& s : spaces) names += (names.empty() ? "" : ", ") + s.name;
    throw RequestError(409, "no track is analysed in all of " + names + " (analyse the same music with each model)");
  }
  const int64_t row = static_cast<int64_t>(splitmix64(rng) % static_cast<uint64_t>(total));
  const auto it = std::prev(std::upper_bound(first_row.begin(), first_row.end(), row,
                                             [](int64_t r, const auto& entry) { return r < entry.second; }));
  return {it->first, static_cast<int>(row - it->second)};
}

json segment_json(Store& store, const SegmentRef& ref) {
  const std::vector<Segment> times = read_segments(store, ref.track_id);
  const Segment& s = times.at(static_cast<size_t>(ref.segment));
  return {{"track", ref.track_id}, {"segment", ref.segment}, {"start_s", s.start_s}, {"end_s", s.end_s}};
}

void handle_trial(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"spaces", "seed", "token"});
  const auto seed_text = param(req.params, "seed");
  int64_t seed = 0;
  if (seed_text) {
    seed = parse_int("seed", *seed_text, 0, kMaxSeed);
  } else {  // a fresh trial, reproducible through the seed in the response
    std::random_device device;
    seed = std::uniform_int_distribution<int64_t>(0, kMaxSeed)(device);
  }
  BorrowedStore store(server.stores);
  const std::vector<AnalysedSpace> analysed = analysed_spaces(store.store);
  const auto names = param(req.params, "spaces");
  const std::vector<Space> spaces = names ? named_trial_spaces(store.store, *names, analysed) : default_trial_spaces(analysed);

  uint64_t rng = static_cast<uint64_t>(seed);
  const SegmentRef reference = pick_reference(server, store.store, spaces, rng);
  struct Candidate {
    SegmentRef segment;
    std::vector<std::string> spaces;
  };
  std::vector<Candidate> candidates;
  for (const Space& space : spaces) {
    const TrackVectors vectors = read_track_vectors(store.store, reference.track_id, space.id);
    if (reference.segment >= vectors.segments)  // re-analysed since the track index was loaded
      throw RequestError(409, "the collection changed while the trial was drawn; ask again");
    const std::span<const float> query(vectors.values.data() + int64_t(reference.segment) * vectors.dims,
                                       static_cast<size_t>(vectors.dims));
    const auto nearest = nearest_other_track_segment(store.store, space.id, query, reference.track_id);
    if (!nearest)
      throw RequestError(409, "space '" + space.name + "' has no track other than the reference's (analyse more music)");
    auto same = std::find_if(candidates.begin(), candidates.end(), [&](const Candidate& c) {
      return c.segment.track_id == nearest->track_id && c.segment.segment == nearest->segment;
    });
    if (same != candidates.end()) same->spaces.push_back(space.name);
    else candidates.push_back({{nearest->track_id, nearest->segment}, {space.name}});
  }
  for (size_t i = candidates.size(); i > 1; --i)  // Fisher-Yates, continuing the seed's stream
    std::swap(candidates[i - 1], candidates[splitmix64(rng) % i]);

  json candidates_out = json::array();
  for (const Candidate& c : candidates) {
    json item = segment_json(store.store, c.segment);
    item["spaces"] = c.spaces;
    candidates_out.push_back(std::move(item));
  }
  json space_names = json::array();
  for (const Space& s : spaces) space_names.push_back(s.name);
  send_json(res, {{"seed", seed},
                  {"spaces", space_names},
                  {"reference", segment_json(store.store, reference)},
                  {"candidates", candidates_out}});
}

// ---- POST /api/listening/answers -----------------------------------------------------------------

[[noreturn]] void bad_field(const std::string& field, const std::string& why) { throw RequestError(400, field + ": " + why); }

// A value as it appears in an error message; containers by type only (a deeply nested
// body must not be walked recursively).
std::string shown(const json& value) {
  if (value.is_structured()) return std::string("an ") + value.type_name();
  const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() <= 64 ? text : text.substr(0, 64) + "...";
}

// Rejects keys not in `known` (a typo must not pass silently).
void reject_unknown_keys(const json& object, const std::string& field, const std::vector<std::string>& known) {
  for (const auto& [key, value] : object.items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      bad_field(field.empty() ? key.substr(0, 64) : field + "." + key.substr(0, 64), "unknown field");
}

const json& required(const json& object, const std::string& field, const char* key) {
  const auto found = object.find(key);
  if (found == object.end()) bad_field(field.empty() ? key : field + "." + key, "required");
  return *found;
}

int64_t integer(const json& value, const std::string& field, int64_t min, int64_t max) {
  if (!value.is_number_integer() || value.get<int64_t>() < min || value.get<int64_t>() > max ||
      (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX)))
    bad_field(field, "expected an integer " + std::to_string(min) + ".." + std::to_string(max) + ", got " + shown(value));
  return value.get<int64_t>();
}

// {"track": id, "segment": s} of an analysed track, s in range. start_s/end_s are allowed
// (a trial's objects can be posted back as they are) and ignored: the store's times count.
SegmentRef segment_field(Server& server, Store& store, const json& value, const std::string& field,
                         const std::vector<std::string>& more_keys = {}) {
  if (!value.is_object()) bad_field(field, "expected an object {\"track\": id, \"segment\": index}, got " + shown(value));
  std::vector<std::string> known = {"track", "segment", "start_s", "end_s"};
  known.insert(known.end(), more_keys.begin(), more_keys.end());
  reject_unknown_keys(value, field, known);
  const int64_t track_id = integer(required(value, field, "track"), field + ".track", 0, INT32_MAX);
  const int64_t segment = integer(required(value, field, "segment"), field + ".segment", 0, INT32_MAX);
  const auto tracks = track_index(server, store, false, track_id);
  const auto found = tracks->ok_tracks.find(track_id);
  if (found == tracks->ok_tracks.end()) bad_field(field + ".track", "no analysed track with id " + std::to_string(track_id));
  const int count = found->second.segment_count;
  if (segment >= count)
    bad_field(field + ".segment", "track " + std::to_string(track_id) + " has " + std::to_string(count) + " segments (0.." +
                                      std::to_string(count - 1) + "), not " + std::to_string(segment));
  return {track_id, static_cast<int>(segment)};
}

ListeningAnswer parse_answer(Server& server, Store& store, const std::string& body) {
  if (body.size() > kMaxRequestBodyBytes)
    throw RequestError(413, "body: " + std::to_string(body.size()) + " bytes; at most " + std::to_string(kMaxRequestBodyBytes));
  json root;
  try {
    root = json::parse(body);
  } catch (const json::parse_error& error) {
    std::string why = error.what();
    if (const size_t bracket = why.find("] "); why.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
      why = why.substr(bracket + 2);
    bad_field("body", "not valid JSON (" + why + ")");
  }
  if (!root.is_object()) bad_field("body", "expected a JSON object, got " + shown(root));
  reject_unknown_keys(root, "", {"reference", "candidates", "chosen", "listener"});

  ListeningAnswer answer;
  const SegmentRef reference = segment_field(server, store, required(root, "", "reference"), "reference");
  answer.reference_track = reference.track_id;
  answer.reference_segment = reference.segment;

  const json& candidates = required(root, "", "candidates");
  if (!candidates.is_array() || candidates.empty() || candidates.size() > kMaxSpaces)
    bad_field("candidates", "expected an array of 1..4 candidates, got " + shown(candidates));
  std::set<std::string> all_spaces;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string field = "candidates[" + std::to_string(i) + "]";
    const SegmentRef segment = segment_field(server, store, candidates[i], field, {"spaces"});
    if (segment.track_id == reference.track_id)
      bad_field(field + ".track", "is the reference's own track (candidates are segments of other tracks)");
    for (size_t j = 0; j < answer.candidates.size(); ++j)
      if (answer.candidates[j].track_id == segment.track_id && answer.candidates[j].segment == segment.segment)
        bad_field(field, "same segment as candidates[" + std::to_string(j) + "] (one candidate lists all its spaces)");
    const json& spaces = required(candidates[i], field, "spaces");
    if (!spaces.is_array() || spaces.empty() || spaces.size() > kMaxSpaces)
      bad_field(field + ".spaces", "expected an array of 1..4 space names, got " + shown(spaces));
    ListeningCandidate candidate{segment.track_id, segment.segment, {}};
    for (size_t j = 0; j < spaces.size(); ++j) {
      const std::string space_field = field + ".spaces[" + std::to_string(j) + "]";
      if (!spaces[j].is_string()) bad_field(space_field, "expected a space name, got " + shown(spaces[j]));
      const std::string name = spaces[j].get<std::string>();
      if (!find_space(store, name)) bad_field(space_field, "unknown space " + shown(spaces[j]) + " (see /api/summary)");
      if (!all_spaces.insert(name).second) bad_field(space_field, shown(spaces[j]) + " is listed twice (one candidate per space)");
      candidate.spaces.push_back(name);
    }
    answer.candidates.push_back(std::move(candidate));
  }
  if (all_spaces.size() < kMinSpaces || all_spaces.size() > kMaxSpaces)
    bad_field("candidates", "a trial compares 2..4 spaces, these list " + std::to_string(all_spaces.size()));

  answer.chosen = static_cast<int>(
      integer(required(root, "", "chosen"), "chosen", 0, static_cast<int64_t>(answer.candidates.size()) - 1));
  if (const auto listener = root.find("listener"); listener != root.end()) {
    if (!listener->is_string()) bad_field("listener", "expected a string, got " + shown(*listener));
    answer.listener = listener->get<std::string>();
    if (answer.listener.size() > kMaxListenerBytes)
      bad_field("listener", "at most " + std::to_string(kMaxListenerBytes) + " bytes, got " + std::to_string(answer.listener.size()));
  }
  return answer;
}

// Stores through a connection of its own: the pool's are read-only. Opening read-write
// migrates a schema-2 file to 3 (the first answer creates the table).
int64_t store_answer(Server& server, const ListeningAnswer& answer) {
  try {
    Store writable = open_store(server.options.db_path, OpenMode::existing);
    return add_listening_answer(writable, answer);
  } catch (const Error& error) {
    // sqlite::fail names SQLITE_READONLY this way (store/sqlite.cpp): the file, or its
    // directory, may not be written by this process.
    if (std::string(error.what()).find(": collection is read-only (") == std::string::npos) throw;
    throw RequestError(409, base_name(server.options.db_path) +
                                " is read-only for this server, so answers cannot be stored (everything else works; "
                                "serve a copy this user may write to collect answers)");
  }
}

void handle_post_answer(Server& server, const httplib::Request& req, httplib::Response& res) {
  // First: httplib turns a form-encoded body (curl -d's default) into query parameters.
  std::string media_type = req.get_header_value("Content-Type");
  media_type = media_type.substr(0, media_type.find(';'));
  if (!media_type.empty() && media_type != "application/json")
    throw RequestError(415, "body: expected Content-Type: application/json, got '" + media_type.substr(0, 64) + "'");
  reject_unknown_params(req.params, {"token"});
  ListeningAnswer answer;
  {
    BorrowedStore store(server.stores);
    answer = parse_answer(server, store.store, req.body);
  }
  send_json(res, {{"id", store_answer(server, answer)}}, 201);
}

// ---- GET /api/listening/results, /api/listening/answers.csv -------------------------------------------

void handle_results(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"token"});
  BorrowedStore store(server.stores);
  const std::vector<ListeningAnswer> answers = list_listening_answers(store.store);
  json spaces = json::array();
  for (const SpaceAgreement& s : space_agreement(answers)) {
    const Interval ci = wilson_interval(s.chosen, s.trials);
    spaces.push_back({{"space", s.space}, {"trials", s.trials}, {"chosen", s.chosen},
                      {"rate", static_cast<double>(s.chosen) / static_cast<double>(s.trials)}, {"ci95", {ci.lo, ci.hi}}});
  }
  send_json(res, {{"answers", answers.size()}, {"spaces", spaces}});
}

// ref: RFC 4180 §2 — a field with a comma, quote, CR or LF is quoted, quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// A listener name a spreadsheet would run as a formula gets a leading apostrophe.
// ref: OWASP "CSV Injection".
std::string inert_text(const std::string& text) {
  return !text.empty() && std::string("=+-@\t\r").find(text[0]) != std::string::npos ? "'" + text : text;
}

std::string iso8601_utc(int64_t unix_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

void handle_answers_csv(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"token"});
  BorrowedStore store(server.stores);
  std::string csv = "id,created_at,listener,reference_track,reference_segment,chosen_index,chosen_spaces,candidates\r\n";
  for (const ListeningAnswer& a : list_listening_answers(store.store)) {
    std::string chosen_spaces;
    for (const std::string& s : a.candidates[static_cast<size_t>(a.chosen)].spaces)
      chosen_spaces += (chosen_spaces.empty() ? "" : ";") + s;
    csv += std::to_string(a.id) + "," + iso8601_utc(a.created_at) + "," + csv_field(inert_text(a.listener)) + "," +
           std::to_string(a.reference_track) + "," + std::to_string(a.reference_segment) + "," + std::to_string(a.chosen) +
           "," + csv_field(chosen_spaces) + "," + csv_field(candidates_json(a.candidates)) + "\r\n";
  }
  res.set_header("Content-Disposition", "attachment; filename=\"listening-answers.csv\"");
  res.set_header("Cache-Control", "no-store");
  res.set_content(csv, "text/csv; charset=utf-8");
}

}  // namespace

void register_listening_routes(Server& server) {
  httplib::Server& http = server.http;
  http.Get("/api/listening/trial", api(server, handle_trial));
  http.Post("/api/listening/answers", api(server, handle_post_answer));
  http.Get("/api/listening/results", api(server, handle_results));
  http.Get("/api/listening/answers.csv", api(server, handle_answers_csv));
}

}  // namespace tagscape::server
