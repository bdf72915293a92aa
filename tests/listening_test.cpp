// Tests of the listening test (issue 6): store/listening.h and the /api/listening/* endpoints
// of the real server over a real collection file. Vectors are synthetic (seeded), kept by
// the test so nearest neighbours are checked against a brute force written here, not
// against the store. Track paths need no audio: these endpoints never decode.
#include "store/listening.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "server/server.h"
#include "store/store.h"

using namespace tagscape;
using namespace tagscape::server;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct TestSpace {
  std::string name;
  SpaceKind kind;
  int dims;
};

// Space 4 ("scaled-copy") holds 3 x the values of space 0: cosine neighbours coincide.
const std::vector<TestSpace> kSpaces = {{"m1/embeddings", SpaceKind::embeddings, 8},
                                        {"m2/embeddings", SpaceKind::embeddings, 6},
                                        {"m1/taggrams", SpaceKind::taggrams, 5},
                                        {"moods", SpaceKind::moods, 4},
                                        {"scaled-copy", SpaceKind::imported, 8},
                                        {"empty/embeddings", SpaceKind::embeddings, 3}};  // no vectors
constexpr size_t kScaledCopy = 4, kEmptySpace = 5;
const int kSegmentCounts[] = {3, 5, 4, 6, 2, 5, 4, 3};
constexpr int kTrackWithoutM2 = 6;   // analysed in every space but m2/embeddings
constexpr int kRemovedTrack = 7;     // vectors kept, status 'removed': never a candidate
constexpr double kSegmentS = 3.0;

struct Collection {
  fs::path db;
  std::vector<int64_t> track_ids;                       // per test track
  std::vector<int> segments;                            // per test track
  std::map<std::pair<int, size_t>, std::vector<float>> values;  // (track index, space index) -> [segments, dims]
};

Space unnamed_dims_space(const std::string& name, SpaceKind kind, int dims) {
  Space space;
  space.name = name;
  space.kind = kind;
  space.dims = dims;
  return space;
}

// Removes a test's directory when the test ends, however it ends.
struct RemoveOnExit {
  fs::path dir;
  ~RemoveOnExit() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

Collection make_collection(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  Collection c;
  c.db = dir / "collection.tagscape";
  Store store = open_store(c.db.string());
  std::vector<int64_t> space_ids;
  for (const TestSpace& s : kSpaces) space_ids.push_back(upsert_space(store, unnamed_dims_space(s.name, s.kind, s.dims)));
  uint32_t state = 2024;
  auto next = [&state] { return (state = state * 1664525u + 1013904223u) / 4294967296.0f - 0.3f; };
  for (int t = 0; t < static_cast<int>(std::size(kSegmentCounts)); ++t) {
    TrackAnalysis analysis;
    analysis.file = {"/nonexistent/track" + std::to_string(t) + ".mp3", 1000 + t, 1, "0123456789abcdef"};
    analysis.duration_s = kSegmentCounts[t] * kSegmentS;
    for (int k = 0; k < kSegmentCounts[t]; ++k) analysis.segments.push_back({k * kSegmentS, (k + 1) * kSegmentS});
    for (size_t s = 0; s < kSpaces.size(); ++s) {
      if (s == kEmptySpace || (t == kTrackWithoutM2 && s == 1)) continue;
      std::vector<float> v(static_cast<size_t>(kSegmentCounts[t] * kSpaces[s].dims));
      if (s == kScaledCopy) {
        const auto& original = c.values[{t, 0}];
        for (size_t i = 0; i < v.size(); ++i) v[i] = 3.0f * original[i];
      } else {
        for (float& x : v) x = next();
      }
      c.values[{t, s}] = std::move(v);
    }
    for (size_t s = 0; s < kSpaces.size(); ++s)
      if (c.values.count({t, s})) analysis.vectors.push_back({space_ids[s], c.values[{t, s}]});
    c.track_ids.push_back(commit_track(store, analysis));
    c.segments.push_back(kSegmentCounts[t]);
  }
  const std::string removed = "/nonexistent/track" + std::to_string(kRemovedTrack) + ".mp3";
  mark_tracks_removed(store, std::span(&removed, 1));
  close_store(store);
  return c;
}

int track_index_of(const Collection& c, int64_t id) {
  for (size_t t = 0; t < c.track_ids.size(); ++t)
    if (c.track_ids[t] == id) return static_cast<int>(t);
  return -1;
}

// Brute force: the (track index, segment) of an ok track other than `ref_track` nearest by cosine.
std::pair<int, int> brute_force_nearest(const Collection& c, size_t space, int ref_track, int ref_segment) {
  const int dims = kSpaces[space].dims;
  const float* q = c.values.at({ref_track, space}).data() + ref_segment * dims;
  double best = -2;
  std::pair<int, int> best_at{-1, -1};
  for (int t = 0; t < static_cast<int>(c.track_ids.size()); ++t) {
    if (t == ref_track || t == kRemovedTrack || !c.values.count({t, space})) continue;
    for (int k = 0; k < c.segments[t]; ++k) {
      const float* v = c.values.at({t, space}).data() + k * dims;
      double dot = 0, nq = 0, nv = 0;
      for (int d = 0; d < dims; ++d) {
        dot += double(q[d]) * v[d];
        nq += double(q[d]) * q[d];
        nv += double(v[d]) * v[d];
      }
      const double cosine = dot / std::sqrt(nq * nv);
      if (cosine > best) best = cosine, best_at = {t, k};
    }
  }
  return best_at;
}

fs::path test_dir(const std::string& name) {
  return fs::temp_directory_path() / ("tagscape_listening_test_" + std::to_string(getpid()) + "_" + name);
}

ServerHandle start_on(const fs::path& db) {
  ServerOptions options;
  options.db_path = db.string();
  options.port = 0;
  options.search_web_dir = false;
  return start_server(options);
}

struct Reply {
  int status = 0;
  json body;
  std::string text;
  std::string content_type;
};

Reply get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  auto res = client.Get(path.c_str());
  if (!res) return {-1, {}, "", ""};
  Reply reply{res->status, {}, res->body, res->get_header_value("Content-Type")};
  if (reply.content_type == "application/json") reply.body = json::parse(res->body);
  return reply;
}

