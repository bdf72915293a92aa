// `tagscape export` — placeholder until its issue lands.
#include <cstdio>

#include "cli/commands.h"

namespace tagscape::cli {

Command add_export_command(CLI::App& app) {
  app.add_subcommand("export", "Export a space of a collection as npy, csv or jsonl. (not implemented yet)");
  return [] {
    std::fprintf(stderr, "tagscape export: not implemented yet\n");
    return 2;
  };
}

}  // namespace tagscape::cli
