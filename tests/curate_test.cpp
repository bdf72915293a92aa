// Tests of the curation endpoints (server/curate.cpp: /api/playlist, /api/walk, /api/scores,
// /api/axes): the real server, in-process on an ephemeral port on 127.0.0.1, over a real
// collection file built with the store API. Tracks point at real WAV files cut from the
// shared test mp3 with the ffmpeg CLI, spread over nested folders (with a space and a comma
// in their names); the vectors are synthetic. Every expected value is computed here
// independently: brute-force kNN, own goal scores from read_track_vectors, own PCA by
// Jacobi eigen-decomposition, own Pearson correlations, own M3U8/CSV readers.
#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "store/content_hash.h"
#include "store/store.h"

using namespace tagscape;
using namespace tagscape::server;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::string kSharedMp3 =
    std::string(TAGSCAPE_SHARED_DIR) + "/audio/joram-moments_of_clarity-08-solipsism-59-88.mp3";
constexpr double kSegmentS = 2.992;  // analysis segment length
constexpr int kTracks = 14;
constexpr int kTagDims = 10;
constexpr int kEmbeddingDims = 6;
const char* const kTags = "msd-musicnn-1/taggrams";
const char* const kEmbeddings = "msd-musicnn-1/embeddings";

struct Fixture {
  fs::path dir, music, db;
  std::vector<int64_t> ids;        // [kTracks] track ids, in creation order
  std::vector<fs::path> paths;     // [kTracks] absolute file paths
  int64_t untagged = 0;            // the one track without taggrams
};

// Track i's folder: three folders, so the common parent of all is music/ and of a subset one deeper.
fs::path folder_of(const fs::path& music, int i) {
  return i % 3 == 0 ? music / "Album A" : i % 3 == 1 ? music / "b, c" / "disc 1" : music;
}

TrackMetadata metadata_of(int i) {
  if (i == 0) return {.title = "Say \"Hi\", World", .artist = "Joram", .album = "A, B", .genre = ""};
  if (i == 1) return {.title = "", .artist = "Nobody", .album = "X", .genre = ""};  // title falls back to the file name
  if (i == 2) return {.title = "Lonely", .artist = "", .album = "", .genre = ""};  // no artist: just the title
  return {.title = "Title " + std::to_string(i), .artist = "Artist " + std::to_string(i), .album = "Album", .genre = ""};
}

Space tag_space() {
  Space tags{.name = kTags, .kind = SpaceKind::taggrams, .model = "msd-musicnn-1", .node = "model/Sigmoid", .dims = kTagDims, .dim_names = {}};
  tags.dim_names = {"rock", "electronic", "vocals", "jazz", "pop", "t5", "t6", "t7", "t8", "t9"};
  return tags;
}

Fixture& fixture();

// Removes the fixture's folder after the last test (the server may still hold the file open: fine on POSIX).
struct RemoveFixtureDir : ::testing::Environment {
  void TearDown() override {
    if (fixture_created()) fs::remove_all(fixture().dir);
  }
  static bool& fixture_created() {
    static bool created = false;
    return created;
  }
};
[[maybe_unused]] ::testing::Environment* const kRemoveFixtureDir = ::testing::AddGlobalTestEnvironment(new RemoveFixtureDir);

Fixture& fixture() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    f->dir = fs::temp_directory_path() / ("tagscape_curate_test_" + std::to_string(getpid()));
    f->music = f->dir / "music";
    fs::remove_all(f->dir);
    fs::create_directories(f->music);
    f->db = f->dir / "collection.tagscape";
    Store store = open_store(f->db.string());
    const int64_t tags_id = upsert_space(store, tag_space());
    const int64_t emb_id = upsert_space(store, {.name = kEmbeddings, .kind = SpaceKind::embeddings,
                                                .model = "msd-musicnn-1", .node = "model/dense/BiasAdd",
                                                .dims = kEmbeddingDims, .dim_names = {}});
    const int64_t moods_id = upsert_space(store, {.name = "moods", .kind = SpaceKind::moods, .model = "", .node = "", .dims = 5,
                                                  .dim_names = {"happy", "sad", "relaxed", "aggressive", "danceable"}});
    const int64_t custom_id = upsert_space(store, {.name = "custom", .kind = SpaceKind::imported, .model = "", .node = "", .dims = 3, .dim_names = {}});
    uint32_t state = 777;
    auto next = [&state] { return (state = state * 1664525u + 1013904223u) / 4294967296.0f; };
    for (int i = 0; i < kTracks; ++i) {
      const double duration = 3.5 + (i % 4) * 2.3;  // 1, 1, 2 or 3 segments
      fs::create_directories(folder_of(f->music, i));
      const fs::path path = folder_of(f->music, i) / ((i < 10 ? "0" : "") + std::to_string(i) + " track.wav");
      const std::string command = "ffmpeg -v error -y -ss 5 -t " + std::to_string(duration) + " -i '" + kSharedMp3 +
                                  "' -ac 1 -ar 16000 -c:a pcm_s16le '" + path.string() + "'";
      if (std::system(command.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + command);
      TrackAnalysis analysis;
      analysis.file = {path.string(), static_cast<int64_t>(fs::file_size(path)), 1, hash_file_content(path.string())};
      analysis.metadata = metadata_of(i);
      analysis.duration_s = duration;
      const int segments = static_cast<int>(duration / kSegmentS);
      for (int k = 0; k < segments; ++k) analysis.segments.push_back({k * kSegmentS, (k + 1) * kSegmentS});
      std::vector<float> emb(segments * kEmbeddingDims), tags(segments * kTagDims), moods(segments * 5),
          custom(segments * 3);
      for (float& v : emb) v = 2 * next() - 1;
      // Tags partly follow the embedding, so the axes have tags that explain them.
      for (int s = 0; s < segments; ++s)
        for (int d = 0; d < kTagDims; ++d)
          tags[s * kTagDims + d] = 0.5f + 0.3f * emb[s * kEmbeddingDims + d % kEmbeddingDims] + 0.2f * (next() - 0.5f);
      for (float& v : moods) v = next();
      for (float& v : custom) v = next();
      analysis.vectors = {{emb_id, emb}, {moods_id, moods}, {custom_id, custom}};
      if (i != kTracks - 1) analysis.vectors.push_back({tags_id, tags});
      f->ids.push_back(commit_track(store, analysis));
      f->paths.push_back(path);
    }
    f->untagged = f->ids.back();
    close_store(store);
    RemoveFixtureDir::fixture_created() = true;
    return f;
  }();
  return *f;
}