Reply post(int port, const std::string& path, const std::string& body) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  auto res = client.Post(path.c_str(), body, "application/json");
  if (!res) return {-1, {}, "", ""};
  Reply reply{res->status, {}, res->body, res->get_header_value("Content-Type")};
  if (reply.content_type == "application/json") reply.body = json::parse(res->body);
  return reply;
}

// The space index of a name in kSpaces.
size_t space_index(const std::string& name) {
  for (size_t s = 0; s < kSpaces.size(); ++s)
    if (kSpaces[s].name == name) return s;
  ADD_FAILURE() << "unknown space " << name;
  return 0;
}

// Checks one trial response against the brute force.
void expect_trial_is_nearest_neighbours(const Collection& c, const json& trial, const std::vector<std::string>& spaces) {
  const int ref = track_index_of(c, trial["reference"]["track"].get<int64_t>());
  const int ref_segment = trial["reference"]["segment"].get<int>();
  ASSERT_GE(ref, 0);
  ASSERT_NE(ref, kRemovedTrack);
  ASSERT_GE(ref_segment, 0);
  ASSERT_LT(ref_segment, c.segments[ref]);
  EXPECT_DOUBLE_EQ(trial["reference"]["start_s"].get<double>(), ref_segment * kSegmentS);
  EXPECT_DOUBLE_EQ(trial["reference"]["end_s"].get<double>(), (ref_segment + 1) * kSegmentS);
  std::map<std::string, int> listed;  // space -> how many candidates list it
  std::set<std::pair<int64_t, int>> seen;
  for (const json& candidate : trial["candidates"]) {
    const int t = track_index_of(c, candidate["track"].get<int64_t>());
    const int k = candidate["segment"].get<int>();
    EXPECT_TRUE(seen.insert({candidate["track"].get<int64_t>(), k}).second) << "coinciding candidates must be merged";
    EXPECT_DOUBLE_EQ(candidate["start_s"].get<double>(), k * kSegmentS);
    EXPECT_DOUBLE_EQ(candidate["end_s"].get<double>(), (k + 1) * kSegmentS);
    for (const json& name : candidate["spaces"]) {
      const size_t s = space_index(name.get<std::string>());
      listed[name.get<std::string>()] += 1;
      ASSERT_TRUE(c.values.count({ref, s})) << "reference not analysed in " << name;
      EXPECT_EQ(std::make_pair(t, k), brute_force_nearest(c, s, ref, ref_segment))
          << "space " << name << ", reference track " << ref << " segment " << ref_segment;
    }
  }
  EXPECT_EQ(listed.size(), spaces.size()) << trial.dump();
  for (const std::string& s : spaces) EXPECT_EQ(listed[s], 1) << s << " in " << trial.dump();
}

}  // namespace

// ---- trials ---------------------------------------------------------------------------------------

