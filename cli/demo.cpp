// `tagscape demo`: fetch a free demo collection (game soundtracks from the Debian
// archive), analyse it, and show what the model hears in it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>

#include "cli/commands.h"
#include "common/error.h"
#include "store/store.h"

namespace tagscape::cli {

namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string music_dir = "demo-music";
  std::string db_path = "collection.tagscape";
  std::string models;
  bool no_serve = false;  // stop after the analysis (default: serve the explorer on it)
  int port = 8080;
  bool open_browser = false;
};

// scripts/fetch-demo: installed next to the binary, or in the source tree.
std::string fetch_script() {
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  for (const fs::path& candidate : {exe.parent_path().parent_path() / "share/tagscape/scripts/fetch-demo",
                                    fs::path(TAGSCAPE_SOURCE_DIR) / "scripts/fetch-demo"})
    if (fs::exists(candidate, error)) return candidate.string();
  throw Error("scripts/fetch-demo not found (looked next to the binary and in " TAGSCAPE_SOURCE_DIR ")");
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Each track's three strongest tags (mean over its segments).
void print_top_tags(const std::string& db_path) {
  Store store = open_store(db_path, OpenMode::read_only);
  const auto space = find_space(store, "msd-musicnn-1/taggrams");
  if (!space) return;
  const SpaceMatrix matrix = read_space(store, space->id);
  std::map<int64_t, Track> tracks;
  for (Track& track : list_tracks(store)) tracks[track.id] = std::move(track);
  std::printf("\nWhat msd-musicnn-1 hears (top 3 tags, mean over each track's segments):\n");
  for (size_t t = 0; t < matrix.track_ids.size(); ++t) {
    std::vector<double> mean(matrix.dims, 0.0);
    const int64_t rows = matrix.segment_offsets[t + 1] - matrix.segment_offsets[t];
    for (int64_t r = matrix.segment_offsets[t]; r < matrix.segment_offsets[t + 1]; ++r)
      for (int d = 0; d < matrix.dims; ++d) mean[d] += matrix.values[r * matrix.dims + d] / rows;
    std::vector<int> order(matrix.dims);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 3, order.end(), [&](int a, int b) { return mean[a] > mean[b]; });
    const Track& track = tracks[matrix.track_ids[t]];
    const std::string name = fs::path(track.file.path).parent_path().filename().string() + "/" +
                             fs::path(track.file.path).filename().string();
    std::printf("  %-52s %s %.2f, %s %.2f, %s %.2f\n", name.substr(0, 52).c_str(), space->dim_names[order[0]].c_str(),
                mean[order[0]], space->dim_names[order[1]].c_str(), mean[order[1]], space->dim_names[order[2]].c_str(),
                mean[order[2]]);
  }
}

int run_demo(const DemoOptions& options) {
  const int fetched = std::system((quoted(fetch_script()) + " " + quoted(options.music_dir)).c_str());
  if (fetched != 0) throw Error("fetching the demo collection failed (see the messages above)");
  AnalyzeOptions analyze;
  analyze.roots = {options.music_dir};
  analyze.db_path = options.db_path;
  analyze.models = options.models;
  const int status = run_analyze_with_progress(analyze);
  print_top_tags(options.db_path);
  std::printf("\nCollection: %s — try `tagscape info --db %s`.\n", options.db_path.c_str(), options.db_path.c_str());
  if (options.no_serve) return status;
  std::printf("\nStarting the explorer (later: `tagscape serve --db %s`).\n", options.db_path.c_str());
  std::fflush(stdout);
  const int served = serve_until_stopped({.db_path = options.db_path, .port = options.port}, options.open_browser);
  return served != 0 ? served : status;
}

}  // namespace

Command add_demo_command(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* command = app.add_subcommand("demo", "Fetch a free demo collection (51 game soundtracks), analyse it and serve the explorer.");
  command->footer(
      "Downloads seven free game-soundtrack packages from the Debian archive (singularity-music,\n"
      "lincity-ng, hex-a-hop, pingus, tecnoballz, ri-li, asc-music: 143 MB, GPL and CC BY-SA 3.0\n"
      "music; apt-get download, no root needed), copies their 51 tracks (2 h 39 min) into --dir\n"
      "and analyses them (already analysed files are skipped on a re-run), then serves the\n"
      "explorer at http://127.0.0.1:8080/ until Ctrl-C. Sources and licenses: scripts/demo-sources.md.");
  command->add_option("--dir", options->music_dir, "Where to put the music.")->capture_default_str();
  command->add_option("--db", options->db_path, "Collection file.")->capture_default_str();
  command->add_option("--models", options->models, "Models to run (as `tagscape analyze --models`).");
  command->add_flag("--no-serve", options->no_serve, "Stop after the analysis instead of serving the explorer.");
  command->add_option("--port", options->port, "Port of the explorer (127.0.0.1).")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_flag("--open", options->open_browser, "Open the explorer in the default browser.");
  return [options] { return run_demo(*options); };
}

}  // namespace tagscape::cli