Server& shared_server() {
  static ServerHandle server = [] {
    ServerOptions options;
    options.db_path = fixture().db.string();
    options.port = 0;
    return start_server(options);
  }();
  return *server;
}

httplib::Result get(const std::string& path) {
  httplib::Client c("127.0.0.1", server_port(shared_server()));
  c.set_read_timeout(30, 0);
  return c.Get(path.c_str());
}

json get_json(const std::string& path, int expected_status = 200) {
  auto res = get(path);
  EXPECT_TRUE(res) << path;
  if (!res) return {};
  EXPECT_EQ(res->status, expected_status) << path << ": " << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
  return json::parse(res->body);
}

std::string ids_text(const std::vector<int64_t>& ids) {
  std::string text;
  for (int64_t id : ids) text += (text.empty() ? "" : ",") + std::to_string(id);
  return text;
}

// ---- independent readers of what the store holds ------------------------------------------

Store read_store() { return open_store(fixture().db.string(), OpenMode::read_only); }

int64_t space_id(Store& store, const std::string& name) { return find_space(store, name)->id; }

// A track's row in a space for segment `segment`, or the mean over its segments for -1;
// empty when the track has no vectors there.
std::vector<double> row_of(Store& store, int64_t space, int64_t track, int segment) {
  TrackVectors v;
  try {
    v = read_track_vectors(store, track, space);
  } catch (const Error&) {
    return {};
  }
  std::vector<double> row(v.dims, 0.0);
  for (int s = 0; s < v.segments; ++s)
    if (segment < 0 || s == segment)
      for (int d = 0; d < v.dims; ++d) row[d] += v.values[s * v.dims + d] / (segment < 0 ? v.segments : 1);
  return row;
}

double goal_of(const std::vector<double>& row, const std::map<int, double>& goal) {
  double score = 0;
  for (const auto& [dim, weight] : goal) score += weight * row[dim];
  return score;
}

// ---- a frame reader written from server/API.md ---------------------------------------------

struct Frame {
  json header;
  std::map<std::string, std::vector<uint8_t>> arrays;
  float f32(const std::string& name, size_t i) const { float v; std::memcpy(&v, &arrays.at(name)[4 * i], 4); return v; }
  int32_t i32(const std::string& name, size_t i) const { int32_t v; std::memcpy(&v, &arrays.at(name)[4 * i], 4); return v; }
};

Frame get_frame(const std::string& path) {
  auto res = get(path);
  EXPECT_TRUE(res) << path;
  if (!res) return {};
  EXPECT_EQ(res->status, 200) << path << ": " << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/octet-stream") << path;
  const std::string& body = res->body;
  Frame frame;
  uint32_t header_bytes = 0;
  std::memcpy(&header_bytes, body.data(), 4);
  frame.header = json::parse(body.substr(4, header_bytes));
  size_t at = 4 + header_bytes;
  for (const json& a : frame.header["arrays"]) {
    const size_t bytes = a["count"].get<size_t>() * 4;
    if (at + bytes > body.size()) throw std::runtime_error("truncated frame");
    frame.arrays[a["name"]] = std::vector<uint8_t>(body.begin() + at, body.begin() + at + bytes);
    at += bytes;
  }
  EXPECT_EQ(at, body.size()) << "one frame, nothing after it";
  return frame;
}