TEST(ListeningTrial, CandidatesAreTheNearestSegmentsOfOtherTracks) {
  const Collection c = make_collection(test_dir("trial"));
  RemoveOnExit cleanup{test_dir("trial")};
  ServerHandle server = start_on(c.db);
  const int port = server_port(*server);
  // Default spaces: the analysed embeddings spaces (not the empty one), then the first taggrams.
  const std::vector<std::string> defaults = {"m1/embeddings", "m2/embeddings", "m1/taggrams"};
  std::set<std::pair<int64_t, int>> references;
  for (int seed = 0; seed < 40; ++seed) {
    const Reply reply = get(port, "/api/listening/trial?seed=" + std::to_string(seed));
    ASSERT_EQ(reply.status, 200) << reply.text;
    EXPECT_EQ(reply.body["seed"], seed);
    EXPECT_EQ(reply.body["spaces"], json(defaults));
    expect_trial_is_nearest_neighbours(c, reply.body, defaults);
    const int64_t ref = reply.body["reference"]["track"].get<int64_t>();
    EXPECT_NE(ref, c.track_ids[kTrackWithoutM2]) << "the reference must be analysed in every space";
    references.insert({ref, reply.body["reference"]["segment"].get<int>()});
    EXPECT_EQ(get(port, "/api/listening/trial?seed=" + std::to_string(seed)).body, reply.body) << "same seed, same trial";
  }
  EXPECT_GT(references.size(), 15u) << "seeds should reach many reference segments";

  // Named spaces, including one whose neighbours always coincide with m1/embeddings'.
  const std::vector<std::string> named = {"m1/embeddings", "scaled-copy", "moods"};
  for (int seed = 0; seed < 10; ++seed) {
    const Reply reply = get(port, "/api/listening/trial?spaces=m1/embeddings,scaled-copy,moods&seed=" + std::to_string(seed));
    ASSERT_EQ(reply.status, 200) << reply.text;
    expect_trial_is_nearest_neighbours(c, reply.body, named);
    bool merged = false;
    for (const json& candidate : reply.body["candidates"])
      merged = merged || candidate["spaces"] == json({"m1/embeddings", "scaled-copy"});
    EXPECT_TRUE(merged) << reply.body.dump();
  }

  // Without a seed the server draws one and reports it: asking again with it gives the same trial.
  const Reply drawn = get(port, "/api/listening/trial");
  ASSERT_EQ(drawn.status, 200) << drawn.text;
  EXPECT_EQ(get(port, "/api/listening/trial?seed=" + drawn.body["seed"].dump()).body, drawn.body);
}

TEST(ListeningTrial, BadParametersAndTooFewSpaces) {
  const Collection c = make_collection(test_dir("trial_errors"));
  RemoveOnExit cleanup{test_dir("trial_errors")};
  ServerHandle server = start_on(c.db);
  const int port = server_port(*server);
  struct Case {
    std::string query;
    int status;
    std::string message_part;
  };
  const Case cases[] = {
      {"spaces=m1/embeddings", 400, "spaces: expected 2..4"},
      {"spaces=m1/embeddings,m2/embeddings,moods,m1/taggrams,scaled-copy", 400, "spaces: expected 2..4"},
      {"spaces=m1/embeddings,m1/embeddings", 400, "'m1/embeddings' is named twice"},
      {"spaces=m1/embeddings,", 400, "an empty space name"},
      {"spaces=m1/embeddings,nope", 404, "unknown space 'nope'"},
      {"spaces=m1/embeddings,empty/embeddings", 409, "'empty/embeddings' has no analysed tracks"},
      {"seed=-1", 400, "seed: expected an integer 0..9007199254740991"},
      {"seed=9007199254740992", 400, "seed:"},
      {"sead=1", 400, "unknown parameter 'sead'"},
  };
  for (const Case& k : cases) {
    const Reply reply = get(port, "/api/listening/trial?" + k.query);
    EXPECT_EQ(reply.status, k.status) << k.query << ": " << reply.text;
    EXPECT_NE(reply.body.value("error", "").find(k.message_part), std::string::npos) << k.query << ": " << reply.text;
  }

  // A collection with one analysed space cannot compare anything: 409 with the command.
  const fs::path dir = test_dir("one_space");
  RemoveOnExit cleanup_small{dir};
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    Store store = open_store((dir / "c.tagscape").string());
    const int64_t space = upsert_space(store, unnamed_dims_space("msd-musicnn-1/taggrams", SpaceKind::taggrams, 2));
    for (int t = 0; t < 2; ++t) {
      const std::vector<float> v = {1.0f, float(t)};
      TrackAnalysis analysis;
      analysis.file = {"/nonexistent/" + std::to_string(t), 1, 1, "0123456789abcdef"};
      analysis.duration_s = 3;
      analysis.segments = {{0, 3}};
      analysis.vectors = {{space, v}};
      commit_track(store, analysis);
    }
  }
  ServerHandle small = start_on(dir / "c.tagscape");
  const Reply reply = get(server_port(*small), "/api/listening/trial");
  EXPECT_EQ(reply.status, 409) << reply.text;
  EXPECT_NE(reply.body.value("error", "").find("`tagscape analyze --models msd-musicnn-1 MUSIC_DIR`"), std::string::npos)
      << reply.text;
  EXPECT_NE(reply.body.value("error", "").find("(msd-musicnn-1/taggrams)"), std::string::npos) << reply.text;
}

