// server/points.h — GET /api/points: the request (validated) and the binary frames the
// projected points travel in (server/API.md).
//
// frame := u32 header_bytes (little-endian), header (UTF-8 JSON, padded with spaces to a
//          multiple of 4 bytes), payload
// payload := the header's "arrays" in order, each `count` elements of `type` ("f32" |
//            "i32", little-endian), each padded to a multiple of 4 bytes (always already so)
// Every frame is a multiple of 4 bytes long and every array starts 4-byte aligned relative
// to its frame's first byte, so a client can view a frame's arrays as Float32Array /
// Int32Array without copying once the frame is at an aligned offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "projection/points.h"
#include "projection/select.h"
#include "server/params.h"
#include "store/store.h"

namespace tagscape::server {

inline constexpr int64_t kMaxTracksParam = 10'000'000;     // tracks=N above this is a 400
inline constexpr int64_t kMaxPoints = 5'000'000;           // points in one response (413 above: ~100 MB)
inline constexpr int64_t kMaxIterativePoints = 200'000;    // t-SNE / UMAP (413 above)

enum class Method { original, pca, std_pca, tsne, umap };

const char* method_name(Method method);  // "original", "pca", "std-pca", "tsne", "umap"

struct PointsRequest {
  std::string space;         // space name (exists)
  int64_t tracks = 100;      // 1..kMaxTracksParam; clamped to the space's tracks by the server
  bool all_tracks = false;   // tracks=all
  uint64_t seed = 0;         // which tracks (shuffle)
  Granularity granularity = Granularity::segments;
  Method method = Method::pca;
  int x = 0, y = 1;          // original: dim index (0..dims-1, by name via resolve_dim); pca/std-pca: component (0..dims-1)
  bool log_scale = false;    // original: log10 of the axis values (values <= 0 clamped to 1e-6)
  double perplexity = 30;    // t-SNE, 1..1000
  double learning_rate = 0;  // t-SNE, 0 = auto (max(n / early_exaggeration / 4, 50))
  int iterations = 1000;     // t-SNE / UMAP epochs, 1..10000 (0 for UMAP = its own default)
  int n_neighbors = 15;      // UMAP, 2..200
  double min_dist = 0.1;     // UMAP, 0..1
};

// Parameters /api/points accepts (everything else is a 400 naming it).
const std::vector<std::string>& points_param_names();

// Validates the query against the space (x/y: index below dims, or for original a dim
// name of the space, exact or case-insensitive: projection/original.h resolve_dim). Throws RequestError 400 with the parameter's name and the
// accepted values. Unknown space is checked by the caller (404 listing the spaces).
PointsRequest parse_points_request(const QueryParams& params, const Space& space);

// One named array of a frame.
struct FrameArray {
  std::string name;       // "xy", "track", "segment", "size"
  const char* type;       // "f32" | "i32"
  const void* data;       // count elements of 4 bytes each
  size_t count;
};

// A complete frame: `header` (an object) gets "arrays" added, is padded, and is followed
// by the arrays' bytes.
std::string encode_frame(nlohmann::json header, std::span<const FrameArray> arrays);

// The final frame of a layout: xy (2D coords: Layout columns x, y), track (i32 id),
// segment (i32), and size (std, averages only). `extra` fields (kind, explained variance,
// trustworthiness, ...) go into the header as given.
std::string encode_points_frame(const PointSet& points, std::span<const float> xy, nlohmann::json header);

// An intermediate (progress) frame: only xy.
std::string encode_progress_frame(std::span<const float> xy, int64_t n, int iteration, int of, const std::string& method);

}  // namespace tagscape::server
