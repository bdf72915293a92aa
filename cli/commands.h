// cli/commands.h — the `tagscape` subcommands. Each registers its options on the
// CLI11 app and returns the function that runs it (exit status: 0 ok, 1 some input
// failed, 2 usage error).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace tagscape::cli {

using Command = std::function<int()>;

Command add_predict_command(CLI::App& app);
Command add_models_command(CLI::App& app);

}  // namespace tagscape::cli