// ---- answers, results, CSV -------------------------------------------------------------------------

namespace {

// The Wilson interval in its other algebraic form: (x + z²/2)/(n + z²) ± z√n/(n + z²) · √(p̂q̂ + z²/4n).
std::pair<double, double> wilson_reference(double x, double n) {
  const double z = 1.96, p = x / n;
  const double center = (x + z * z / 2) / (n + z * z);
  const double half = z * std::sqrt(n) / (n + z * z) * std::sqrt(p * (1 - p) + z * z / (4 * n));
  return {center - half, center + half};
}

json answer_body(const json& trial, int chosen, const std::string& listener = "") {
  json body = {{"reference", trial["reference"]}, {"candidates", trial["candidates"]}, {"chosen", chosen}};
  if (!listener.empty()) body["listener"] = listener;
  return body;
}

// RFC 4180 parser (quoted fields, doubled quotes, CRLF records).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (ch == '"') quoted = false;
      else field += ch;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      row.push_back(field), field.clear();
    } else if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(field), field.clear();
      rows.push_back(row), row.clear();
      ++i;
    } else {
      field += ch;
    }
  }
  EXPECT_TRUE(field.empty() && row.empty()) << "CSV must end with CRLF";
  return rows;
}

}  // namespace

TEST(ListeningAnswers, StoredReadBackCountedAndExported) {
  const Collection c = make_collection(test_dir("answers"));
  RemoveOnExit cleanup{test_dir("answers")};
  ServerHandle server = start_on(c.db);
  const int port = server_port(*server);

  // Results of an empty collection.
  Reply results = get(port, "/api/listening/results");
  ASSERT_EQ(results.status, 200) << results.text;
  EXPECT_EQ(results.body, json({{"answers", 0}, {"spaces", json::array()}}));

  // Post answers to several trials; count what the test expects from the choices it made.
  struct Posted {
    json trial;
    int chosen;
    std::string listener;
    int64_t id;
  };
  std::vector<Posted> posted;
  std::map<std::string, std::pair<int, int>> expected;  // space -> (trials, chosen)
  const std::string listeners[] = {"", "Ann \"A\", B\nC", "=1+1", "bob"};
  for (int seed = 0; seed < 12; ++seed) {
    const json trial = get(port, "/api/listening/trial?seed=" + std::to_string(100 + seed)).body;
    const int chosen = seed % static_cast<int>(trial["candidates"].size());
    const std::string listener = listeners[seed % 4];
    const Reply reply = post(port, "/api/listening/answers", answer_body(trial, chosen, listener).dump());
    ASSERT_EQ(reply.status, 201) << reply.text;
    posted.push_back({trial, chosen, listener, reply.body["id"].get<int64_t>()});
    for (size_t i = 0; i < trial["candidates"].size(); ++i)
      for (const json& space : trial["candidates"][i]["spaces"]) {
        expected[space.get<std::string>()].first += 1;
        if (static_cast<int>(i) == chosen) expected[space.get<std::string>()].second += 1;
      }
  }

  // Read back through the store API on a connection of our own.
  {
    Store store = open_store(c.db.string(), OpenMode::read_only);
    const std::vector<ListeningAnswer> answers = list_listening_answers(store);
    ASSERT_EQ(answers.size(), posted.size());
    for (size_t i = 0; i < answers.size(); ++i) {
      const ListeningAnswer& a = answers[i];
      const json& trial = posted[i].trial;
      EXPECT_EQ(a.id, posted[i].id);
      EXPECT_EQ(a.listener, posted[i].listener);
      EXPECT_EQ(a.reference_track, trial["reference"]["track"].get<int64_t>());
      EXPECT_EQ(a.reference_segment, trial["reference"]["segment"].get<int>());
      EXPECT_EQ(a.chosen, posted[i].chosen);
      EXPECT_NEAR(double(a.created_at), double(time(nullptr)), 120.0);
      ASSERT_EQ(a.candidates.size(), trial["candidates"].size());
      for (size_t k = 0; k < a.candidates.size(); ++k) {
        EXPECT_EQ(a.candidates[k].track_id, trial["candidates"][k]["track"].get<int64_t>());
        EXPECT_EQ(a.candidates[k].segment, trial["candidates"][k]["segment"].get<int>());
        EXPECT_EQ(json(a.candidates[k].spaces), trial["candidates"][k]["spaces"]);
      }
    }
  }

  // Results: counts from the choices above, interval from the formula above.
  results = get(port, "/api/listening/results");
  ASSERT_EQ(results.status, 200) << results.text;
  EXPECT_EQ(results.body["answers"], posted.size());
  ASSERT_EQ(results.body["spaces"].size(), expected.size()) << results.text;
  for (const json& s : results.body["spaces"]) {
    const auto [trials, chosen] = expected.at(s["space"].get<std::string>());
    EXPECT_EQ(s["trials"], trials) << s.dump();
    EXPECT_EQ(s["chosen"], chosen) << s.dump();
    EXPECT_DOUBLE_EQ(s["rate"].get<double>(), double(chosen) / trials);
    const auto [lo, hi] = wilson_reference(chosen, trials);
    EXPECT_NEAR(s["ci95"][0].get<double>(), lo, 1e-12) << s.dump();
    EXPECT_NEAR(s["ci95"][1].get<double>(), hi, 1e-12) << s.dump();
    EXPECT_LE(s["ci95"][0].get<double>(), s["rate"].get<double>());
    EXPECT_GE(s["ci95"][1].get<double>(), s["rate"].get<double>());
  }
  // Extremes: 0/n and n/n stay inside [0, 1] and the interval still has width.
  for (int n : {1, 5, 40}) {
    const Interval none = wilson_interval(0, n), all = wilson_interval(n, n);
    EXPECT_DOUBLE_EQ(none.lo, 0.0);
    EXPECT_NEAR(none.hi, wilson_reference(0, n).second, 1e-12);
    EXPECT_NEAR(all.lo, wilson_reference(n, n).first, 1e-12);
    EXPECT_DOUBLE_EQ(all.hi, 1.0);
  }

  // CSV export.
  httplib::Client client("127.0.0.1", port);
  auto csv = client.Get("/api/listening/answers.csv");
  ASSERT_TRUE(csv);
  ASSERT_EQ(csv->status, 200) << csv->body;
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv->get_header_value("Content-Disposition").rfind("attachment;", 0), 0u);
  const auto rows = parse_csv(csv->body);
  ASSERT_EQ(rows.size(), posted.size() + 1);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"id", "created_at", "listener", "reference_track", "reference_segment",
                                               "chosen_index", "chosen_spaces", "candidates"}));
  for (size_t i = 0; i < posted.size(); ++i) {
    const auto& row = rows[i + 1];
    ASSERT_EQ(row.size(), 8u) << csv->body;
    const json& trial = posted[i].trial;
    EXPECT_EQ(row[0], std::to_string(posted[i].id));
    EXPECT_EQ(row[1].size(), 20u) << row[1];  // 2026-01-01T00:00:00Z
    EXPECT_EQ(row[1].back(), 'Z');
    EXPECT_EQ(row[2], posted[i].listener == "=1+1" ? "'=1+1" : posted[i].listener);
    EXPECT_EQ(row[3], trial["reference"]["track"].dump());
    EXPECT_EQ(row[4], trial["reference"]["segment"].dump());
    EXPECT_EQ(row[5], std::to_string(posted[i].chosen));
    std::string chosen_spaces;
    for (const json& s : trial["candidates"][posted[i].chosen]["spaces"])
      chosen_spaces += (chosen_spaces.empty() ? "" : ";") + s.get_ref<const std::string&>();
    EXPECT_EQ(row[6], chosen_spaces);
    const json candidates = json::parse(row[7]);
    ASSERT_EQ(candidates.size(), trial["candidates"].size());
    for (size_t k = 0; k < candidates.size(); ++k) {
      EXPECT_EQ(candidates[k]["track"], trial["candidates"][k]["track"]);
      EXPECT_EQ(candidates[k]["segment"], trial["candidates"][k]["segment"]);
      EXPECT_EQ(candidates[k]["spaces"], trial["candidates"][k]["spaces"]);
    }
  }
}