// ---- M3U8 and CSV readers --------------------------------------------------------------------

struct M3uEntry {
  std::string extinf;  // text after "#EXTINF:"
  std::string path;
};

std::vector<M3uEntry> parse_m3u8(const std::string& text, std::string* base_comment) {
  std::istringstream in(text);
  std::string line, extinf;
  std::getline(in, line);
  EXPECT_EQ(line, "#EXTM3U");
  std::vector<M3uEntry> entries;
  while (std::getline(in, line)) {
    if (line.rfind("# base: ", 0) == 0 && base_comment) *base_comment = line.substr(8);
    else if (line.rfind("#EXTINF:", 0) == 0) extinf = line.substr(8);
    else if (!line.empty() && line[0] != '#') entries.push_back({extinf, line});
  }
  return entries;
}

// RFC 4180 records: quoted fields may hold commas, quotes (doubled) and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    std::string& field = records.back().back();
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') quoted = true;
    else if (c == ',') records.back().emplace_back();
    else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      if (i + 1 < text.size()) records.emplace_back(1);
    } else field += c;
  }
  return records;
}

bool readable_wav(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string(magic, 4) == "RIFF";
}

std::vector<int64_t> playlist_order() {  // a shuffled order with a repeat, across all folders
  const auto& ids = fixture().ids;
  return {ids[5], ids[0], ids[1], ids[2], ids[5], ids[12], ids[3], ids[7]};
}

std::vector<int64_t> distinct(const std::vector<int64_t>& ids) {
  std::vector<int64_t> out;
  for (int64_t id : ids)
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  return out;
}

int index_of(int64_t id) {
  return static_cast<int>(std::find(fixture().ids.begin(), fixture().ids.end(), id) - fixture().ids.begin());
}

}  // namespace

// ---- /api/playlist ---------------------------------------------------------------------------

TEST(CuratePlaylist, M3u8WithAbsolutePathsListsEveryTrackInOrder) {
  const std::vector<int64_t> order = playlist_order();
  auto res = get("/api/playlist?tracks=" + ids_text(order) + "&token=ignored-without---token");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "audio/x-mpegurl; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Content-Disposition"), "attachment; filename=\"tagscape-playlist.m3u8\"");
  const fs::path saved = fixture().dir / "elsewhere" / "tagscape-playlist.m3u8";
  fs::create_directories(saved.parent_path());
  std::ofstream(saved, std::ios::binary) << res->body;
  std::ifstream in(saved, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto entries = parse_m3u8(text, nullptr);
  EXPECT_EQ(text.find("# base:"), std::string::npos) << "absolute paths need no base";
  const std::vector<int64_t> expected = distinct(order);
  ASSERT_EQ(entries.size(), expected.size());
  for (size_t e = 0; e < entries.size(); ++e) {
    const int i = index_of(expected[e]);
    EXPECT_EQ(fs::path(entries[e].path), fixture().paths[i]);
    EXPECT_TRUE(fs::path(entries[e].path).is_absolute());
    EXPECT_TRUE(readable_wav(entries[e].path)) << entries[e].path;
    const long seconds = std::lround(3.5 + (i % 4) * 2.3);
    const TrackMetadata m = metadata_of(i);
    const std::string title = m.title.empty() ? fixture().paths[i].filename().string() : m.title;
    EXPECT_EQ(entries[e].extinf, std::to_string(seconds) + "," + (m.artist.empty() ? title : m.artist + " - " + title));
  }
}

TEST(CuratePlaylist, RelativePathsResolveFromTheCommonParentFolder) {
  struct Case {
    std::vector<int64_t> ids;
    fs::path base;
  };
  const auto& ids = fixture().ids;
  const Case cases[] = {{playlist_order(), fixture().music},                       // all three folders
                        {{ids[4], ids[1], ids[7]}, fixture().music / "b, c" / "disc 1"},  // one folder
                        {{ids[3], ids[1]}, fixture().music}};
  for (const Case& c : cases) {
    auto res = get("/api/playlist?format=m3u8&paths=relative&tracks=" + ids_text(c.ids));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    std::string base;
    const auto entries = parse_m3u8(res->body, &base);
    EXPECT_EQ(res->body.substr(0, res->body.find('\n', 8) + 1), "#EXTM3U\n# base: " + c.base.string() + "\n");
    EXPECT_EQ(fs::path(base), c.base);
    EXPECT_EQ(res->get_header_value("X-Playlist-Base"), c.base.string());
    // A player opening the playlist saved in the base folder resolves entries against it.
    const fs::path saved = fs::path(base) / "tagscape-playlist.m3u8";
    std::ofstream(saved, std::ios::binary) << res->body;
    ASSERT_EQ(entries.size(), distinct(c.ids).size());
    for (size_t e = 0; e < entries.size(); ++e) {
      EXPECT_TRUE(fs::path(entries[e].path).is_relative()) << entries[e].path;
      const fs::path resolved = saved.parent_path() / entries[e].path;
      EXPECT_TRUE(readable_wav(resolved)) << resolved;
      EXPECT_TRUE(fs::equivalent(resolved, fixture().paths[index_of(distinct(c.ids)[e])]));
    }
    fs::remove(saved);
  }
}

