// `tagscape analyze` — placeholder until its issue lands.
#include <cstdio>

#include "cli/commands.h"

namespace tagscape::cli {

Command add_analyze_command(CLI::App& app) {
  app.add_subcommand("analyze", "Analyse music folders into a collection file. (not implemented yet)");
  return [] {
    std::fprintf(stderr, "tagscape analyze: not implemented yet\n");
    return 2;
  };
}

}  // namespace tagscape::cli