TEST(ListeningAnswers, BadBodiesAreRefusedNamingTheField) {
  const Collection c = make_collection(test_dir("bad_bodies"));
  RemoveOnExit cleanup{test_dir("bad_bodies")};
  ServerHandle server = start_on(c.db);
  const int port = server_port(*server);
  const json trial = get(port, "/api/listening/trial?seed=5&spaces=m1/embeddings,m2/embeddings").body;
  ASSERT_TRUE(trial.contains("candidates")) << trial.dump();
  ASSERT_EQ(trial["candidates"].size(), 2u) << "this seed's neighbours differ in the two spaces: " << trial.dump();
  const json good = answer_body(trial, 0);
  const int64_t ref_track = trial["reference"]["track"].get<int64_t>();
  const int ref_index = track_index_of(c, ref_track);
  // A second candidate that is surely not the first one: another track's segment 0.
  int64_t other_track = 0;
  for (int64_t id : c.track_ids)
    if (id != ref_track && id != trial["candidates"][0]["track"].get<int64_t>() && id != c.track_ids[kRemovedTrack])
      other_track = id;

  auto with = [&](const std::function<void(json&)>& change) {
    json body = good;
    change(body);
    return body.dump();
  };
  struct Case {
    std::string name, body, message_part;
    int status = 400;
  };
  const std::vector<Case> cases = {
      {"not JSON", "{\"reference\": ", "body: not valid JSON (parse error"},
      {"empty", "", "body: not valid JSON"},
      {"array", "[1, 2]", "body: expected a JSON object"},
      {"deep nesting", std::string(30000, '[') + std::string(30000, ']'), "body: expected a JSON object"},
      {"unknown field", with([](json& b) { b["colour"] = "red"; }), "colour: unknown field"},
      {"no reference", with([](json& b) { b.erase("reference"); }), "reference: required"},
      {"reference not object", with([](json& b) { b["reference"] = 3; }), "reference: expected an object"},
      {"track not integer", with([](json& b) { b["reference"]["track"] = "7"; }), "reference.track: expected an integer"},
      {"track fraction", with([](json& b) { b["reference"]["track"] = 1.5; }), "reference.track: expected an integer"},
      {"unknown track", with([](json& b) { b["reference"]["track"] = 99999; }), "reference.track: no analysed track with id 99999"},
      {"removed track", with([&](json& b) { b["reference"]["track"] = c.track_ids[kRemovedTrack]; }),
       "reference.track: no analysed track"},
      {"segment out of range", with([&](json& b) { b["reference"]["segment"] = c.segments[ref_index]; }),
       "reference.segment: track " + std::to_string(ref_track) + " has " + std::to_string(c.segments[ref_index]) + " segments"},
      {"negative segment", with([](json& b) { b["reference"]["segment"] = -1; }), "reference.segment: expected an integer 0.."},
      {"reference extra key", with([](json& b) { b["reference"]["spaces"] = json::array(); }), "reference.spaces: unknown field"},
      {"no candidates", with([](json& b) { b.erase("candidates"); }), "candidates: required"},
      {"empty candidates", with([](json& b) { b["candidates"] = json::array(); }), "candidates: expected an array of 1..4"},
      {"candidate without spaces", with([](json& b) { b["candidates"][0].erase("spaces"); }), "candidates[0].spaces: required"},
      {"unknown space", with([](json& b) { b["candidates"][0]["spaces"] = {"nope"}; }), "candidates[0].spaces[0]: unknown space \"nope\""},
      {"space not string", with([](json& b) { b["candidates"][0]["spaces"] = {1}; }), "candidates[0].spaces[0]: expected a space name"},
      {"space twice", with([](json& b) { b["candidates"][0]["spaces"] = b["candidates"][1]["spaces"]; }), "is listed twice"},
      {"one space in all", with([](json& b) { b["candidates"].erase(1); }), "candidates: a trial compares 2..4 spaces, these list 1"},
      {"candidate on the reference track", with([&](json& b) { b["candidates"][1]["track"] = ref_track; b["candidates"][1]["segment"] = 0; }),
       "candidates[1].track: is the reference's own track"},
      {"duplicate candidate", with([](json& b) { b["candidates"][1]["track"] = b["candidates"][0]["track"]; b["candidates"][1]["segment"] = b["candidates"][0]["segment"]; }),
       "candidates[1]: same segment as candidates[0]"},
      {"candidate segment out of range", with([&](json& b) { b["candidates"][1]["track"] = other_track; b["candidates"][1]["segment"] = 99; }),
       "candidates[1].segment: track " + std::to_string(other_track)},
      {"no chosen", with([](json& b) { b.erase("chosen"); }), "chosen: required"},
      {"chosen out of range", with([&](json& b) { b["chosen"] = b["candidates"].size(); }), "chosen: expected an integer 0.."},
      {"chosen huge", with([](json& b) { b["chosen"] = 18446744073709551615ull; }), "chosen: expected an integer 0.."},
      {"listener not string", with([](json& b) { b["listener"] = 5; }), "listener: expected a string"},
      {"listener too long", with([](json& b) { b["listener"] = std::string(201, 'x'); }), "listener: at most 200 bytes"},
      {"body too large", std::string(kMaxRequestBodyBytes + 1, ' '), "", 413},
  };
  for (const Case& k : cases) {
    const Reply reply = post(port, "/api/listening/answers", k.body);
    EXPECT_EQ(reply.status, k.status) << k.name << ": " << reply.text;
    EXPECT_EQ(reply.content_type, "application/json") << k.name;
    EXPECT_NE(reply.body.value("error", "").find(k.message_part), std::string::npos) << k.name << ": " << reply.text;
  }
  {
    httplib::Client client("127.0.0.1", port);
    auto form = client.Post("/api/listening/answers", good.dump(), "application/x-www-form-urlencoded");
    ASSERT_TRUE(form);
    EXPECT_EQ(form->status, 415) << form->body;
    EXPECT_NE(form->body.find("expected Content-Type: application/json"), std::string::npos) << form->body;
  }
  EXPECT_EQ(get(port, "/api/listening/results").body["answers"], 0) << "no bad body was stored";
  const Reply ok = post(port, "/api/listening/answers", good.dump());
  EXPECT_EQ(ok.status, 201) << ok.text;
  EXPECT_EQ(get(port, "/api/listening/results").body["answers"], 1);
}

