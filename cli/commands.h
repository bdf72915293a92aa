// cli/commands.h — the `tagscape` subcommands. Each registers its options on the
// CLI11 app and returns the function that runs it (exit status: 0 ok, 1 some input
// failed, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "server/server.h"
#include "store/analyze.h"

namespace tagscape::cli {

using Command = std::function<int()>;

Command add_predict_command(CLI::App& app);   // cli/predict.cpp
Command add_models_command(CLI::App& app);    // cli/models.cpp
Command add_analyze_command(CLI::App& app);   // cli/analyze.cpp
Command add_info_command(CLI::App& app);      // cli/info.cpp
Command add_export_command(CLI::App& app);    // cli/export.cpp
Command add_import_command(CLI::App& app);    // cli/import.cpp
Command add_demo_command(CLI::App& app);      // cli/demo.cpp
Command add_project_command(CLI::App& app);   // cli/project.cpp
Command add_serve_command(CLI::App& app);     // cli/serve.cpp

// Runs an analysis with the progress display and summary of `tagscape analyze`
// (cli/analyze.cpp); returns its exit status.
int run_analyze_with_progress(const AnalyzeOptions& options);

// Serves a collection as `tagscape serve` does (cli/serve.cpp) until Ctrl-C; returns its
// exit status (2 for unusable options).
int serve_until_stopped(const server::ServerOptions& options, bool open_browser);

}  // namespace tagscape::cli
