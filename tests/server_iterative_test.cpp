// Tests of t-SNE/UMAP over HTTP (server/API.md "/api/points"): progress frames while the
// layout converges, then the final frame; a newer request cancels an older one; results
// are cached in the collection. The real server in-process on an ephemeral port, over a
// real collection file with synthetic clustered vectors (no audio is read here).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <thread>

#include "projection/quality.h"
#include "projection/select.h"
#include "server/server.h"
#include "store/store.h"
#include "tests/frame_reader.h"

using namespace tagscape;
using namespace tagscape::server;
using namespace tagscape::test;
namespace fs = std::filesystem;

namespace {

constexpr int kTracks = 40;
constexpr int kSegmentsPerTrack = 50;  // 2,000 points: t-SNE at 10,000 iterations takes seconds
constexpr int kDims = 16;
const std::string kSpace = "m/embeddings";
const char* const kTagNames[] = {"north", "east", "south", "west"};

// Each track's segments scatter around one of 4 cluster centres (track t: cluster t % 4);
// the model's taggrams say so: tag t % 4 high (0.9), the others low (0.1).
fs::path make_collection() {
  const fs::path dir = fs::temp_directory_path() / ("tagscape_iterative_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db = dir / "collection.tagscape";
  Store store = open_store(db.string());
  const int64_t space_id = upsert_space(store, {.name = kSpace, .kind = SpaceKind::embeddings, .model = "m", .dims = kDims});
  const int64_t tags_id = upsert_space(store, {.name = "m/taggrams", .kind = SpaceKind::taggrams, .model = "m", .dims = 4,
                                               .dim_names = {kTagNames, kTagNames + 4}});
  std::mt19937 random(7);
  std::normal_distribution<float> noise(0, 1);
  for (int t = 0; t < kTracks; ++t) {
    TrackAnalysis analysis;
    analysis.file = {(dir / ("track" + std::to_string(t) + ".mp3")).string(), 1000 + t, 1, "00000000000000" + std::to_string(10 + t)};
    analysis.duration_s = kSegmentsPerTrack * 3.0;
    std::vector<float> values, tags;
    for (int s = 0; s < kSegmentsPerTrack; ++s) {
      analysis.segments.push_back({s * 3.0, (s + 1) * 3.0});
      for (int d = 0; d < kDims; ++d) values.push_back((d == t % 4 ? 20.0f : 0.0f) + noise(random));
      for (int d = 0; d < 4; ++d) tags.push_back(d == t % 4 ? 0.9f : 0.1f);
    }
    analysis.vectors = {{space_id, values}, {tags_id, tags}};
    commit_track(store, analysis);
  }
  close_store(store);
  return db;
}

const fs::path& collection() {
  static const fs::path db = make_collection();
  return db;
}

std::string points_path(const std::string& method, const std::string& extra) {
  return "/api/points?space=" + kSpace + "&tracks=all&method=" + method + "&" + extra;
}

// Reads a streamed response, parsing frames as they complete; `on_frame` returns false to
// close the connection.
struct Streamed {
  std::vector<ParsedFrame> frames;
  int status = 0;
};

Streamed stream(int port, const std::string& path, const std::function<bool(const ParsedFrame&)>& on_frame = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  Streamed out;
  std::string buffer;
  auto res = client.Get(path.c_str(), [&](const char* data, size_t length) {
    buffer.append(data, length);
    // Cut complete frames off the front of the buffer.
    while (buffer.size() >= 4) {
      const auto* p = reinterpret_cast<const uint8_t*>(buffer.data());
      const uint32_t header_bytes = p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24;
      if (buffer.size() < 4 + header_bytes) break;
      const auto header = nlohmann::json::parse(buffer.substr(4, header_bytes));
      size_t size = 4 + header_bytes;
      for (const auto& a : header["arrays"]) size += (a["count"].get<size_t>() * 4 + 3) / 4 * 4;
      if (buffer.size() < size) break;
      out.frames.push_back(parse_frames(buffer.substr(0, size)).at(0));
      buffer.erase(0, size);
      if (on_frame && !on_frame(out.frames.back())) return false;
    }
    return true;
  });
  if (res) out.status = res->status;
  return out;
}

}  // namespace

TEST(ServerIterative, TsneStreamsProgressFramesThenTheFinalLayout) {
  ServerHandle server = start_server({.db_path = collection().string(), .port = 0, .search_web_dir = false});
  const Streamed got = stream(server_port(*server), points_path("tsne", "iterations=200&perplexity=20"));
  ASSERT_EQ(got.status, 200);
  ASSERT_GE(got.frames.size(), 3u);
  int last_iteration = 0;
  for (size_t f = 0; f + 1 < got.frames.size(); ++f) {
    const ParsedFrame& frame = got.frames[f];
    EXPECT_EQ(frame.header["kind"], "progress");
    EXPECT_EQ(frame.header["n"], kTracks * kSegmentsPerTrack);
    EXPECT_EQ(frame.header["of"], 200);
    EXPECT_EQ(frame.header["method"], "tsne");  // server/API.md: every frame names its method
    EXPECT_GT(frame.header["iteration"].get<int>(), last_iteration);
    last_iteration = frame.header["iteration"];
    EXPECT_EQ(frame.arrays.at("xy").count, size_t(2 * kTracks * kSegmentsPerTrack));
  }
  const ParsedFrame& final = got.frames.back();
  EXPECT_EQ(final.header["kind"], "final");
  EXPECT_EQ(final.header["method"], "tsne");
  EXPECT_EQ(final.header["iteration"], 200);
  EXPECT_EQ(final.arrays.at("track").count, size_t(kTracks * kSegmentsPerTrack));
  // Clustered input: the layout keeps neighbourhoods (trustworthiness of a sample).
  EXPECT_GT(final.header["trustworthiness"].get<double>(), 0.9);
  // Four clusters in the layout, each named by its own tag; its centre is where its points are.
  const nlohmann::json& clusters = final.header["clusters"];
  ASSERT_EQ(clusters.size(), 4u) << clusters.dump();
  std::set<std::string> names;
  for (const auto& c : clusters) {
    const std::string name = c["tags"][0]["name"];
    names.insert(name);
    EXPECT_NEAR(c["tags"][0]["mean"].get<double>(), 0.9, 0.05) << name;
    EXPECT_GT(c["count"].get<int>(), kTracks * kSegmentsPerTrack / 4 * 3 / 4) << name;  // most of its points
    // The centre is nearest to the segments of tracks of that tag's cluster.
    const int cluster = static_cast<int>(std::find(kTagNames, kTagNames + 4, name) - kTagNames);
    double best = 1e30;
    int best_track = -1;
    const ParsedArray &xy = final.arrays.at("xy"), &track = final.arrays.at("track");
    for (size_t i = 0; i < track.count; ++i) {
      const double d = std::hypot(xy.f32(2 * i) - c["x"].get<double>(), xy.f32(2 * i + 1) - c["y"].get<double>());
      if (d < best) best = d, best_track = track.i32(i);
    }
    EXPECT_EQ((best_track - 1) % 4, cluster) << name;  // track ids start at 1, in creation order
  }
  EXPECT_EQ(names.size(), 4u);
}

TEST(ServerIterative, UmapOfTrackAveragesLowersNNeighborsToWhatFewPointsAllow) {
  ServerHandle server = start_server({.db_path = collection().string(), .port = 0, .search_web_dir = false});
  const Streamed got = stream(server_port(*server), points_path("umap", "granularity=averages&n_neighbors=100"));
  ASSERT_EQ(got.status, 200);
  const ParsedFrame& final = got.frames.back();
  EXPECT_EQ(final.header["kind"], "final");
  EXPECT_EQ(final.header["n"], kTracks);
  EXPECT_EQ(final.header["n_neighbors"], kTracks - 1);
  EXPECT_EQ(final.arrays.at("size").count, size_t(kTracks));
}

TEST(ServerIterative, ANewerRequestCancelsTheOlderOne) {
  ServerHandle server = start_server({.db_path = collection().string(), .port = 0, .search_web_dir = false});
  const int port = server_port(*server);
  std::atomic<bool> older_started = false;
  Streamed older;
  std::thread first([&] {
    older = stream(port, points_path("tsne", "iterations=10000&perplexity=20&seed=1"), [&](const ParsedFrame&) {
      older_started = true;
      return true;
    });
  });
  while (!older_started) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const Streamed newer = stream(port, points_path("umap", "iterations=50"));
  first.join();
  ASSERT_FALSE(older.frames.empty());
  EXPECT_EQ(older.frames.back().header["kind"], "progress") << "the older request ran to its end";
  EXPECT_LT(older.frames.back().header["iteration"].get<int>(), 10000);
  ASSERT_FALSE(newer.frames.empty());
  EXPECT_EQ(newer.frames.back().header["kind"], "final");
  EXPECT_EQ(newer.frames.back().header["method"], "umap");
}

TEST(ServerIterative, ASecondIdenticalRequestIsServedFromTheCollectionCache) {
  ServerHandle server = start_server({.db_path = collection().string(), .port = 0, .search_web_dir = false});
  const std::string path = points_path("tsne", "iterations=100&perplexity=15&seed=3");
  const Streamed computed = stream(server_port(*server), path);
  const Streamed cached = stream(server_port(*server), path);
  ASSERT_EQ(cached.frames.size(), 1u);
  EXPECT_EQ(cached.frames[0].header["cached"], true);
  const ParsedArray &a = computed.frames.back().arrays.at("xy"), &b = cached.frames[0].arrays.at("xy");
  ASSERT_EQ(a.count, b.count);
  for (size_t i = 0; i < a.count; ++i) ASSERT_EQ(a.f32(i), b.f32(i)) << i;
}

TEST(ServerIterative, TooFewPointsIsAClearError) {
  ServerHandle server = start_server({.db_path = collection().string(), .port = 0, .search_web_dir = false});
  httplib::Client client("127.0.0.1", server_port(*server));
  auto res = client.Get(("/api/points?space=" + kSpace + "&tracks=3&granularity=averages&method=tsne").c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("needs at least 4 points, the selection has 3"), std::string::npos) << res->body;
}

// Trustworthiness is memoised per layout on the server: alternating requests for different
// layouts must each get their own layout's value, equal to a direct computation on the points
// the frame names.
TEST(ServerIterative, TrustworthinessIsEachLayoutsOwn) {
  ServerHandle server = start_server({.db_path = collection().string(), .port = 0, .search_web_dir = false});
  Store store = open_store(collection().string(), OpenMode::read_only);
  const Space space = *find_space(store, kSpace);
  const auto direct = [&](const ParsedFrame& frame) {
    const int n = frame.header["n"];
    PointSet points{.n = n, .dims = space.dims};
    std::map<int64_t, TrackVectors> by_track;
    for (int i = 0; i < n; ++i) {
      const int64_t track = frame.arrays.at("track").i32(i);
      const int32_t segment = frame.arrays.at("segment").i32(i);
      if (!by_track.count(track)) by_track[track] = read_track_vectors(store, track, space.id);
      const std::vector<float>& v = by_track[track].values;
      points.values.insert(points.values.end(), v.begin() + segment * space.dims, v.begin() + (segment + 1) * space.dims);
    }
    Layout layout{.n = n, .out_dims = 2, .coords = {}, .explained_variance = {}, .explained_variance_ratio = {}};
    for (int i = 0; i < 2 * n; ++i) layout.coords.push_back(frame.arrays.at("xy").f32(i));
    return layout_quality(points, layout, {.k = 10, .sample = 1000, .seed = 0}).trustworthiness;
  };
  std::map<std::string, double> first;
  for (int round = 0; round < 2; ++round) {
    for (const std::string method : {"pca", "std-pca", "original"}) {
      const Streamed got = stream(server_port(*server), points_path(method, "x=1&y=2"));
      ASSERT_EQ(got.status, 200);
      ASSERT_EQ(got.frames.size(), 1u);
      const double served = got.frames[0].header["trustworthiness"];
      EXPECT_NEAR(served, direct(got.frames[0]), 1e-12) << method << " round " << round;
      if (round == 0) first[method] = served;
      else EXPECT_EQ(served, first[method]) << method;
    }
  }
  EXPECT_NE(first["pca"], first["original"]);  // different layouts, different values
}
