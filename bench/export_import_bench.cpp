// export_import_bench: `tagscape export` / `tagscape import` speed on a synthetic
// collection (default 1,667 tracks x 60 segments = 100k segments x 200 dims).
//
//   export_import_bench [TRACKS] [SEGMENTS_PER_TRACK] [DIMS] [TMP_DIR]
//
// Prints per format: wall time, output bytes, segments per second. Then writes one .npy
// per track (music-explore layout) and times the import of that folder as a new space.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "common/npy.h"
#include "store/export.h"
#include "store/import.h"
#include "store/store.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

uint64_t bytes_under(const fs::path& path) {
  if (fs::is_regular_file(path)) return fs::file_size(path);
  uint64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(path))
    if (entry.is_regular_file()) bytes += entry.file_size();
  return bytes;
}

std::string track_path(int t) { return "/music/artist" + std::to_string(t / 10) + "/track" + std::to_string(t) + ".mp3"; }

}  // namespace

int main(int argc, char** argv) {
  const int tracks = argc > 1 ? std::atoi(argv[1]) : 1667;
  const int segments = argc > 2 ? std::atoi(argv[2]) : 60;
  const int dims = argc > 3 ? std::atoi(argv[3]) : 200;
  const fs::path dir = fs::path(argc > 4 ? argv[4] : fs::temp_directory_path().string()) /
                       ("tagscape_export_bench_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string db = (dir / "bench.tagscape").string();

  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  {
    Store store = open_store(db);
    const int64_t space = upsert_space(store, {0, "emb", SpaceKind::embeddings, "msd-musicnn-1", "model/dense/BiasAdd", dims, {}});
    std::vector<Segment> times;
    for (int s = 0; s < segments; ++s) times.push_back({s * 2.992, (s + 1) * 2.992});
    std::vector<float> values(static_cast<size_t>(segments) * dims);
    for (int t = 0; t < tracks; ++t) {
      for (float& value : values) value = normal(rng);
      commit_track(store, {{track_path(t), 1, 1, "0000000000000000"}, {"title", "artist", "album", "", 2000, t}, segments * 2.992,
                           times, {{space, values}}});
    }
  }
  std::printf("collection: %d tracks x %d segments = %lld rows x %d dims (%.0f MB of float32)\n", tracks, segments,
              static_cast<long long>(tracks) * segments, dims, 4.0 * tracks * segments * dims / 1e6);

  const std::pair<const char*, ExportFormat> formats[] = {
      {"npy", ExportFormat::npy}, {"csv", ExportFormat::csv}, {"jsonl", ExportFormat::jsonl}};
  for (const auto& [name, format] : formats) {
    Store store = open_store(db, OpenMode::read_only);
    const fs::path out = dir / (std::string("out.") + name);
    const auto start = std::chrono::steady_clock::now();
    const ExportSummary summary = export_space(store, {"emb", format, out.string(), false});
    const double wall = seconds_since(start);
    std::printf("export %-5s %7.2f s  %8.1f MB  %9.0f rows/s\n", name, wall, bytes_under(out) / 1e6, summary.rows / wall);
    fs::remove_all(out);
  }

  // Import: one .npy per track, as music-explore writes them.
  const fs::path npy = dir / "npy";
  {
    std::vector<float> values(static_cast<size_t>(segments) * dims);
    for (int t = 0; t < tracks; ++t) {
      for (float& value : values) value = normal(rng);
      const fs::path file = npy / (track_path(t).substr(7) + ".npy");  // drop "/music/"
      fs::create_directories(file.parent_path());
      write_npy(file.string(), {segments, dims}, values.data());
    }
  }
  {
    Store store = open_store(db, OpenMode::existing);
    ImportRequest request;
    request.space_name = "imported";
    request.dir = npy.string();
    const auto start = std::chrono::steady_clock::now();
    const ImportReport report = import_npy_dir(store, request);
    const double wall = seconds_since(start);
    std::printf("import %lld files  %7.2f s  %6.2f ms/track  (%lld imported, %zu unmatched)\n",
                static_cast<long long>(report.files), wall, 1e3 * wall / tracks, static_cast<long long>(report.imported),
                report.unmatched.size());
  }
  fs::remove_all(dir);
  return 0;
}