// ---- schema 2 files ------------------------------------------------------------------------------

namespace {

void raw_exec(const fs::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(raw);
}

int64_t raw_int(const fs::path& db, const std::string& sql) {
  sqlite3* raw = nullptr;
  sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* statement = nullptr;
  int64_t value = -1;
  if (sqlite3_prepare_v2(raw, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW)
    value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(raw);
  return value;
}

// A collection as the schema-2 tagscape left it: migration 2 -> 3 only creates
// listening_answers, so dropping that table and setting user_version back to 2 gives the
// same schema objects a version-2 binary made (checked against migrations 0..1 below).
Collection make_schema2_collection(const fs::path& dir) {
  Collection c = make_collection(dir);
  raw_exec(c.db, "DROP TABLE listening_answers; PRAGMA user_version = 2;");
  EXPECT_EQ(raw_int(c.db, "PRAGMA user_version"), 2);
  // Compare with a file made by running only the first two migrations.
  const fs::path reference = dir / "migrations_0_1.sqlite";
  raw_exec(reference, schema_migrations()[0] + schema_migrations()[1]);
  EXPECT_EQ(raw_int(c.db, "SELECT count(*) FROM sqlite_schema"), raw_int(reference, "SELECT count(*) FROM sqlite_schema"));
  return c;
}

struct Child {
  pid_t pid = -1;
  int port = -1;
  std::string output;
  Child() = default;
  Child(Child&& other) noexcept : pid(other.pid), port(other.port), output(std::move(other.output)) { other.pid = -1; }
  ~Child() {  // stopped even when an assertion ends the test early
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
  }
};

// Runs `argv` with stdout on a pipe until it prints "... at http://127.0.0.1:PORT/".
Child spawn_server(std::vector<std::string> argv) {
  int out[2];
  if (pipe(out) != 0) return {};
  Child child;
  child.pid = fork();
  if (child.pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  char buffer[512];
  while (child.output.find("/\n") == std::string::npos) {
    const ssize_t n = read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    child.output.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  const std::string marker = "http://127.0.0.1:";
  if (const size_t at = child.output.find(marker); at != std::string::npos)
    child.port = std::atoi(child.output.c_str() + at + marker.size());
  return child;
}

}  // namespace

TEST(ListeningSchema2, WritableOldFileIsMigratedByTheFirstAnswerAndKeepsItsData) {
  const Collection c = make_schema2_collection(test_dir("schema2_writable"));
  RemoveOnExit cleanup{test_dir("schema2_writable")};
  std::vector<Track> tracks_before;
  SpaceMatrix vectors_before;
  {
    Store old = open_store(c.db.string(), OpenMode::read_only);  // read-only opens schema 2 (additive rule)
    tracks_before = list_tracks(old);
    vectors_before = read_space(old, find_space(old, "m2/embeddings")->id);
    EXPECT_TRUE(list_listening_answers(old).empty());
  }
  ServerHandle server = start_on(c.db);
  const int port = server_port(*server);
  EXPECT_EQ(get(port, "/api/listening/results").body, json({{"answers", 0}, {"spaces", json::array()}}));
  const Reply csv = get(port, "/api/listening/answers.csv");
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.text, "id,created_at,listener,reference_track,reference_segment,chosen_index,chosen_spaces,candidates\r\n");
  EXPECT_EQ(raw_int(c.db, "PRAGMA user_version"), 2) << "reading must not migrate";

  const json trial = get(port, "/api/listening/trial?seed=3").body;
  const Reply stored = post(port, "/api/listening/answers", answer_body(trial, 0, "first").dump());
  ASSERT_EQ(stored.status, 201) << stored.text;
  EXPECT_EQ(raw_int(c.db, "PRAGMA user_version"), current_schema_version());
  EXPECT_EQ(get(port, "/api/listening/results").body["answers"], 1) << "pooled read-only connections see the new table";

  Store now = open_store(c.db.string(), OpenMode::read_only);
  const std::vector<Track> tracks_after = list_tracks(now);
  ASSERT_EQ(tracks_after.size(), tracks_before.size());
  for (size_t i = 0; i < tracks_after.size(); ++i) {
    EXPECT_EQ(tracks_after[i].id, tracks_before[i].id);
    EXPECT_EQ(tracks_after[i].file.path, tracks_before[i].file.path);
    EXPECT_EQ(tracks_after[i].status, tracks_before[i].status);
  }
  const SpaceMatrix vectors_after = read_space(now, find_space(now, "m2/embeddings")->id);
  EXPECT_EQ(vectors_after.track_ids, vectors_before.track_ids);
  EXPECT_EQ(vectors_after.values, vectors_before.values);
  ASSERT_EQ(list_listening_answers(now).size(), 1u);
  EXPECT_EQ(list_listening_answers(now)[0].listener, "first");
  EXPECT_TRUE(check_integrity(now).empty());
}

namespace {

// `tagscape serve` (the real binary) as a user who may not write the collection file (but
// may create SQLite's -wal/-shm beside it): everything is served, storing an answer is a
// 409 that says why, and the file is left as it was.
void expect_read_only_file_is_served(const fs::path& dir, const Collection& c, int64_t version) {
  chmod(c.db.c_str(), 0444);
  chmod(dir.c_str(), 0777);
  std::vector<std::string> argv = {TAGSCAPE_BINARY, "serve", "--db", c.db.string(), "--port", "0"};
  if (geteuid() == 0) {  // root writes any file: serve as nobody instead
    const std::string can_run = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sh -c 'test -x " +
                                std::string(TAGSCAPE_BINARY) + " && test -r " + c.db.string() + "'";
    if (std::system(can_run.c_str()) != 0) GTEST_SKIP() << "running as root, and user nobody cannot run " << TAGSCAPE_BINARY;
    argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  }
  Child child = spawn_server(argv);
  ASSERT_GT(child.port, 0) << child.output;

  EXPECT_EQ(get(child.port, "/api/summary").status, 200);
  EXPECT_EQ(get(child.port, "/api/tracks").body.size(), c.track_ids.size() - 1);
  const Reply trial = get(child.port, "/api/listening/trial?seed=11");
  ASSERT_EQ(trial.status, 200) << trial.text;
  expect_trial_is_nearest_neighbours(c, trial.body, {"m1/embeddings", "m2/embeddings", "m1/taggrams"});
  const Reply results = get(child.port, "/api/listening/results");
  EXPECT_EQ(results.status, 200) << results.text;
  EXPECT_EQ(get(child.port, "/api/listening/answers.csv").status, 200);
  const Reply refused = post(child.port, "/api/listening/answers", answer_body(trial.body, 1).dump());
  EXPECT_EQ(refused.status, 409) << refused.text;
  EXPECT_NE(refused.body.value("error", "").find("collection.tagscape is read-only"), std::string::npos) << refused.text;
  EXPECT_EQ(refused.body.value("error", "").find(dir.string()), std::string::npos) << "no paths in responses";
  const Reply bad = post(child.port, "/api/listening/answers", "{}");
  EXPECT_EQ(bad.status, 400) << "validation comes before the write: " << bad.text;
  EXPECT_EQ(get(child.port, "/api/listening/results").body, results.body) << "nothing was stored";
  { Child stopped = std::move(child); }
  EXPECT_EQ(raw_int(c.db, "PRAGMA user_version"), version);
}

}  // namespace

TEST(ListeningSchema2, ReadOnlyOldFileIsStillServed) {
  const fs::path dir = test_dir("schema2_read_only");
  const Collection c = make_schema2_collection(dir);
  RemoveOnExit cleanup{dir};
  fs::remove(dir / "migrations_0_1.sqlite");
  expect_read_only_file_is_served(dir, c, 2);
  EXPECT_EQ(raw_int(c.db, "SELECT count(*) FROM sqlite_schema WHERE name = 'listening_answers'"), 0);
}

TEST(ListeningSchema2, ReadOnlyCurrentFileRefusesAnswersToo) {
  const fs::path dir = test_dir("schema3_read_only");
  const Collection c = make_collection(dir);
  RemoveOnExit cleanup{dir};
  {
    Store store = open_store(c.db.string(), OpenMode::existing);
    add_listening_answer(store, {.listener = "before", .reference_track = c.track_ids[0], .reference_segment = 0,
                                 .candidates = {{c.track_ids[1], 0, {"m1/embeddings"}}, {c.track_ids[2], 1, {"m2/embeddings"}}},
                                 .chosen = 1});
  }
  expect_read_only_file_is_served(dir, c, current_schema_version());
  Store store = open_store(c.db.string(), OpenMode::read_only);
  ASSERT_EQ(list_listening_answers(store).size(), 1u);
  EXPECT_EQ(list_listening_answers(store)[0].listener, "before");
}

// The additive rule reaches back to schema 2 only: version 1 lacks tables readers need.
TEST(ListeningSchema2, ReadOnlyStillRefusesSchema1) {
  const Collection c = make_collection(test_dir("schema1"));
  RemoveOnExit cleanup{test_dir("schema1")};
  raw_exec(c.db, "PRAGMA user_version = 1");
  EXPECT_EQ(oldest_read_only_schema_version(), 2);
  try {
    open_store(c.db.string(), OpenMode::read_only);
    ADD_FAILURE() << "schema 1 opened read-only";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), c.db.string() + ": schema version 1 is older than this tagscape's (" +
                                             std::to_string(current_schema_version()) +
                                             "); open it read-write (tagscape analyze) to upgrade it");
  }
}
