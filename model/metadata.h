// model/metadata.h — an installed model: its graph plus Essentia's metadata JSON.
//
// A model directory holds `model.json` + weight shards (TF.js graph model) and
// `<name>.json`, the Essentia model-zoo metadata: class (tag) names, input/output
// node names, framing. Installed models live in a models directory:
//   $TAGSCAPE_MODELS, else <exe>/../share/tagscape/models, else the source tree's models/.
#pragma once

#include <string>
#include <vector>

#include "model/graph.h"

namespace tagscape::model {

struct ModelOutput {
  std::string name;     // graph node, e.g. "model/Sigmoid"
  std::string purpose;  // "predictions", "embeddings", ""
  int64_t dims = 0;     // values per patch (last dim of the schema shape), 0 if unknown
  std::string description;
};

struct ModelInfo {
  std::string id;               // directory name, e.g. "msd-musicnn-1"
  std::string directory;        // absolute path of the model directory
  std::string name;             // human name, "MSD MusiCNN"
  std::string description;
  std::vector<std::string> classes;  // tag names, in output order
  std::string input_name;       // "model/Placeholder"
  std::vector<ModelOutput> outputs;
  std::string algorithm;        // "TensorflowPredictMusiCNN" / "TensorflowPredictVGGish"-style
  int sample_rate_hz = 16000;
  int frame_size = 512;         // samples
  int hop_size = 256;           // samples
  int patch_size = 187;         // frames per patch
  int patch_hop_size = 187;     // frames between patch starts
  int number_bands = 96;        // mel bands
  std::string source, license;

  // Node for "taggrams" (predictions) / "embeddings", or "" if the metadata has none.
  std::string output_for(const std::string& purpose) const;
};

// Reads the metadata JSON of the model in `directory`. Throws tagscape::Error
// naming the file when it is missing or malformed.
ModelInfo load_model_info(const std::string& directory);

// The models directory (see above); "" if none exists.
std::string models_directory();

// Resolves a model argument: a directory path, or the name of an installed model.
std::string resolve_model_directory(const std::string& name_or_path);

// Every installed model, sorted by id.
std::vector<ModelInfo> installed_models();

}  // namespace tagscape::model