TEST(CuratePlaylist, CsvParsesBackWithQuotedFieldsAndCounts) {
  const std::vector<int64_t> order = playlist_order();  // ids[5] twice: its counts add up
  const std::vector<int> counts = {2, 1, 0, 4, 3, 1, 1, 7};
  std::string counts_text;
  for (int c : counts) counts_text += (counts_text.empty() ? "" : ",") + std::to_string(c);
  auto res = get("/api/playlist?format=csv&tracks=" + ids_text(order) + "&counts=" + counts_text);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(res->get_header_value("Content-Disposition"), "attachment; filename=\"tagscape-playlist.csv\"");
  const auto records = parse_csv(res->body);
  const std::vector<int64_t> expected = distinct(order);
  ASSERT_EQ(records.size(), expected.size() + 1);
  EXPECT_EQ(records[0], (std::vector<std::string>{"track_id", "path", "artist", "title", "album", "duration_s",
                                                  "selected_segments"}));
  for (size_t e = 0; e < expected.size(); ++e) {
    const auto& r = records[e + 1];
    ASSERT_EQ(r.size(), 7u) << e;
    const int i = index_of(expected[e]);
    const TrackMetadata m = metadata_of(i);
    EXPECT_EQ(r[0], std::to_string(expected[e]));
    EXPECT_EQ(fs::path(r[1]), fixture().paths[i]);
    EXPECT_TRUE(readable_wav(r[1]));
    EXPECT_EQ(r[2], m.artist);
    EXPECT_EQ(r[3], m.title);
    EXPECT_EQ(r[4], m.album);
    EXPECT_NEAR(std::stod(r[5]), 3.5 + (i % 4) * 2.3, 1e-3);
    int selected = 0;
    for (size_t k = 0; k < order.size(); ++k) selected += order[k] == expected[e] ? counts[k] : 0;
    EXPECT_EQ(r[6], std::to_string(selected));
  }
  EXPECT_EQ(records[2][3], "Say \"Hi\", World");  // ids[0], second in the order
  // Without counts the column is empty; relative paths are relative to X-Playlist-Base.
  res = get("/api/playlist?format=csv&paths=relative&tracks=" + ids_text({fixture().ids[4], fixture().ids[0]}));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const auto relative = parse_csv(res->body);
  ASSERT_EQ(relative.size(), 3u);
  EXPECT_EQ(relative[1][6], "");
  EXPECT_EQ(fs::path(res->get_header_value("X-Playlist-Base")) / relative[1][1], fixture().paths[4]);
  EXPECT_EQ(fs::path(res->get_header_value("X-Playlist-Base")) / relative[2][1], fixture().paths[0]);
}

// ---- /api/walk -----------------------------------------------------------------------------

namespace {

// Brute force over track averages of `space`: distances and goal scores computed here.
struct WalkWorld {
  std::map<int64_t, std::vector<double>> averages;  // track -> mean vector in the walk space
  std::map<int64_t, double> scores;                 // track -> goal score (tracks with goal vectors)
  bool cosine = true;

