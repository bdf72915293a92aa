// Tests of `tagscape serve` (server/): the real server, in-process on an ephemeral port on
// 127.0.0.1, over a real collection file built with the store API. Its tracks point at
// real audio files cut from the shared test mp3 with the ffmpeg CLI (mp3, ogg, wav); the
// vectors are synthetic. Queried with httplib::Client like the web app would.
#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "server/audio_segments.h"
#include "tests/frame_reader.h"
#include "server/static_files.h"
#include "store/content_hash.h"
#include "store/store.h"

using namespace tagscape;
using namespace tagscape::server;
namespace fs = std::filesystem;
using json = nlohmann::json;

using namespace tagscape::test;

namespace {

const std::string kSharedMp3 =
    std::string(TAGSCAPE_SHARED_DIR) + "/audio/joram-moments_of_clarity-08-solipsism-59-88.mp3";
constexpr double kSegmentS = 2.992;  // analysis segment length (187 frames x 256 / 16000)
constexpr int kTagDims = 50;

struct TestTrack {
  std::string file;    // base name in the music dir
  std::string codec;   // ffmpeg arguments
  double duration_s;
};

const TestTrack kTracks[] = {{"first.mp3", "-c:a libmp3lame -b:a 128k", 10.0},
                             {"second.ogg", "-c:a libvorbis -q:a 4", 8.0},
                             {"third.wav", "-c:a pcm_s16le", 7.0}};

// Audio files + a collection over them, built once for the whole suite.
struct Fixture {
  fs::path dir;
  fs::path db;
  fs::path web;  // a small "built web app" with a symlink pointing outside it
  std::vector<int64_t> track_ids;
  std::vector<int> segment_counts;
  int total_segments = 0;
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    f->dir = fs::temp_directory_path() / ("tagscape_server_test_" + std::to_string(getpid()));
    fs::remove_all(f->dir);
    fs::create_directories(f->dir / "music");
    f->db = f->dir / "collection.tagscape";
    Store store = open_store(f->db.string());
    Space tags{.name = "msd-musicnn-1/taggrams", .kind = SpaceKind::taggrams, .model = "msd-musicnn-1",
               .node = "model/Sigmoid", .dims = kTagDims};
    for (int d = 0; d < kTagDims; ++d) tags.dim_names.push_back("tag" + std::to_string(d));
    tags.dim_names[0] = "rock";
    tags.dim_names[1] = "electronic";
    const int64_t tags_id = upsert_space(store, tags);
    const int64_t moods_id = upsert_space(store, {.name = "moods", .kind = SpaceKind::moods, .dims = 5,
                                                  .dim_names = {"happy", "sad", "relaxed", "aggressive", "danceable"}});
    uint32_t state = 12345;
    auto next = [&state] { return (state = state * 1664525u + 1013904223u) / 4294967296.0f; };
    for (const TestTrack& t : kTracks) {
      const fs::path path = f->dir / "music" / t.file;
      const std::string command = "ffmpeg -v error -y -ss 5 -t " + std::to_string(t.duration_s) + " -i '" + kSharedMp3 +
                                  "' " + t.codec + " '" + path.string() + "'";
      if (std::system(command.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + command);
      TrackAnalysis analysis;
      analysis.file = {path.string(), static_cast<int64_t>(fs::file_size(path)), 1, hash_file_content(path.string())};
      analysis.metadata = {.title = "Title of " + t.file, .artist = "Joram", .album = "Moments", .genre = "Ambient"};
      analysis.duration_s = t.duration_s;
      const int segments = static_cast<int>(t.duration_s / kSegmentS);
      for (int k = 0; k < segments; ++k) analysis.segments.push_back({k * kSegmentS, (k + 1) * kSegmentS});
      std::vector<float> tag_values(segments * kTagDims), mood_values(segments * 5);
      for (float& v : tag_values) v = 0.01f + 0.98f * next();
      for (float& v : mood_values) v = next();
      analysis.vectors = {{tags_id, tag_values}, {moods_id, mood_values}};
      f->track_ids.push_back(commit_track(store, analysis));
      f->segment_counts.push_back(segments);
      f->total_segments += segments;
    }
    mark_track_failed(store, {(f->dir / "music" / "broken.mp3").string(), 10, 1, "0000000000000000"}, "not audio");
    close_store(store);

    f->web = f->dir / "web";
    fs::create_directories(f->web / "assets");
    std::ofstream(f->web / "index.html") << "<!doctype html><title>tagscape test app</title>";
    std::ofstream(f->web / "assets" / "app-1234.js") << "console.log('app')";
    std::ofstream(f->dir / "secret.txt") << "SECRET OUTSIDE THE WEB DIR";
    fs::create_symlink(f->dir / "secret.txt", f->web / "leak.txt");
    return f;
  }();
  return *f;
}

ServerHandle start_test_server(const std::string& token = "") {
  ServerOptions options;
  options.db_path = fixture().db.string();
  options.port = 0;
  options.token = token;
  options.web_dir = fixture().web.string();
  return start_server(options);
}

// One server for the read-only tests.
Server& shared_server() {
  static ServerHandle server = start_test_server();
  return *server;
}

httplib::Client client(Server& server = shared_server()) {
  httplib::Client c("127.0.0.1", server_port(server));
  c.set_read_timeout(30, 0);
  return c;
}

json get_json(const std::string& path, int expected_status = 200) {
  auto c = client();
  auto res = c.Get(path.c_str());
  EXPECT_TRUE(res) << path;
  if (!res) return {};
  EXPECT_EQ(res->status, expected_status) << path << ": " << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
  return json::parse(res->body);
}

std::vector<ParsedFrame> get_frames(const std::string& path) {
  auto c = client();
  auto res = c.Get(path.c_str());
  EXPECT_TRUE(res);
  if (!res) return {};
  EXPECT_EQ(res->status, 200) << path << ": " << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/octet-stream");
  return parse_frames(res->body);
}

uint32_t le32(const std::string& s, size_t at) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data() + at);
  return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

