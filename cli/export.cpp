// `tagscape export`: one space of a collection as files for numpy / pandas.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "common/error.h"
#include "store/export.h"
#include "store/store.h"

namespace tagscape::cli {

namespace {

struct ExportOptions {
  std::string db_path = "collection.tagscape";
  std::string space;
  std::string format = "npy";
  bool average = false;
  std::string out;
};

// The layouts of store/export.h, for `tagscape export --help`.
constexpr const char* kLayoutHelp = R"(Layouts (rows: the segments of every analysed track, tracks in id order):
  npy    OUT/ is a directory (created; an earlier export there is replaced):
           vectors.npy   float32 [rows, dims]                 np.load("OUT/vectors.npy")
           segments.csv  row,track_id,segment_index,start_s,end_s  (row = vectors.npy row)
           tracks.csv    row,track_id,path,title,artist,album,genre,year,track_number,
                         duration_s,segments,first_row       pd.read_csv("OUT/tracks.csv")
           dims.json     the dims' names (tags, moods) or d0..dN
  csv    one file: track_id,path,segment_index,start_s,end_s,<dim names>  (RFC 4180)
  jsonl  one file, a JSON object per segment:
           {"track_id":..,"path":..,"segment_index":..,"start_s":..,"end_s":..,"vector":[..]}
  --average: one row per track, the mean of its segments (npy: no segments.csv, row i =
  tracks.csv row i; csv/jsonl: track metadata columns and "segments" instead of times).
Numbers are the shortest text that reads back to the same float32/float64 exactly.
Files are written under a temporary name and renamed when complete.
Example: tagscape export --space msd-musicnn-1/taggrams --format npy taggrams/)";

int run_export(const ExportOptions& options) {
  const std::optional<ExportFormat> format = parse_export_format(options.format);
  if (!format) throw Error("unknown format '" + options.format + "' (expected npy, csv or jsonl)");
  if (!std::filesystem::exists(options.db_path))
    throw Error(options.db_path + ": no such collection file (create one with `tagscape analyze MUSIC_DIR`)");
  Store store = open_store(options.db_path, OpenMode::read_only);
  const ExportSummary done = export_space(store, {options.space, *format, options.out, options.average});
  std::fprintf(stderr, "exported %lld %s x %d dims of '%s' (%lld tracks):\n", static_cast<long long>(done.rows),
               options.average ? "tracks" : "segments", done.dims, options.space.c_str(),
               static_cast<long long>(done.tracks));
  for (const std::string& file : done.files) std::printf("%s\n", file.c_str());
  return 0;
}

}  // namespace

Command add_export_command(CLI::App& app) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = app.add_subcommand("export", "Export a space of a collection as npy, csv or jsonl for numpy/pandas.");
  command->add_option("--db", options->db_path, "Collection file.")->capture_default_str();
  command->add_option("--space", options->space, "Space to export, e.g. msd-musicnn-1/taggrams (`tagscape info` lists them).")
      ->required();
  command->add_option("--format", options->format, "npy (a directory), csv or jsonl (one file).")
      ->check(CLI::IsMember({"npy", "csv", "jsonl"}))
      ->capture_default_str();
  command->add_flag("--average", options->average, "One row per track: the mean of its segment vectors.");
  command->add_option("OUT", options->out, "Output directory (npy) or file (csv, jsonl).")->required();
  command->footer(kLayoutHelp);
  return [options] { return run_export(*options); };
}

}  // namespace tagscape::cli