  double distance(int64_t a, int64_t b) const {
    const auto &x = averages.at(a), &y = averages.at(b);
    double dot = 0, xx = 0, yy = 0, l2 = 0;
    for (size_t d = 0; d < x.size(); ++d) {
      dot += x[d] * y[d], xx += x[d] * x[d], yy += y[d] * y[d];
      l2 += (x[d] - y[d]) * (x[d] - y[d]);
    }
    return cosine ? 1 - dot / std::sqrt(xx * yy) : std::sqrt(l2);
  }
  std::vector<int64_t> nearest(int64_t from, int k) const {
    std::vector<int64_t> others;
    for (const auto& [id, v] : averages)
      if (id != from) others.push_back(id);
    std::sort(others.begin(), others.end(), [&](int64_t a, int64_t b) { return distance(from, a) < distance(from, b); });
    others.resize(std::min<size_t>(others.size(), k));
    return others;
  }
};

WalkWorld walk_world(const std::string& space, const std::string& goal_space, const std::map<int, double>& goal,
                     bool cosine) {
  Store store = read_store();
  WalkWorld world;
  world.cosine = cosine;
  for (int64_t id : fixture().ids) {
    if (auto v = row_of(store, space_id(store, space), id, -1); !v.empty()) world.averages[id] = v;
    if (auto g = row_of(store, space_id(store, goal_space), id, -1); !g.empty()) world.scores[id] = goal_of(g, goal);
  }
  return world;
}

// Checks a /api/walk response step by step against the brute-force world.
void check_walk(const json& walk, const WalkWorld& world, int k, int steps) {
  int64_t current = walk["start"]["track"];
  double score = walk["start"]["score"];
  EXPECT_NEAR(score, world.scores.at(current), 1e-9);
  std::set<int64_t> visited{current};
  for (const json& step : walk["path"]) {
    const int64_t track = step["track"];
    const std::vector<int64_t> near = world.nearest(current, k);
    EXPECT_NE(std::find(near.begin(), near.end(), track), near.end()) << track << " is not among the " << k << " nearest";
    EXPECT_GT(step["score"].get<double>(), score) << "every step improves the score";
    EXPECT_NEAR(step["score"].get<double>(), world.scores.at(track), 1e-9);
    EXPECT_NEAR(step["distance"].get<double>(), world.distance(current, track), 1e-4);
    for (int64_t closer : near) {  // nothing nearer than the chosen one was unvisited and better
      if (closer == track) break;
      EXPECT_TRUE(visited.count(closer) || !world.scores.count(closer) || world.scores.at(closer) <= score)
          << "skipped a nearer improving neighbour " << closer;
    }
    EXPECT_TRUE(visited.insert(track).second) << "revisited " << track;
    current = track;
    score = step["score"];
  }
  if (walk["stopped"] == "steps") {
    EXPECT_EQ(walk["path"].size(), size_t(steps));
  } else {
    EXPECT_EQ(walk["stopped"], "no_better_neighbour");
    EXPECT_LT(walk["path"].size(), size_t(steps));
    for (int64_t n : world.nearest(current, k))
      EXPECT_TRUE(visited.count(n) || !world.scores.count(n) || world.scores.at(n) <= score) << "could have gone to " << n;
  }
}

}  // namespace

TEST(CurateWalk, EveryStepIsANearNeighbourWithAHigherScore) {
  struct Case {
    std::string query;
    std::string space, goal_space;
    std::map<int, double> goal;  // dim -> weight
    bool cosine;
    int k, steps;
  };
  const auto& ids = fixture().ids;
  const std::string emb = kEmbeddings;
  const Case cases[] = {
      {"space=" + emb + "&from=" + std::to_string(ids[0]) + "&goal=rock:1,electronic:0.5,vocals:-1", emb, kTags,
       {{0, 1}, {1, 0.5}, {2, -1}}, true, 15, 10},
      {"space=" + emb + "&from=" + std::to_string(ids[3]) + "&goal=ROCK:-2,4&k=3&steps=20&metric=euclidean", emb, kTags,
       {{0, -2}, {4, 1}}, false, 3, 20},
      {"space=" + emb + "&from=" + std::to_string(ids[6]) + "&goal=happy:1,sad:-1&goal_space=moods&k=5&steps=2", emb,
       "moods", {{0, 1}, {1, -1}}, true, 5, 2},
      {"space=moods&from=" + std::to_string(ids[8]) + "&goal=danceable:1&k=13", "moods", "moods", {{4, 1}}, true, 13, 10},
  };
  size_t longest = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    const json walk = get_json("/api/walk?" + c.query);
    ASSERT_TRUE(walk.contains("path")) << walk.dump();
    EXPECT_EQ(walk["goal_space"], c.goal_space);
    ASSERT_EQ(walk["goal"].size(), c.goal.size());
    for (const json& term : walk["goal"]) EXPECT_EQ(c.goal.at(term["dim"].get<int>()), term["weight"].get<double>());
    check_walk(walk, walk_world(c.space, c.goal_space, c.goal, c.cosine), c.k, c.steps);
    longest = std::max(longest, walk["path"].size());
  }
  EXPECT_GE(longest, 3u) << "no walk went anywhere: the checks above were vacuous";
}