// ---- JSON endpoints -------------------------------------------------------------------

TEST(ServerApi, SummaryDescribesTheCollection) {
  const json summary = get_json("/api/summary");
  EXPECT_EQ(summary["version"], 1);
  EXPECT_EQ(summary["collection"]["tracks"], 3);
  EXPECT_EQ(summary["collection"]["failed"], 1);
  EXPECT_EQ(summary["collection"]["segments"], fixture().total_segments);
  EXPECT_EQ(summary["collection"]["name"], "collection.tagscape");
  ASSERT_EQ(summary["spaces"].size(), 2u);
  EXPECT_EQ(summary["spaces"][0]["name"], "msd-musicnn-1/taggrams");
  EXPECT_EQ(summary["spaces"][0]["dims"], kTagDims);
  EXPECT_EQ(summary["spaces"][0]["dim_names"][0], "rock");
  EXPECT_EQ(summary["spaces"][0]["tracks"], 3);
  ASSERT_EQ(summary["models"].size(), 4u);  // the paper's four taggers, analysed or not
  for (const json& model : summary["models"]) {
    EXPECT_EQ(model["analysed"], model["id"] == "msd-musicnn-1") << model.dump();
    EXPECT_NE(model["command"].get<std::string>().find(model["id"].get<std::string>()), std::string::npos);
  }
  EXPECT_EQ(summary["moods"]["analysed"], true);
  EXPECT_EQ(summary.dump().find(fixture().dir.string()), std::string::npos) << "a path leaked";
}

TEST(ServerApi, TrackListHasIdsAndBaseNamesNeverPaths) {
  auto c = client();
  auto res = c.Get("/api/tracks");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->body.find(fixture().dir.string()), std::string::npos) << "a path leaked";
  const json tracks = json::parse(res->body);
  ASSERT_EQ(tracks.size(), 3u);  // the failed track is not listed
  for (size_t i = 0; i < tracks.size(); ++i) {
    EXPECT_EQ(tracks[i]["id"], fixture().track_ids[i]);
    EXPECT_EQ(tracks[i]["file"], kTracks[i].file);
    EXPECT_EQ(tracks[i]["file"].get<std::string>().find('/'), std::string::npos);
    EXPECT_EQ(tracks[i]["segments"], fixture().segment_counts[i]);
    EXPECT_EQ(tracks[i]["artist"], "Joram");
  }
  const json one = get_json("/api/tracks/" + std::to_string(fixture().track_ids[0]));
  ASSERT_EQ(one["segment_times"].size(), size_t(fixture().segment_counts[0]));
  EXPECT_DOUBLE_EQ(one["segment_times"][1][0].get<double>(), kSegmentS);
  const json vectors = get_json("/api/tracks/" + std::to_string(fixture().track_ids[1]) + "/vectors?space=moods");
  EXPECT_EQ(vectors["dims"], 5);
  EXPECT_EQ(vectors["values"].size(), size_t(fixture().segment_counts[1]));
}

