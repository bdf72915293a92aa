// `tagscape analyze`: music folders into a collection file, incrementally.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "common/error.h"
#include "store/analyze.h"

namespace tagscape::cli {

namespace {

// Set by SIGINT/SIGTERM; the analyser stops after the current file's commit. A signal
// handler can only reach a global: this is the one the program has.
std::atomic<bool> g_stop_requested{false};

// The first signal asks for a clean stop; the default action is restored so that a
// second one ends the process at once (safe too: every commit is atomic).
void request_stop(int signal_number) {
  g_stop_requested = true;
  std::signal(signal_number, SIG_DFL);  // async-signal-safe
}

// --models is checked while parsing, so a bad list is a usage error (exit status 2).
std::string check_model_selection(const std::string& value) {
  try {
    expand_model_selection(value);
    return "";
  } catch (const Error& error) {
    const std::string message = error.what();  // CLI11 names the option itself
    return message.starts_with("--models: ") ? message.substr(10) : message;
  }
}

std::string clock_text(double seconds) {
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  return text;
}

void print_plan(const AnalyzePlanInfo& plan) {
  std::string selection;
  for (const std::string& id : plan.selection) selection += (selection.empty() ? "" : ", ") + id;
  std::fprintf(stderr, "%lld audio files: %lld to analyse, %lld to complete with new spaces, %lld unchanged, %lld back, %lld gone\n",
               static_cast<long long>(plan.files), static_cast<long long>(plan.to_analyse),
               static_cast<long long>(plan.to_update), static_cast<long long>(plan.to_skip),
               static_cast<long long>(plan.to_restore), static_cast<long long>(plan.to_remove));
  if (plan.seconds_per_audio_hour > 0)
    std::fprintf(stderr, "%zu network%s (%s): ≈ %.0f GFLOP per audio minute; at the speed measured now ≈ %.0f s per audio hour (%.0fx real time)\n",
                 plan.models.size(), plan.models.size() == 1 ? "" : "s", selection.c_str(), plan.gflop_per_audio_minute, plan.seconds_per_audio_hour,
                 3600 / plan.seconds_per_audio_hour);
}

void print_progress(const AnalyzeProgress& progress, bool terminal) {
  const double speed = progress.elapsed_s > 0 ? progress.audio_s / progress.elapsed_s : 0;
  if (!terminal) {  // errors already start with the file name
    const bool failed = progress.event == "failed";
    std::fprintf(stderr, "[%lld/%lld] %s %s%s%s\n", static_cast<long long>(progress.done),
                 static_cast<long long>(progress.total), progress.event.c_str(), failed ? "" : progress.file.c_str(),
                 progress.detail.empty() || failed ? "" : ": ", progress.detail.c_str());
    return;
  }
  const double fraction = progress.total ? static_cast<double>(progress.done) / progress.total : 1;
  const double byte_fraction =
      progress.bytes_total > 0 ? static_cast<double>(progress.bytes_done) / progress.bytes_total : fraction;
  // No ETA before some audio was analysed: failed files take no time and say nothing.
  const std::string eta = progress.audio_s > 0 && byte_fraction > 0
                              ? clock_text(progress.elapsed_s * (1 - byte_fraction) / byte_fraction)
                              : "--:--:--";
  const int width = 24, filled = static_cast<int>(fraction * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  std::string name = progress.file.substr(progress.file.find_last_of('/') + 1);
  if (name.size() > 30) name = name.substr(0, 27) + "...";
  std::fprintf(stderr, "\r\033[K[%s] %lld/%lld  %.2f h audio  %.0fx real time  ETA %s  %s", bar.c_str(),
               static_cast<long long>(progress.done), static_cast<long long>(progress.total), progress.audio_s / 3600,
               speed, eta.c_str(), name.c_str());
  if (progress.event == "failed")
    std::fprintf(stderr, "\r\033[Kfailed: %s\n", progress.detail.c_str());
}

void print_summary(const AnalyzeSummary& summary, bool terminal) {
  if (terminal) std::fprintf(stderr, "\n");
  for (const std::string& warning : summary.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  std::printf("%s: analysed %lld, completed %lld, restored %lld, unchanged %lld, removed %lld, failed %zu",
              summary.interrupted ? "interrupted" : "done", static_cast<long long>(summary.analysed),
              static_cast<long long>(summary.updated), static_cast<long long>(summary.restored),
              static_cast<long long>(summary.skipped), static_cast<long long>(summary.removed), summary.failures.size());
  if (summary.skipped_failed)
    std::printf(" (+%lld unchanged files that failed before; --force retries them)", static_cast<long long>(summary.skipped_failed));
  std::printf("\n%.1f min of audio in %s (%.0fx real time)\n", summary.audio_s / 60, clock_text(summary.wall_s).c_str(),
              summary.wall_s > 0 ? summary.audio_s / summary.wall_s : 0.0);
  for (const AnalyzeFailure& failure : summary.failures) std::printf("failed: %s\n", failure.error.c_str());
  if (summary.interrupted) {
    const AnalyzePlanInfo& plan = summary.plan;
    const int64_t handled = summary.analysed + summary.updated + summary.restored + static_cast<int64_t>(summary.failures.size());
    std::printf("%lld files left; run the same command again to continue\n",
                static_cast<long long>(plan.to_analyse + plan.to_update + plan.to_restore - handled));
  }
}

}  // namespace

int run_analyze_with_progress(const AnalyzeOptions& options) {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  const bool terminal = isatty(STDERR_FILENO);
  const AnalyzeSummary summary = analyze_collection(
      options, print_plan, [&](const AnalyzeProgress& progress) { print_progress(progress, terminal); }, &g_stop_requested);
  print_summary(summary, terminal);
  if (summary.interrupted) return 130;  // 128 + SIGINT, the shell's convention for "stopped by Ctrl-C"
  return summary.failures.empty() ? 0 : 1;
}

Command add_analyze_command(CLI::App& app) {
  auto options = std::make_shared<AnalyzeOptions>();
  CLI::App* command = app.add_subcommand("analyze", "Analyse music folders into a collection file (incremental).");
  command->footer(
      "Every audio file under the folders (by extension, or by content when the extension is\n"
      "unknown; hidden files skipped) is decoded, cut into ~3 s segments and run through the\n"
      "selected models; each file is committed on its own, so an interrupted run loses nothing\n"
      "and a re-run continues where it stopped. Unchanged files are skipped, changed ones\n"
      "re-analysed, vanished ones marked removed; adding models to an existing collection runs\n"
      "only the new models. Ctrl-C stops after the current file (a second Ctrl-C at once).\n\n"
      "Exit status: 0 all files fine, 1 some failed (listed in the summary), 2 usage error,\n"
      "130 interrupted.\n\n"
      "--models: comma list of msd-musicnn-1, mtt-musicnn-1, msd-vgg-1, mtt-vgg-1, moods\n"
      "(happy, sad, relaxed, aggressive, danceable: five more networks), or paper (the four\n"
      "taggers), all. Default: msd-musicnn-1 plus whatever the collection already holds.\n\n"
      "Examples:\n"
      "  tagscape analyze ~/Music\n"
      "  tagscape analyze --models paper --db music.tagscape ~/Music /mnt/more-music\n"
      "  tagscape analyze --models moods ~/Music        add the moods space to the collection");
  command->add_option("--db", options->db_path, "Collection file.")->capture_default_str();
  command->add_option("--models", options->models, "Models to run (see below).")
      ->check(CLI::Validator(check_model_selection, "LIST", "model list"));
  command->add_option("--patch-hop", options->patch_hop_frames,
                      "Frames between segment starts (1..187, 16 ms a frame; default 187 = non-overlapping).")
      ->check(CLI::Range(1, 187));
  command->add_option("--jobs,-j", options->jobs, "Threads for inference (default: all cores).")->check(CLI::Range(0, 256));
  command->add_flag("--force", options->force, "Re-analyse every file, changed or not (and retry failed ones).");
  command->add_option("folders", options->roots, "Music folders (or files).")->required();
  return [options] { return run_analyze_with_progress(*options); };
}

}  // namespace tagscape::cli