TEST(CurateWalk, BadGoalsAndParametersAreErrorsNamingThem) {
  struct Case {
    std::string query;
    int status;
    std::string says;
  };
  const std::string base = std::string("/api/walk?space=") + kEmbeddings + "&from=" + std::to_string(fixture().ids[0]);
  const Case cases[] = {
      {base + "&goal=nosuchtag:1", 400, "goal: space 'msd-musicnn-1/taggrams' has no dimension 'nosuchtag'"},
      {base + "&goal=rock:abc", 400, "goal: expected a number"},
      {base + "&goal=rock:1e9", 400, "goal: expected a number -1000..1000"},
      {base + "&goal=rock:nan", 400, "goal"},
      {base + "&goal=rock:1,ROCK:2", 400, "goal: 'rock' given more than once"},
      {base + "&goal=:1", 400, "goal: empty tag name"},
      {base + "&goal=rock:1,", 400, "goal"},
      {base + "&goal=", 400, "goal: required"},
      {base, 400, "goal: required"},
      {base + "&goal=rock&goal_space=nope", 404, "unknown space 'nope'"},
      {base + "&goal=rock&steps=0", 400, "steps: expected an integer 1..1000"},
      {base + "&goal=rock&k=0", 400, "k: expected an integer 1..1000"},
      {base + "&goal=rock&metric=manhattan", 400, "metric: expected cosine|euclidean"},
      {base + "&goal=rock&walk=far", 400, "unknown parameter 'walk'"},
      {std::string("/api/walk?space=") + kEmbeddings + "&goal=rock", 400, "from: required"},
      {std::string("/api/walk?space=") + kEmbeddings + "&goal=rock&from=x", 400, "from: expected an integer"},
      {std::string("/api/walk?space=") + kEmbeddings + "&goal=rock&from=999999", 404, "no analysed track with id 999999"},
      {std::string("/api/walk?space=") + kEmbeddings + "&goal=rock&from=" + std::to_string(fixture().untagged), 404,
       "no vectors in goal space 'msd-musicnn-1/taggrams'"},
      {"/api/walk?space=nope&goal=rock&from=1", 404, "unknown space 'nope'"},
      {"/api/walk?space=custom&goal=0&from=" + std::to_string(fixture().ids[0]), 400, "goal_space: required for space 'custom'"},
  };
  for (const Case& c : cases) {
    auto res = get(c.query);
    ASSERT_TRUE(res) << c.query;
    EXPECT_EQ(res->status, c.status) << c.query << ": " << res->body;
    const json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body.contains("error")) << c.query << ": " << res->body;
    EXPECT_NE(body["error"].get<std::string>().find(c.says), std::string::npos) << c.query << ": " << body["error"];
  }
  // An imported space walks with an explicit goal space, by dim index.
  const json walk = get_json("/api/walk?space=custom&goal=2:1&goal_space=custom&from=" + std::to_string(fixture().ids[0]));
  EXPECT_EQ(walk["goal"][0]["name"], "2");
}

TEST(CuratePlaylist, BadParametersAreErrorsNamingThem) {
  const std::string one = std::to_string(fixture().ids[0]);
  const std::pair<std::string, int> cases[] = {
      {"/api/playlist", 400}, {"/api/playlist?tracks=", 400}, {"/api/playlist?tracks=1,x", 400},
      {"/api/playlist?tracks=-1", 400}, {"/api/playlist?tracks=999999", 404},
      {"/api/playlist?tracks=" + one + "&format=xspf", 400}, {"/api/playlist?tracks=" + one + "&paths=home", 400},
      {"/api/playlist?tracks=" + one + "&counts=1,2", 400}, {"/api/playlist?tracks=" + one + "&counts=-1", 400},
      {"/api/playlist?tracks=" + one + "&track=1", 400}};
  const std::string says[] = {"tracks: required", "tracks: required", "tracks: expected an integer",
                              "tracks: expected an integer", "no analysed track with id 999999", "format: expected m3u8|csv",
                              "paths: expected absolute|relative", "counts: 2 values for 1 track ids",
                              "counts: expected an integer", "unknown parameter 'track'"};
  for (size_t i = 0; i < std::size(cases); ++i) {
    auto res = get(cases[i].first);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, cases[i].second) << cases[i].first << ": " << res->body;
    EXPECT_NE(res->body.find(says[i]), std::string::npos) << cases[i].first << ": " << res->body;
  }
}

// ---- /api/scores ---------------------------------------------------------------------------

