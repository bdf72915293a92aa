#include "server/points.h"

#include <cassert>
#include <cstring>

#include "common/error.h"
#include "projection/original.h"

namespace tagscape::server {

const char* method_name(Method method) {
  switch (method) {
    case Method::original: return "original";
    case Method::pca: return "pca";
    case Method::std_pca: return "std-pca";
    case Method::tsne: return "tsne";
    case Method::umap: return "umap";
  }
  return "?";
}

const std::vector<std::string>& points_param_names() {
  static const std::vector<std::string> names = {
      "space", "tracks", "seed", "granularity", "method", "x", "y", "log", "perplexity",
      "learning_rate", "iterations", "n_neighbors", "min_dist", "token"};
  return names;
}

namespace {

// An axis: a dim/component index, or (original only) a dim name of the space.
int axis_param(const QueryParams& params, const std::string& name, int fallback, const Space& space, bool by_name) {
  const auto text = param(params, name);
  if (!text) {
    if (fallback >= space.dims)
      throw RequestError(400, name + ": the space '" + space.name + "' has only " + std::to_string(space.dims) +
                                  " dim(s); give " + name + " explicitly");
    return fallback;
  }
  if (by_name) {
    try {
      return resolve_dim(space, *text);
    } catch (const Error& error) {
      throw RequestError(400, name + ": " + error.what());
    }
  }
  return static_cast<int>(parse_int(name, *text, 0, space.dims - 1));
}

void append_padded(std::string& out, const void* data, size_t bytes) {
  out.append(static_cast<const char*>(data), bytes);
  out.append((4 - bytes % 4) % 4, '\0');
}

}  // namespace

PointsRequest parse_points_request(const QueryParams& params, const Space& space) {
  reject_unknown_params(params, points_param_names());
  PointsRequest request;
  request.space = space.name;
  const auto tracks = param(params, "tracks");
  request.all_tracks = tracks && *tracks == "all";
  if (tracks && !request.all_tracks) {
    try {
      request.tracks = parse_int("tracks", *tracks, 1, kMaxTracksParam);
    } catch (const RequestError&) {
      throw RequestError(400, "tracks: expected an integer 1.." + std::to_string(kMaxTracksParam) + " or 'all', got '" +
                                  tracks->substr(0, 64) + "'");
    }
  }
  request.seed = static_cast<uint64_t>(int_param(params, "seed", 0, 0, INT64_MAX));
  request.granularity =
      choice_param(params, "granularity", "segments", {"segments", "averages"}) == "averages" ? Granularity::averages
                                                                                              : Granularity::segments;
  const std::string method = choice_param(params, "method", "pca", {"original", "pca", "std-pca", "tsne", "umap"});
  request.method = method == "original" ? Method::original
                   : method == "pca"    ? Method::pca
                   : method == "std-pca" ? Method::std_pca
                   : method == "tsne"   ? Method::tsne
                                        : Method::umap;
  const bool axes_apply = request.method == Method::original || request.method == Method::pca ||
                          request.method == Method::std_pca;
  if (axes_apply) {
    const bool by_name = request.method == Method::original;
    request.x = axis_param(params, "x", 0, space, by_name);
    request.y = axis_param(params, "y", space.dims > 1 ? 1 : 0, space, by_name);
  }
  request.log_scale = int_param(params, "log", 0, 0, 1) == 1;
  request.perplexity = double_param(params, "perplexity", 30, 1, 1000);
  request.learning_rate = double_param(params, "learning_rate", 0, 0, 1e6);
  request.iterations = static_cast<int>(int_param(params, "iterations", request.method == Method::umap ? 0 : 1000, 0, 10000));
  if (request.method == Method::tsne && request.iterations == 0)
    throw RequestError(400, "iterations: expected an integer 1..10000 for tsne, got '0'");
  request.n_neighbors = static_cast<int>(int_param(params, "n_neighbors", 15, 2, 200));
  request.min_dist = double_param(params, "min_dist", 0.1, 0, 1);
  return request;
}

std::string encode_frame(nlohmann::json header, std::span<const FrameArray> arrays) {
  nlohmann::json described = nlohmann::json::array();
  for (const FrameArray& a : arrays) described.push_back({{"name", a.name}, {"type", a.type}, {"count", a.count}});
  header["arrays"] = described;
  std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.append((4 - text.size() % 4) % 4, ' ');
  const uint32_t header_bytes = static_cast<uint32_t>(text.size());
  std::string out;
  size_t payload = 0;
  for (const FrameArray& a : arrays) payload += a.count * 4;
  out.reserve(4 + text.size() + payload);
  const char length[4] = {char(header_bytes & 0xff), char(header_bytes >> 8 & 0xff), char(header_bytes >> 16 & 0xff),
                          char(header_bytes >> 24 & 0xff)};
  out.append(length, 4);
  out.append(text);
  static_assert(std::endian::native == std::endian::little, "frames are little-endian; add a byte swap for big-endian hosts");
  for (const FrameArray& a : arrays) append_padded(out, a.data, a.count * 4);
  return out;
}

std::string encode_points_frame(const PointSet& points, std::span<const float> xy, nlohmann::json header) {
  assert(xy.size() == static_cast<size_t>(points.n) * 2);
  std::vector<int32_t> track(points.n);
  for (int64_t i = 0; i < points.n; ++i) {
    assert(points.track_ids[i] >= 0 && points.track_ids[i] <= INT32_MAX);
    track[i] = static_cast<int32_t>(points.track_ids[i]);
  }
  header["n"] = points.n;
  std::vector<FrameArray> arrays = {{"xy", "f32", xy.data(), xy.size()},
                                    {"track", "i32", track.data(), track.size()},
                                    {"segment", "i32", points.segment_index.data(), points.segment_index.size()}};
  if (!points.std.empty()) arrays.push_back({"size", "f32", points.std.data(), points.std.size()});
  return encode_frame(std::move(header), arrays);
}

std::string encode_progress_frame(std::span<const float> xy, int64_t n, int iteration, int of, const std::string& method) {
  const FrameArray arrays[] = {{"xy", "f32", xy.data(), xy.size()}};
  return encode_frame({{"kind", "progress"}, {"n", n}, {"iteration", iteration}, {"of", of}, {"method", method}}, arrays);
}

}  // namespace tagscape::server
