// bench/store_bench.cpp — how fast the collection file writes and reads, and how big it gets.
//
//   store_bench [work_dir]   (default: /tmp/tagscape_store_bench; needs ~1 GB free)
//
// 1. commit 1,000 tracks x 60 segments x (50 taggram + 200 embedding dims), one
//    transaction per track as `tagscape analyze` does; file bytes per audio hour (3 s segments).
// 2. bulk read (read_space) of 1,000,020 segments x 200 dims (16,667 tracks x 60 segments).
// 3. lookup_track for every path (the incremental "already analysed?" check) and list_tracks.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "store/store.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Space space(const std::string& name, SpaceKind kind, int dims) {
  Space s;
  s.name = name;
  s.kind = kind;
  s.model = "msd-musicnn-1";
  s.dims = dims;
  return s;
}

// Commits `tracks` synthetic tracks of `segments` segments with random values in each space.
double commit_tracks(Store& store, int tracks, int segments, const std::vector<Space>& spaces) {
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  std::vector<std::vector<float>> values(spaces.size());
  for (size_t s = 0; s < spaces.size(); ++s) {
    values[s].resize(static_cast<size_t>(segments) * spaces[s].dims);
    for (float& v : values[s]) v = uniform(random);  // random: SQLite does not compress, but be honest
  }
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < tracks; ++t) {
    TrackAnalysis analysis;
    analysis.file = {"/music/library/artist " + std::to_string(t % 300) + "/album/track " + std::to_string(t) + ".mp3",
                     8'000'000 + t, 1'700'000'000'000'000'000 + t, "0123456789abcdef"};
    analysis.metadata = {"Title " + std::to_string(t), "Artist " + std::to_string(t % 300), "Album", "Rock", 1999, t % 12 + 1};
    analysis.duration_s = 3.0 * segments;
    for (int i = 0; i < segments; ++i) analysis.segments.push_back({3.0 * i, 3.0 * i + 3.0});
    for (size_t s = 0; s < spaces.size(); ++s) analysis.vectors.push_back({spaces[s].id, values[s]});
    commit_track(store, analysis);
  }
  return seconds_since(start);
}

uintmax_t file_bytes(const std::string& path) {
  uintmax_t total = fs::file_size(path);
  for (const char* suffix : {"-wal", "-shm"})
    if (fs::exists(path + suffix)) total += fs::file_size(path + suffix);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / "tagscape_store_bench";
  fs::remove_all(dir);
  fs::create_directories(dir);

  // 1. Commit speed and size.
  {
    const std::string path = (dir / "commit.tagscape").string();
    Store store = open_store(path);
    std::vector<Space> spaces = {space("msd-musicnn-1/taggrams", SpaceKind::taggrams, 50),
                                 space("msd-musicnn-1/embeddings", SpaceKind::embeddings, 200)};
    for (Space& s : spaces) s.id = upsert_space(store, s);
    const int tracks = 1000, segments = 60;
    const double elapsed = commit_tracks(store, tracks, segments, spaces);
    close_store(store);  // checkpoints the WAL into the file
    const double audio_hours = tracks * segments * 3.0 / 3600.0;
    const uintmax_t bytes = file_bytes(path);
    std::printf("commit: %d tracks x %d segments x (50+200) dims: %.2f s (%.2f ms/track)\n", tracks, segments, elapsed,
                1000.0 * elapsed / tracks);
    std::printf("size:   %.1f MB for %.1f audio hours = %.3f MB per audio hour (raw float32 payload %.3f MB/h)\n",
                bytes / 1e6, audio_hours, bytes / 1e6 / audio_hours, 1200.0 * 250 * 4 / 1e6);
  }

  // 2. Bulk read of 1M segments x 200 dims.
  {
    const std::string path = (dir / "bulk.tagscape").string();
    Store store = open_store(path);
    std::vector<Space> spaces = {space("msd-musicnn-1/embeddings", SpaceKind::embeddings, 200)};
    spaces[0].id = upsert_space(store, spaces[0]);
    const int tracks = 16667, segments = 60;
    const double write_s = commit_tracks(store, tracks, segments, spaces);
    close_store(store);
    std::printf("bulk:   wrote %d tracks (%d segments) in %.1f s, file %.0f MB\n", tracks, tracks * segments, write_s,
                file_bytes(path) / 1e6);
    Store reader = open_store(path, OpenMode::read_only);
    for (int run = 0; run < 3; ++run) {
      const auto start = std::chrono::steady_clock::now();
      const SpaceMatrix matrix = read_space(reader, spaces[0].id);
      const double elapsed = seconds_since(start);
      std::printf("bulk:   read_space run %d: %lld segments x %d dims (%.0f MB) in %.3f s = %.2f GB/s\n", run,
                  static_cast<long long>(matrix.segment_offsets.back()), matrix.dims, matrix.values.size() * 4 / 1e6,
                  elapsed, matrix.values.size() * 4 / 1e9 / elapsed);
    }

    // 3. Incremental lookups and listing.
    auto start = std::chrono::steady_clock::now();
    const std::vector<Track> listed = list_tracks(reader);
    const double list_s = seconds_since(start);
    start = std::chrono::steady_clock::now();
    size_t found = 0;
    for (const Track& track : listed) found += lookup_track(reader, track.file.path).has_value();
    const double lookup_s = seconds_since(start);
    std::printf("lookup: list_tracks %zu tracks in %.3f s; lookup_track x %zu in %.3f s (%.1f us each)\n", listed.size(),
                list_s, found, lookup_s, 1e6 * lookup_s / static_cast<double>(found));
  }
  if (!std::getenv("KEEP")) fs::remove_all(dir);
  return 0;
}
