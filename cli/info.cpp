// `tagscape info` — placeholder until its issue lands.
#include <cstdio>

#include "cli/commands.h"

namespace tagscape::cli {

Command add_info_command(CLI::App& app) {
  app.add_subcommand("info", "Summarise a collection file. (not implemented yet)");
  return [] {
    std::fprintf(stderr, "tagscape info: not implemented yet\n");
    return 2;
  };
}

}  // namespace tagscape::cli
