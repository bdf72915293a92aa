// `tagscape import`: per-track .npy vectors computed elsewhere into a space.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "common/error.h"
#include "store/import.h"
#include "store/store.h"

namespace tagscape::cli {

namespace {

struct ImportOptions {
  std::string db_path = "collection.tagscape";
  std::string space;
  std::string dim_names_file;
  std::string kind = "imported";
  std::string dir;
};

constexpr size_t kListed = 20;  // files listed per problem kind; the rest are counted

constexpr const char* kImportHelp = R"(Input: one .npy per track, float32 or float64 [segments, dims], named after the
audio file's path under the music folder, with or without its extension:
  music/rock/a.mp3 -> DIR/rock/a.mp3.npy or DIR/rock/a.npy  (MTG/music-explore, Essentia scripts)
A file matches the track whose path ends with the longest trailing part of the file's
path (with or without the audio extension); failing that, the track with that unique
file name or stem. Rows must equal the track's segment count in the collection (the
segments `tagscape analyze` cut: 3 s windows); other files are rejected and listed.
Every file must have the same dims. Each track is committed on its own; re-running
replaces vectors, never duplicates them.
Example: tagscape import --space vggish --dim-names names.txt vggish-npy/)";

void print_problems(const char* title, const std::vector<ImportProblem>& problems) {
  if (problems.empty()) return;
  std::printf("%s %zu:\n", title, problems.size());
  for (size_t k = 0; k < std::min(kListed, problems.size()); ++k) std::printf("  %s\n", problems[k].reason.c_str());
  if (problems.size() > kListed) std::printf("  ... and %zu more\n", problems.size() - kListed);
}

void print_report(const ImportOptions& options, const ImportReport& report) {
  std::printf("%s: %lld .npy files\n", options.dir.c_str(), static_cast<long long>(report.files));
  if (report.space_id == 0) std::printf("imported  nothing (space '%s' not created or changed)", options.space.c_str());
  else
    std::printf("imported  %lld tracks into '%s' (%d dims)", static_cast<long long>(report.imported),
                options.space.c_str(), report.dims);
  if (report.matched_by_name) std::printf(", %lld matched by file name only", static_cast<long long>(report.matched_by_name));
  std::printf("\n");
  if (!report.unmatched.empty()) {
    std::printf("unmatched %zu (no track with that path or name):\n", report.unmatched.size());
    for (size_t k = 0; k < std::min(kListed, report.unmatched.size()); ++k)
      std::printf("  %s\n", report.unmatched[k].c_str());
    if (report.unmatched.size() > kListed) std::printf("  ... and %zu more\n", report.unmatched.size() - kListed);
  }
  print_problems("ambiguous", report.ambiguous);
  print_problems("rejected ", report.rejected);
  std::printf("tracks in the collection without vectors from this import: %lld\n",
              static_cast<long long>(report.tracks_without_file));
}

int run_import(const ImportOptions& options) {
  if (!std::filesystem::exists(options.db_path))
    throw Error(options.db_path + ": no such collection file (create one with `tagscape analyze MUSIC_DIR`)");
  ImportRequest request;
  request.space_name = options.space;
  request.dir = options.dir;
  request.kind = parse_space_kind(options.kind);
  if (!options.dim_names_file.empty()) request.dim_names = read_dim_names_file(options.dim_names_file);
  Store store = open_store(options.db_path, OpenMode::existing);
  const ImportReport report = import_npy_dir(store, request);
  print_report(options, report);
  const bool all_imported = report.unmatched.empty() && report.ambiguous.empty() && report.rejected.empty();
  return all_imported ? 0 : 1;
}

}  // namespace

Command add_import_command(CLI::App& app) {
  auto options = std::make_shared<ImportOptions>();
  CLI::App* command = app.add_subcommand("import", "Import precomputed per-track .npy vectors as a space.");
  command->add_option("--db", options->db_path, "Collection file (must exist: `tagscape analyze` creates it).")
      ->capture_default_str();
  command->add_option("--space", options->space, "Name of the space to create or replace, e.g. vggish.")->required();
  command->add_option("--dim-names,--dims-names", options->dim_names_file, "File with one name per dim: one a line, or a JSON array.");
  command->add_option("--kind", options->kind, "Space kind recorded in the collection.")
      ->check(CLI::IsMember({"imported", "embeddings", "taggrams", "moods"}))
      ->capture_default_str();
  command->add_option("DIR", options->dir, "Folder of .npy files (searched recursively).")->required();
  command->footer(kImportHelp);
  return [options] { return run_import(*options); };
}

}  // namespace tagscape::cli
