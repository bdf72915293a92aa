// tagscape — explore a music collection through the eyes of music auto-tagging networks.
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "common/error.h"
#include "common/openmp_env.h"

int main(int argc, char** argv) {
  tagscape::use_passive_openmp_wait(argv);
  CLI::App app{"tagscape " TAGSCAPE_VERSION
               " — analyse music with MusiCNN/VGG auto-taggers and explore their tag and embedding spaces.",
               "tagscape"};
  app.require_subcommand(1);
  app.set_version_flag("--version", TAGSCAPE_VERSION);
  app.footer("Run `tagscape COMMAND --help` for a command's options.");
  std::map<const CLI::App*, tagscape::cli::Command> commands;
  auto add = [&](tagscape::cli::Command (*adder)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    tagscape::cli::Command command = adder(app);
    commands[app.get_subcommands({}).at(before)] = std::move(command);
  };
  add(tagscape::cli::add_analyze_command);
  add(tagscape::cli::add_info_command);
  add(tagscape::cli::add_predict_command);
  add(tagscape::cli::add_models_command);
  add(tagscape::cli::add_export_command);
  add(tagscape::cli::add_import_command);
  add(tagscape::cli::add_demo_command);
  add(tagscape::cli::add_project_command);
  add(tagscape::cli::add_serve_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;  // --help/--version: 0; usage errors: 2
  }
  try {
    for (const CLI::App* sub : app.get_subcommands())
      if (commands.count(sub)) return commands[sub]();
  } catch (const tagscape::Error& error) {
    std::fprintf(stderr, "tagscape: error: %s\n", error.what());
    return 1;
  }
  return 2;
}
