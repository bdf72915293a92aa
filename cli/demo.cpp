// `tagscape demo` — placeholder until its issue lands.
#include <cstdio>

#include "cli/commands.h"

namespace tagscape::cli {

Command add_demo_command(CLI::App& app) {
  app.add_subcommand("demo", "Fetch a free demo collection, analyse it and explore it. (not implemented yet)");
  return [] {
    std::fprintf(stderr, "tagscape demo: not implemented yet\n");
    return 2;
  };
}

}  // namespace tagscape::cli