TEST(CurateScores, EveryPointOfTheSelectionGetsItsGoalScoreInPointsOrder) {
  const std::string selections[] = {"space=" + std::string(kEmbeddings) + "&tracks=all",
                                    "space=" + std::string(kEmbeddings) + "&tracks=6&seed=3&granularity=averages",
                                    "space=" + std::string(kEmbeddings) + "&tracks=all&granularity=averages",
                                    "space=moods&tracks=5&seed=9"};
  const std::string goals[] = {"&goal=rock:1,electronic:0.5,vocals:-1", "&goal=jazz:2",
                               "&goal=t9:-1,pop:0.25&goal_space=" + std::string(kTags), "&goal=happy:1,sad:-1"};
  const std::map<int, double> goal_dims[] = {{{0, 1}, {1, 0.5}, {2, -1}}, {{3, 2}}, {{9, -1}, {4, 0.25}}, {{0, 1}, {1, -1}}};
  const std::string goal_spaces[] = {kTags, kTags, kTags, "moods"};
  Store store = read_store();
  for (size_t c = 0; c < std::size(selections); ++c) {
    SCOPED_TRACE(selections[c] + goals[c]);
    const Frame points = get_frame("/api/points?method=pca&" + selections[c]);
    const Frame scores = get_frame("/api/scores?" + selections[c] + goals[c]);
    const int64_t n = points.header["n"];
    ASSERT_GT(n, 0);
    EXPECT_EQ(scores.header["kind"], "scores");
    EXPECT_EQ(scores.header["goal_space"], goal_spaces[c]);
    ASSERT_EQ(scores.header["n"], n);
    ASSERT_EQ(scores.arrays.at("score").size(), size_t(n) * 4);
    double lo = INFINITY, hi = -INFINITY;
    int64_t missing = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t track = points.i32("track", i), segment = points.i32("segment", i);
      ASSERT_EQ(scores.i32("track", i), track) << i;
      ASSERT_EQ(scores.i32("segment", i), segment) << i;
      const std::vector<double> row = row_of(store, space_id(store, goal_spaces[c]), track, segment);
      const float got = scores.f32("score", i);
      if (row.empty()) {
        EXPECT_TRUE(std::isnan(got)) << "track " << track << " has no goal vectors";
        ++missing;
        continue;
      }
      const double want = goal_of(row, goal_dims[c]);
      EXPECT_NEAR(got, want, 1e-5) << "row " << i;
      lo = std::min(lo, want), hi = std::max(hi, want);
    }
    EXPECT_EQ(scores.header["missing"], missing);
    EXPECT_NEAR(scores.header["min"].get<double>(), lo, 1e-5);
    EXPECT_NEAR(scores.header["max"].get<double>(), hi, 1e-5);
  }
  // tracks=all over the embeddings includes the untagged track: its points have no score.
  const Frame all = get_frame("/api/scores?space=" + std::string(kEmbeddings) + "&tracks=all&granularity=averages&goal=rock");
  EXPECT_EQ(all.header["missing"], 1);
  for (const auto& [query, says] : std::vector<std::pair<std::string, std::string>>{
           {"/api/scores?space=moods&goal=nosuch", "goal: space 'moods' has no dimension"},
           {"/api/scores?space=moods", "goal: required"},
           {"/api/scores?space=moods&goal=happy&tracks=0", "tracks: expected an integer"},
           {"/api/scores?space=moods&goal=happy&method=pca", "unknown parameter 'method'"},
           {"/api/scores?space=moods&goal=happy&granularity=albums", "granularity"}}) {
    auto res = get(query);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << query;
    EXPECT_NE(res->body.find(says), std::string::npos) << query << ": " << res->body;
  }
}

// ---- /api/axes -----------------------------------------------------------------------------

namespace {

// Eigen-decomposition of a symmetric d x d matrix by cyclic Jacobi rotations.
// ref: Golub & Van Loan, Matrix Computations, 4th ed., algorithm 8.5.3. Columns of `vectors`.
void jacobi_eigen(std::vector<double> a, int d, std::vector<double>& values, std::vector<double>& vectors) {
  vectors.assign(d * d, 0);
  for (int i = 0; i < d; ++i) vectors[i * d + i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int p = 0; p < d; ++p)
      for (int q = p + 1; q < d; ++q) off += a[p * d + q] * a[p * d + q];
    if (off < 1e-30) break;
    for (int p = 0; p < d; ++p)
      for (int q = p + 1; q < d; ++q) {
        if (a[p * d + q] == 0) continue;
        const double theta = (a[q * d + q] - a[p * d + p]) / (2 * a[p * d + q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < d; ++k) {
          const double kp = a[k * d + p], kq = a[k * d + q];
          a[k * d + p] = c * kp - s * kq, a[k * d + q] = s * kp + c * kq;
        }
        for (int k = 0; k < d; ++k) {
          const double pk = a[p * d + k], qk = a[q * d + k];
          a[p * d + k] = c * pk - s * qk, a[q * d + k] = s * pk + c * qk;
        }
        for (int k = 0; k < d; ++k) {
          const double kp = vectors[k * d + p], kq = vectors[k * d + q];
          vectors[k * d + p] = c * kp - s * kq, vectors[k * d + q] = s * kp + c * kq;
        }
      }
  }
  values.resize(d);
  for (int i = 0; i < d; ++i) values[i] = a[i * d + i];
}

// Principal component `which` (0 = largest variance) scores of rows [n, d], with the sign
// rule of projection/pca.h (largest |loading| positive). standardize: z-score columns (ddof 0).
std::vector<double> component_scores(std::vector<std::vector<double>> rows, int which, bool standardize) {
  const size_t n = rows.size(), d = rows[0].size();
  for (size_t j = 0; j < d; ++j) {
    double mean = 0, var = 0;
    for (const auto& r : rows) mean += r[j] / n;
    for (const auto& r : rows) var += (r[j] - mean) * (r[j] - mean) / n;
    const double scale = standardize && var > 0 ? std::sqrt(var) : 1;
    for (auto& r : rows) r[j] = (r[j] - mean) / scale;
  }
  std::vector<double> cov(d * d, 0), values, vectors;
  for (const auto& r : rows)
    for (size_t i = 0; i < d; ++i)
      for (size_t j = 0; j < d; ++j) cov[i * d + j] += r[i] * r[j] / (n - 1);
  jacobi_eigen(cov, static_cast<int>(d), values, vectors);
  std::vector<size_t> order(d);
  for (size_t i = 0; i < d; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] > values[b]; });
  std::vector<double> v(d);
  size_t largest = 0;
  for (size_t j = 0; j < d; ++j) {
    v[j] = vectors[j * d + order[which]];
    if (std::fabs(v[j]) > std::fabs(v[largest])) largest = j;
  }
  if (v[largest] < 0)
    for (double& x : v) x = -x;
  std::vector<double> scores(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) scores[i] += rows[i][j] * v[j];
  return scores;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i] / n, mb += b[i] / n;
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < n; ++i) {
    cov += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) * (a[i] - ma);
    vb += (b[i] - mb) * (b[i] - mb);
  }
  return cov / std::sqrt(va * vb);
}

