// `tagscape models`: what is installed, what it tags, what it outputs.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "model/metadata.h"

namespace tagscape::cli {

namespace {

struct ModelsOptions {
  bool json = false;
};

void print_model(const model::ModelInfo& info) {
  std::printf("%s  (%s)\n", info.id.c_str(), info.name.c_str());
  if (!info.description.empty()) std::printf("  %s\n", info.description.c_str());
  std::string tags;
  for (size_t k = 0; k < info.classes.size(); ++k) tags += (k ? ", " : "") + info.classes[k];
  std::printf("  %zu tags: %s\n", info.classes.size(), tags.c_str());
  for (const model::ModelOutput& output : info.outputs) {
    const std::string alias = output.purpose == "predictions" ? "taggrams" : output.purpose;
    std::printf("  output %-48s %4lld dims%s\n", output.name.c_str(), static_cast<long long>(output.dims),
                alias.empty() ? "" : ("  (--output " + alias + ")").c_str());
  }
  std::printf("  license: %s\n\n", info.license.c_str());
}

int run_models(const ModelsOptions& options) {
  const auto models = model::installed_models();
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& info : models) {
      nlohmann::json outputs = nlohmann::json::array();
      for (const auto& output : info.outputs)
        outputs.push_back({{"name", output.name}, {"purpose", output.purpose}, {"dims", output.dims}});
      list.push_back({{"id", info.id}, {"name", info.name}, {"directory", info.directory}, {"tags", info.classes},
                      {"outputs", outputs}, {"license", info.license}, {"source", info.source}});
    }
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  if (models.empty()) {
    std::fprintf(stderr, "no models installed (looked in %s)\n",
                 model::models_directory().empty() ? "$TAGSCAPE_MODELS" : model::models_directory().c_str());
    return 1;
  }
  std::printf("Models in %s:\n\n", model::models_directory().c_str());
  for (const auto& info : models) print_model(info);
  return 0;
}

}  // namespace

Command add_models_command(CLI::App& app) {
  auto options = std::make_shared<ModelsOptions>();
  CLI::App* command = app.add_subcommand("models", "List installed models with their tags and outputs.");
  command->add_flag("--json", options->json, "Print the list as JSON.");
  return [options] { return run_models(*options); };
}

}  // namespace tagscape::cli