// ---- binary points ------------------------------------------------------------------

TEST(ServerPoints, PcaOfAllSegmentsIsOneFrameWithIdsOfTheCollection) {
  const auto frames = get_frames("/api/points?space=msd-musicnn-1/taggrams&tracks=all&method=pca");
  ASSERT_EQ(frames.size(), 1u);
  const ParsedFrame& frame = frames[0];
  const int n = fixture().total_segments;
  EXPECT_EQ(frame.header["kind"], "final");
  EXPECT_EQ(frame.header["n"], n);
  ASSERT_EQ(frame.header["explained_variance"].size(), 2u);
  EXPECT_GE(frame.header["explained_variance"][0].get<double>(), frame.header["explained_variance"][1].get<double>());
  ASSERT_EQ(frame.arrays.at("xy").count, size_t(2 * n));
  ASSERT_EQ(frame.arrays.at("track").count, size_t(n));
  ASSERT_EQ(frame.arrays.at("segment").count, size_t(n));
  EXPECT_EQ(frame.arrays.count("size"), 0u);
  const std::set<int64_t> ids(fixture().track_ids.begin(), fixture().track_ids.end());
  std::map<int64_t, int> per_track;
  for (int i = 0; i < n; ++i) {
    const int32_t track = frame.arrays.at("track").i32(i);
    ASSERT_TRUE(ids.count(track)) << "unknown track id " << track;
    EXPECT_EQ(frame.arrays.at("segment").i32(i), per_track[track]++) << "segments in time order";
    EXPECT_TRUE(std::isfinite(frame.arrays.at("xy").f32(2 * i)));
  }
  for (size_t t = 0; t < ids.size(); ++t) EXPECT_EQ(per_track[fixture().track_ids[t]], fixture().segment_counts[t]);
}

TEST(ServerPoints, OriginalAxesByTagNameAreTheStoredValues) {
  const auto frames = get_frames("/api/points?space=msd-musicnn-1/taggrams&tracks=all&method=original&x=electronic&y=rock");
  ASSERT_EQ(frames.size(), 1u);
  Store store = open_store(fixture().db.string(), OpenMode::read_only);
  const Space space = *find_space(store, "msd-musicnn-1/taggrams");
  const TrackVectors v = read_track_vectors(store, fixture().track_ids[0], space.id);
  const ParsedArray& xy = frames[0].arrays.at("xy");
  EXPECT_EQ(xy.f32(0), v.values[1]);  // x = dim 1 'electronic' of track 0 segment 0
  EXPECT_EQ(xy.f32(1), v.values[0]);  // y = dim 0 'rock'
}

TEST(ServerPoints, AveragesHaveOnePointPerTrackWithSize) {
  const auto frames = get_frames("/api/points?space=moods&tracks=2&seed=3&granularity=averages&method=std-pca");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header["n"], 2);
  ASSERT_EQ(frames[0].arrays.at("size").count, 2u);
  EXPECT_GT(frames[0].arrays.at("size").f32(0), 0);
  EXPECT_EQ(frames[0].arrays.at("segment").i32(0), -1);
}

TEST(ServerPoints, MoreTracksThanTheCollectionAreClampedToAll) {
  const auto frames = get_frames("/api/points?space=moods&tracks=1000&method=pca");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header["n"], fixture().total_segments);
}

// ---- validation --------------------------------------------------------------------

