// `tagscape import` — placeholder until its issue lands.
#include <cstdio>

#include "cli/commands.h"

namespace tagscape::cli {

Command add_import_command(CLI::App& app) {
  app.add_subcommand("import", "Import precomputed per-track .npy vectors as a space. (not implemented yet)");
  return [] {
    std::fprintf(stderr, "tagscape import: not implemented yet\n");
    return 2;
  };
}

}  // namespace tagscape::cli
