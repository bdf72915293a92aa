// `tagscape info`: what a collection file holds.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "store/store.h"

namespace tagscape::cli {

namespace {

struct InfoOptions {
  std::string db_path = "collection.tagscape";
  bool json = false;
};

// The collection's bytes on disk: the database plus its write-ahead log, if any.
uint64_t bytes_on_disk(const std::string& path) {
  std::error_code error;
  uint64_t bytes = std::filesystem::file_size(path, error);
  if (error) bytes = 0;
  const uint64_t wal = std::filesystem::file_size(path + "-wal", error);
  return bytes + (error ? 0 : wal);
}

// "path: reason", without repeating the path when the reason already starts with it.
std::string failure_text(const TrackFailure& failure) {
  if (failure.error.rfind(failure.path, 0) == 0) return failure.error;
  return failure.path + ": " + failure.error;
}

std::string duration_text(double seconds) {
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  return text;
}

nlohmann::json summary_json(const std::string& path, const CollectionSummary& summary) {
  nlohmann::json spaces = nlohmann::json::array();
  for (const SpaceSummary& s : summary.spaces)
    spaces.push_back({{"name", s.space.name}, {"kind", space_kind_name(s.space.kind)}, {"model", s.space.model},
                      {"node", s.space.node}, {"dims", s.space.dims}, {"dim_names", s.space.dim_names}, {"tracks", s.tracks}});
  nlohmann::json failures = nlohmann::json::array();
  for (const TrackFailure& f : summary.failures) failures.push_back({{"path", f.path}, {"error", f.error}});
  return {{"path", path}, {"schema_version", summary.schema_version}, {"file_bytes", bytes_on_disk(path)},
          {"tracks", {{"ok", summary.tracks_ok}, {"failed", summary.tracks_failed}, {"removed", summary.tracks_removed}}},
          {"segments", summary.segments}, {"duration_s", summary.total_duration_s}, {"spaces", spaces}, {"failures", failures}};
}

void print_summary(const std::string& path, const CollectionSummary& summary) {
  std::printf("%s  (schema %d, %.1f MB)\n", path.c_str(), summary.schema_version, bytes_on_disk(path) / 1e6);
  std::printf("tracks    %lld analysed, %lld failed, %lld removed\n", static_cast<long long>(summary.tracks_ok),
              static_cast<long long>(summary.tracks_failed), static_cast<long long>(summary.tracks_removed));
  std::printf("segments  %lld\naudio     %s\n", static_cast<long long>(summary.segments),
              duration_text(summary.total_duration_s).c_str());
  std::printf("spaces    %zu\n", summary.spaces.size());
  for (const SpaceSummary& s : summary.spaces) {
    std::string names;
    for (size_t k = 0; k < std::min<size_t>(5, s.space.dim_names.size()); ++k) names += (k ? ", " : "") + s.space.dim_names[k];
    if (s.space.dim_names.size() > 5) names += ", ...";
    std::printf("  %-28s %-10s %4d dims  %6lld tracks  %s\n", s.space.name.c_str(), space_kind_name(s.space.kind),
                s.space.dims, static_cast<long long>(s.tracks), names.c_str());
  }
  const size_t shown = std::min<size_t>(20, summary.failures.size());
  if (shown) std::printf("failures  %zu\n", summary.failures.size());
  for (size_t k = 0; k < shown; ++k) std::printf("  %s\n", failure_text(summary.failures[k]).c_str());
  if (summary.failures.size() > shown) std::printf("  ... and %zu more (--json lists all)\n", summary.failures.size() - shown);
}

int run_info(const InfoOptions& options) {
  if (!std::filesystem::exists(options.db_path))
    throw Error(options.db_path + ": no such collection file (create one with `tagscape analyze MUSIC_DIR`)");
  Store store = open_store(options.db_path, OpenMode::read_only);
  const CollectionSummary summary = summarize(store);
  if (options.json) std::printf("%s\n", summary_json(options.db_path, summary).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else print_summary(options.db_path, summary);
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* command = app.add_subcommand("info", "Summarise a collection file: tracks, audio, spaces, failures.");
  command->add_option("--db", options->db_path, "Collection file.")->capture_default_str();
  command->add_flag("--json", options->json, "Print the summary as JSON.");
  return [options] { return run_info(*options); };
}

}  // namespace tagscape::cli