TEST(ServerValidation, BadParametersAreJsonErrorsNamingTheProblem) {
  struct Case {
    std::string query;
    int status;
    std::string says;  // substring of the error message
  };
  const Case cases[] = {
      {"/api/points?space=nope", 404, "available: msd-musicnn-1/taggrams, moods"},
      {"/api/points", 400, "space: required"},
      {"/api/points?space=moods&method=magic", 400, "method: expected original|pca|std-pca|tsne|umap"},
      {"/api/points?space=moods&tracks=-1", 400, "tracks: expected an integer"},
      {"/api/points?space=moods&tracks=0", 400, "tracks"},
      {"/api/points?space=moods&tracks=99999999999999", 400, "tracks"},
      {"/api/points?space=moods&tracks=12abc", 400, "tracks"},
      {"/api/points?space=moods&tracks=10&tracks=20", 400, "given more than once"},
      {"/api/points?space=moods&granularity=tracks", 400, "granularity"},
      {"/api/points?space=moods&method=pca&x=9", 400, "x: expected an integer 0..4"},
      {"/api/points?space=moods&method=original&y=nosuchtag", 400, "nosuchtag"},
      {"/api/points?space=moods&perplexity=nan", 400, "perplexity"},
      {"/api/points?space=moods&perplexty=30", 400, "unknown parameter 'perplexty'"},
      {"/api/tracks/999999", 404, "no analysed track with id 999999"},
      {"/api/tracks/abc", 400, "track id"},
      {"/api/tracks/1/vectors?space=nope", 404, "unknown space"},
      {"/api/audio/1/9999", 404, "segments"},
      {"/api/audio/-1/0", 400, "track id"},
      {"/api/nothing", 404, "no such endpoint"},
  };
  auto c = client();
  for (const Case& k : cases) {
    auto res = c.Get(k.query.c_str());
    ASSERT_TRUE(res) << k.query;
    EXPECT_EQ(res->status, k.status) << k.query << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << k.query;
    const json body = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body.contains("error")) << k.query << ": " << res->body;
    EXPECT_NE(body["error"].get<std::string>().find(k.says), std::string::npos)
        << k.query << " said: " << body["error"] << ", expected it to mention: " << k.says;
  }
}

TEST(ServerValidation, OversizedRequestsAreRefused) {
  auto c = client();
  auto res = c.Post("/api/points?space=moods", std::string(kMaxRequestBodyBytes + 1, 'x'), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  const std::string long_name(5000, 'a');
  res = c.Get(("/api/points?space=" + long_name).c_str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_LT(res->body.size(), 1000u) << "error messages quote bounded parts of a value";
}

TEST(ServerSafety, TraversalAttemptsNeverReachTheFileSystem) {
  const std::string attempts[] = {
      "/api/audio/..%2f..%2fetc%2fpasswd",  "/api/audio/..%2f..%2fetc%2fpasswd/0", "/api/audio/1/..%2f..%2fsecret.txt",
      "/..%2f..%2fetc%2fpasswd",            "/..%2fsecret.txt",                    "/%2e%2e/secret.txt",
      "/assets/..%2f..%2fsecret.txt",       "/leak.txt",                           "/assets",
      "/assets/",                           "/.%2e/secret.txt",                    "/index.html%00.js",
  };
  auto c = client();
  for (const std::string& path : attempts) {
    auto res = c.Get(path.c_str());
    ASSERT_TRUE(res) << path;
    EXPECT_TRUE(res->status == 400 || res->status == 404) << path << " -> " << res->status;
    EXPECT_EQ(res->body.find("root:"), std::string::npos) << path;
    EXPECT_EQ(res->body.find("SECRET"), std::string::npos) << path;
  }
}

TEST(ServerSafety, StaticAppAndSecurityHeaders) {
  auto c = client();
  auto res = c.Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("tagscape test app"), std::string::npos);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const std::string csp = res->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("media-src 'self' blob:"), std::string::npos);
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  res = c.Get("/assets/app-1234.js");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  res = c.Get("/api/summary");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST(ServerSafety, FallbackPageWhenNoWebAppIsBuilt) {
  ServerHandle server = start_server({.db_path = fixture().db.string(), .port = 0, .search_web_dir = false});
  httplib::Client c("127.0.0.1", server_port(*server));
  auto res = c.Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("npm ci"), std::string::npos);
  res = c.Get("/assets/app-1234.js");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = c.Get("/api/summary");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << "the API works without the app";
}

// ---- audio -------------------------------------------------------------------------

