#include "model/metadata.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace tagscape::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path metadata_path(const fs::path& directory) {
  const fs::path named = directory / (directory.filename().string() + ".json");
  if (fs::exists(named)) return named;
  for (const auto& entry : fs::directory_iterator(directory))
    if (entry.path().extension() == ".json" && entry.path().filename() != "model.json") return entry.path();
  return named;
}

bool is_model_directory(const fs::path& directory) {
  std::error_code error;
  return fs::is_regular_file(directory / "model.json", error);
}

}  // namespace

std::string ModelInfo::output_for(const std::string& purpose) const {
  for (const ModelOutput& output : outputs)
    if (output.purpose == purpose) return output.name;
  return "";
}

ModelInfo load_model_info(const std::string& directory) {
  const fs::path dir = fs::absolute(directory).lexically_normal();
  if (!is_model_directory(dir)) throw Error(dir.string() + ": not a model directory (no model.json)");
  const fs::path path = metadata_path(dir);
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": model metadata is missing or unreadable");
  ModelInfo info;
  info.id = dir.filename().string();
  info.directory = dir.string();
  try {
    const json meta = json::parse(in);
    info.name = meta.value("name", info.id);
    info.description = meta.value("description", "");
    info.classes = meta.value("classes", std::vector<std::string>{});
    const json& schema = meta.at("schema");
    info.input_name = schema.at("inputs").at(0).at("name");
    for (const json& output : schema.value("outputs", json::array())) {
      ModelOutput parsed;
      parsed.name = output.at("name");
      parsed.purpose = output.value("output_purpose", "");
      parsed.description = output.value("description", "");
      const json shape = output.value("shape", json::array());
      if (!shape.empty()) parsed.dims = shape.back().get<int64_t>();
      info.outputs.push_back(parsed);
    }
    const json inference = meta.value("inference", json::object());
    info.algorithm = inference.value("algorithm", "");
    info.sample_rate_hz = inference.value("sample_rate", 16000);
    info.frame_size = inference.value("frame_size", 512);
    info.hop_size = inference.value("hop_size", 256);
    info.patch_size = inference.value("patch_size", 187);
    info.patch_hop_size = inference.value("patch_hop_size", 187);
    info.number_bands = inference.value("number_bands", 96);
    info.source = meta.value("source", "");
    info.license = meta.value("license", "");
  } catch (const json::exception& error) {
    throw Error(path.string() + ": malformed model metadata (" + std::string(error.what()) + ")");
  }
  return info;
}

std::string models_directory() {
  if (const char* env = std::getenv("TAGSCAPE_MODELS"); env && *env) return env;
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "tagscape" / "models";
    if (fs::is_directory(installed, error)) return installed.string();
  }
  if (fs::is_directory(TAGSCAPE_SOURCE_MODELS_DIR, error)) return TAGSCAPE_SOURCE_MODELS_DIR;
  return "";
}

std::string resolve_model_directory(const std::string& name_or_path) {
  std::error_code error;
  if (is_model_directory(name_or_path)) return fs::absolute(name_or_path).lexically_normal().string();
  if (fs::path(name_or_path).filename() == "model.json" && fs::is_regular_file(name_or_path, error))
    return fs::absolute(name_or_path).parent_path().lexically_normal().string();
  const std::string models = models_directory();
  if (!models.empty() && name_or_path.find('/') == std::string::npos && is_model_directory(fs::path(models) / name_or_path))
    return (fs::path(models) / name_or_path).string();
  std::string known;
  for (const ModelInfo& info : installed_models()) known += (known.empty() ? "" : ", ") + info.id;
  throw Error(name_or_path + ": no such model directory or installed model" +
              (known.empty() ? std::string(" (no models installed)") : " (installed: " + known + ")"));
}

std::vector<ModelInfo> installed_models() {
  std::vector<ModelInfo> models;
  const std::string directory = models_directory();
  if (directory.empty()) return models;
  for (const auto& entry : fs::directory_iterator(directory))
    if (is_model_directory(entry.path())) models.push_back(load_model_info(entry.path().string()));
  std::sort(models.begin(), models.end(), [](const ModelInfo& a, const ModelInfo& b) { return a.id < b.id; });
  return models;
}

}  // namespace tagscape::model