// Checks one axis of /api/axes against r computed here for every tag.
void check_axis(const json& axis, const std::vector<double>& r, int top) {
  std::vector<int> dims(r.size());
  for (size_t d = 0; d < r.size(); ++d) dims[d] = static_cast<int>(d);
  std::sort(dims.begin(), dims.end(), [&](int a, int b) { return r[a] > r[b]; });
  std::vector<int> positive, negative;
  for (int d : dims)
    if (r[d] > 0 && int(positive.size()) < top) positive.push_back(d);
  for (auto it = dims.rbegin(); it != dims.rend(); ++it)
    if (r[*it] < 0 && int(negative.size()) < top) negative.push_back(*it);
  const Space tags = tag_space();
  for (const auto& [list, want] : {std::pair{axis["positive"], positive}, std::pair{axis["negative"], negative}}) {
    ASSERT_EQ(list.size(), want.size()) << axis.dump();
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(list[i]["dim"], want[i]) << axis.dump();
      EXPECT_EQ(list[i]["name"], tags.dim_names[want[i]]);
      EXPECT_NEAR(list[i]["r"].get<double>(), r[want[i]], 1e-4);
    }
  }
}

}  // namespace

TEST(CurateAxes, CorrelationsOfTagsWithPcaAxesMatchAnIndependentPca) {
  const std::string selections[] = {"tracks=all&method=pca&x=0&y=1", "tracks=all&granularity=averages&method=std-pca&x=2&y=0",
                                    "tracks=8&seed=5&method=pca&x=1&y=3"};
  const int tops[] = {3, 10, 2};
  Store store = read_store();
  const int64_t emb = space_id(store, kEmbeddings), tags = space_id(store, kTags);
  for (size_t c = 0; c < std::size(selections); ++c) {
    SCOPED_TRACE(selections[c]);
    const std::string query = "space=" + std::string(kEmbeddings) + "&" + selections[c];
    const Frame points = get_frame("/api/points?" + query);
    const json axes = get_json("/api/axes?" + query + "&top=" + std::to_string(tops[c]));
    ASSERT_TRUE(axes.contains("axes")) << axes.dump();
    EXPECT_EQ(axes["tags_space"], kTags);
    const int64_t n = points.header["n"];
    EXPECT_EQ(axes["n"], n);
    std::vector<std::vector<double>> rows;
    for (int64_t i = 0; i < n; ++i) rows.push_back(row_of(store, emb, points.i32("track", i), points.i32("segment", i)));
    const bool standardize = selections[c].find("std-pca") != std::string::npos;
    for (const char* name : {"x", "y"}) {
      const json& axis = axes["axes"][name];
      const int component = axis["component"];
      const std::vector<double> scores = component_scores(rows, component, standardize);
      // The same component as /api/points draws (same sign), so "positive" means the same direction on screen.
      std::vector<double> drawn(n);
      for (int64_t i = 0; i < n; ++i) drawn[i] = points.f32("xy", 2 * i + (name[0] == 'y'));
      EXPECT_GT(pearson(scores, drawn), 0.9999) << name;
      std::vector<double> r(kTagDims);
      int64_t correlated = 0;
      for (int d = 0; d < kTagDims; ++d) {
        std::vector<double> t, s;
        for (int64_t i = 0; i < n; ++i)
          if (auto row = row_of(store, tags, points.i32("track", i), points.i32("segment", i)); !row.empty())
            t.push_back(row[d]), s.push_back(scores[i]);
        r[d] = pearson(t, s);
        correlated = static_cast<int64_t>(t.size());
      }
      EXPECT_EQ(axes["correlated_points"], correlated);
      check_axis(axis, r, tops[c]);
    }
  }
  for (const auto& [query, status] : std::vector<std::pair<std::string, int>>{
           {"/api/axes?space=moods&method=original", 400}, {"/api/axes?space=moods&method=tsne", 400},
           {"/api/axes?space=moods&x=5", 400}, {"/api/axes?space=moods&top=0", 400},
           {"/api/axes?space=moods&tags=nope", 404}, {"/api/axes?space=custom", 400}, {"/api/axes?space=moods&goal=x", 400}}) {
    auto res = get(query);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << query << ": " << res->body;
  }
  const json moods = get_json("/api/axes?space=moods&tracks=all");  // moods explain themselves by default
  EXPECT_EQ(moods["tags_space"], "moods");
}