TEST(ServerAudio, SegmentIsA16kMonoWavOfTheSegmentsLength) {
  auto c = client();
  for (size_t t = 0; t < 3; ++t) {
    const std::string path = "/api/audio/" + std::to_string(fixture().track_ids[t]) + "/1";
    auto res = c.Get(path.c_str());
    ASSERT_TRUE(res) << path;
    ASSERT_EQ(res->status, 200) << path << ": " << res->body;
    const std::string& wav = res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "audio/wav");
    EXPECT_EQ(res->get_header_value("Cache-Control"), "public, max-age=86400");
    ASSERT_GE(wav.size(), 44u);
    EXPECT_EQ(wav.substr(0, 4), "RIFF");
    EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
    EXPECT_EQ(le32(wav, 4), wav.size() - 8);
    EXPECT_EQ(le32(wav, 20) & 0xffff, 1u);           // PCM
    EXPECT_EQ(le32(wav, 20) >> 16, 1u);              // mono
    EXPECT_EQ(le32(wav, 24), 16000u);                // rate
    EXPECT_EQ(le32(wav, 32) >> 16, 16u);             // bits
    EXPECT_EQ(wav.substr(36, 4), "data");
    const double samples = le32(wav, 40) / 2.0;
    EXPECT_NEAR(samples, kSegmentS * 16000, 1) << kTracks[t].file;
    EXPECT_EQ(le32(wav, 40), wav.size() - 44);
    double energy = 0;
    for (size_t i = 44; i + 1 < wav.size(); i += 2) {
      const int16_t v = int16_t(uint8_t(wav[i]) | uint8_t(wav[i + 1]) << 8);
      energy += double(v) * v;
    }
    EXPECT_GT(std::sqrt(energy / samples), 100) << "the segment is music, not silence";
    auto again = c.Get(path.c_str());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, wav);
    EXPECT_EQ(again->get_header_value("Server-Timing").rfind("hit", 0), 0u) << "second request from the cache";
  }
}

TEST(ServerAudio, SegmentCacheStaysWithinItsBudget) {
  SegmentCache cache(250);
  for (int k = 0; k < 10; ++k)
    cache_insert(cache, {1, k, "h"}, std::make_shared<const std::string>(100, char('a' + k)));
  EXPECT_LE(cache.bytes, 250u);
  EXPECT_EQ(cache.lru.size(), 2u);
  EXPECT_TRUE(cache_find(cache, {1, 9, "h"}));
  EXPECT_TRUE(cache_find(cache, {1, 8, "h"}));
  EXPECT_FALSE(cache_find(cache, {1, 7, "h"}));
  EXPECT_FALSE(cache_find(cache, {1, 9, "other content"}));
  cache_insert(cache, {1, 10, "h"}, std::make_shared<const std::string>(100, 'z'));
  EXPECT_FALSE(cache_find(cache, {1, 9, "h"}) && cache_find(cache, {1, 8, "h"}));  // LRU evicted one
}

TEST(ServerAudio, WholeTrackIsItsDecodedLength) {
  auto c = client();
  auto res = c.Get(("/api/audio/" + std::to_string(fixture().track_ids[2])).c_str());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_NEAR(le32(res->body, 40) / 2.0, kTracks[2].duration_s * 16000, 1);
  // <audio> seeks with Range requests.
  auto part = c.Get(("/api/audio/" + std::to_string(fixture().track_ids[2])).c_str(), {{"Range", "bytes=44-143"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, res->body.substr(44, 100));
}

// ---- concurrency and auth -------------------------------------------------------------

TEST(ServerConcurrency, EightThreadsOfMixedRequestsAllSucceed) {
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      auto c = client();
      for (int k = 0; k < 12; ++k) {
        const int track = (t + k) % 3;
        const std::string paths[] = {
            "/api/audio/" + std::to_string(fixture().track_ids[track]) + "/" + std::to_string(k % fixture().segment_counts[track]),
            "/api/points?space=msd-musicnn-1/taggrams&tracks=2&seed=" + std::to_string(k) + "&method=pca",
            "/api/summary", "/api/tracks"};
        auto res = c.Get(paths[k % 4].c_str());
        (res && res->status == 200 ? ok : failed)++;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(ok, 96);
}

TEST(ServerAuth, NonLoopbackHostNeedsAToken) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.8.9.10"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.5"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  ServerOptions options{.db_path = fixture().db.string(), .host = "0.0.0.0"};
  const auto problem = check_server_options(options);
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("--token"), std::string::npos);
  options.token = "s3cret";
  EXPECT_FALSE(check_server_options(options));
  options.db_path = (fixture().dir / "missing.tagscape").string();
  EXPECT_TRUE(check_server_options(options));

  EXPECT_TRUE(request_authorized("", "", std::nullopt));
  EXPECT_TRUE(request_authorized("s3cret", "Bearer s3cret", std::nullopt));
  EXPECT_TRUE(request_authorized("s3cret", "", std::string("s3cret")));
  EXPECT_FALSE(request_authorized("s3cret", "", std::nullopt));
  EXPECT_FALSE(request_authorized("s3cret", "Bearer s3cre", std::nullopt));
  EXPECT_FALSE(request_authorized("s3cret", "Bearer s3cretX", std::nullopt));
  EXPECT_FALSE(request_authorized("s3cret", "Basic s3cret", std::nullopt));
  EXPECT_FALSE(request_authorized("s3cret", "", std::string("")));
}

TEST(ServerAuth, TokenServerRefusesApiRequestsWithoutIt) {
  ServerHandle server = start_test_server("s3cret");
  httplib::Client c("127.0.0.1", server_port(*server));
  auto res = c.Get("/api/summary");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = c.Get("/api/summary", {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = c.Get("/api/summary", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = c.Get("/api/points?space=moods&token=s3cret");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = c.Get("/");  // the app itself is public; it carries the token into its API calls
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(ServerLifecycle, StopsPromptlyAndPortIsReported) {
  ServerHandle server = start_test_server();
  EXPECT_GT(server_port(*server), 0);
  stop_server(*server);
  stop_server(*server);  // idempotent
  httplib::Client c("127.0.0.1", server_port(*server));
  c.set_connection_timeout(1, 0);
  EXPECT_FALSE(c.Get("/api/summary"));
}

// ---- kNN ------------------------------------------------------------------------------

TEST(ServerKnn, NeighboursOfASegmentAreOtherSegmentsNearestFirst) {
  const int64_t track = fixture().track_ids[0];
  const json body = get_json("/api/knn?space=msd-musicnn-1/taggrams&track=" + std::to_string(track) +
                             "&segment=1&k=4&metric=euclidean");
  ASSERT_EQ(body["neighbours"].size(), 4u);
  // Brute force over the stored vectors, written here independently of projection/.
  Store store = open_store(fixture().db.string(), OpenMode::read_only);
  const Space space = *find_space(store, "msd-musicnn-1/taggrams");
  const TrackVectors query = read_track_vectors(store, track, space.id);
  std::vector<std::tuple<double, int64_t, int>> all;
  for (size_t t = 0; t < fixture().track_ids.size(); ++t) {
    const TrackVectors v = read_track_vectors(store, fixture().track_ids[t], space.id);
    for (int s = 0; s < v.segments; ++s) {
      if (fixture().track_ids[t] == track && s == 1) continue;
      double d2 = 0;
      for (int d = 0; d < v.dims; ++d) {
        const double diff = v.values[s * v.dims + d] - query.values[1 * v.dims + d];
        d2 += diff * diff;
      }
      all.emplace_back(std::sqrt(d2), fixture().track_ids[t], s);
    }
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(body["neighbours"][i]["track"], std::get<1>(all[i])) << i;
    EXPECT_EQ(body["neighbours"][i]["segment"], std::get<2>(all[i])) << i;
    EXPECT_NEAR(body["neighbours"][i]["distance"].get<double>(), std::get<0>(all[i]), 1e-4) << i;
  }
}

TEST(ServerKnn, TrackAveragesAndValidation) {
  const json body = get_json("/api/knn?space=moods&track=" + std::to_string(fixture().track_ids[0]) + "&k=10");
  ASSERT_EQ(body["neighbours"].size(), 2u);  // k clamped to the other tracks
  for (const json& n : body["neighbours"]) {
    EXPECT_EQ(n["segment"], -1);
    EXPECT_NE(n["track"], fixture().track_ids[0]);
  }
  get_json("/api/knn?space=moods", 400);
  get_json("/api/knn?space=moods&track=1&k=0", 400);
  get_json("/api/knn?space=moods&track=1&metric=manhattan", 400);
  get_json("/api/knn?space=moods&track=424242", 404);
  get_json("/api/knn?space=nope&track=1", 404);
}
