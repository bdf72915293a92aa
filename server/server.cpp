#include "server/server.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "audio/decode.h"
#include "common/error.h"
#include "model/metadata.h"
#include "projection/knn_index.h"
#include "projection/original.h"
#include "projection/cache.h"
#include "projection/clusters.h"
#include "projection/pca.h"
#include "projection/quality.h"
#include "projection/tsne.h"
#include "projection/umap.h"
#include "projection/select.h"
#include "server/audio_segments.h"
#include "server/curate.h"
#include "server/listening.h"
#include "server/params.h"
#include "server/points.h"
#include "server/server_state.h"
#include "server/static_files.h"
#include "store/store.h"

namespace tagscape::server {

// regl (regl-scatterplot's renderer) generates its draw commands with `new Function`, so
// script-src needs 'unsafe-eval'; everything else is same-origin. No inline scripts.
const char* const kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

namespace {

// The four taggers of the paper, listed whether analysed or not (server/API.md `models`).
const char* const kPaperTaggers[] = {"msd-musicnn-1", "msd-vgg-1", "mtt-musicnn-1", "mtt-vgg-1"};

// ---- handlers ----------------------------------------------------------------------

json summary_json(Server& server, Store& store) {
  const CollectionSummary summary = summarize(store);
  json spaces = json::array();
  std::map<std::string, int64_t> tracks_by_space;
  for (const SpaceSummary& s : summary.spaces) {
    spaces.push_back({{"name", s.space.name}, {"kind", space_kind_name(s.space.kind)}, {"model", s.space.model},
                      {"node", s.space.node}, {"dims", s.space.dims}, {"dim_names", s.space.dim_names},
                      {"tracks", s.tracks}});
    tracks_by_space[s.space.name] = s.tracks;
  }
  json models = json::array();
  for (const char* id : kPaperTaggers) {
    const std::string name = id;
    const std::string dataset = name.substr(0, name.find('-'));
    const std::string architecture = name.find("vgg") != std::string::npos ? "vgg" : "musicnn";
    const std::string taggrams = name + "/taggrams", embeddings = name + "/embeddings";
    json model_spaces = json::object();
    if (tracks_by_space.count(taggrams)) model_spaces["taggrams"] = taggrams;
    if (tracks_by_space.count(embeddings)) model_spaces["embeddings"] = embeddings;
    models.push_back({{"id", name}, {"architecture", architecture}, {"dataset", dataset}, {"spaces", model_spaces},
                      {"analysed", tracks_by_space[taggrams] > 0},
                      {"command", "tagscape analyze --models " + name + " MUSIC_DIR"}});
  }
  return {{"version", 1},
          {"collection",
           {{"name", base_name(server.options.db_path)}, {"tracks", summary.tracks_ok}, {"failed", summary.tracks_failed},
            {"segments", summary.segments}, {"duration_s", summary.total_duration_s}}},
          {"spaces", spaces},
          {"models", models},
          {"moods",
           {{"space", "moods"}, {"analysed", tracks_by_space["moods"] > 0},
            {"command", "tagscape analyze --models moods MUSIC_DIR"}}}};
}

void handle_tracks(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"token"});
  BorrowedStore store(server.stores);
  auto index = track_index(server, store.store, true);
  json tracks = json::array();
  for (const auto& [id, track] : index->ok_tracks) tracks.push_back(track_json(track));
  send_json(res, tracks);
}

void handle_track(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"token"});
  const int64_t id = id_from_path("track id", req.matches[1]);
  BorrowedStore store(server.stores);
  const Track track = find_track(server, store.store, id);
  json body = track_json(track);
  json times = json::array();
  for (const Segment& s : read_segments(store.store, id)) times.push_back({s.start_s, s.end_s});
  body["segment_times"] = times;
  send_json(res, body);
}

void handle_track_vectors(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"space", "token"});
  const int64_t id = id_from_path("track id", req.matches[1]);
  BorrowedStore store(server.stores);
  find_track(server, store.store, id);
  const Space space = find_space_or_404(store.store, param(req.params, "space"));
  const std::vector<int64_t> space_ids = track_space_ids(store.store, id);
  if (std::find(space_ids.begin(), space_ids.end(), space.id) == space_ids.end())
    throw RequestError(404, "track " + std::to_string(id) + " has no vectors in space '" + space.name + "'");
  const TrackVectors vectors = read_track_vectors(store.store, id, space.id);
  json rows = json::array();
  for (int s = 0; s < vectors.segments; ++s)
    rows.push_back(std::vector<float>(vectors.values.begin() + int64_t(s) * vectors.dims,
                                      vectors.values.begin() + int64_t(s + 1) * vectors.dims));
  send_json(res, {{"dims", vectors.dims}, {"segments", vectors.segments}, {"values", rows}});
}

// x, y columns of a layout with out_dims columns, interleaved.
std::vector<float> xy_columns(const Layout& layout, int x, int y) {
  std::vector<float> xy(layout.n * 2);
  for (int64_t i = 0; i < layout.n; ++i) {
    xy[2 * i] = layout.coords[i * layout.out_dims + x];
    xy[2 * i + 1] = layout.coords[i * layout.out_dims + y];
  }
  return xy;
}

// Identifies a layout of a space's points: a hash of the space name, each point's (track,
// segment) and the layout's coordinates. Equal layouts of equal points have equal quality;
// the coordinates follow from the input vectors, so changed vectors change the fingerprint.
uint64_t layout_fingerprint(const std::string& space, const PointSet& points, const Layout& layout) {
  const auto bytes_hash = [](const void* data, size_t size) {
    return std::hash<std::string_view>{}(std::string_view(static_cast<const char*>(data), size));
  };
  uint64_t hash = std::hash<std::string>{}(space);
  for (const uint64_t part : {bytes_hash(points.track_ids.data(), points.track_ids.size() * sizeof(int64_t)),
                              bytes_hash(points.segment_index.data(), points.segment_index.size() * sizeof(int32_t)),
                              bytes_hash(layout.coords.data(), layout.coords.size() * sizeof(float)),
                              static_cast<uint64_t>(layout.out_dims)})
    hash = (hash ^ part) * 0x100000001b3ULL;  // FNV-style combine
  return hash;
}

// Trustworthiness@10 of a layout on a sample of kQualitySample points (server/API.md
// "trustworthiness"); null when there are too few points for k = 10. Memoised per layout:
// recomputing it for a repeated request was 61% of the server's CPU under wrk
// (bench/server-bench, 600 points).
constexpr int64_t kQualitySample = 1000;
constexpr size_t kQualityCacheEntries = 256;
json sampled_trustworthiness(Server& server, const std::string& space, const PointSet& points, const Layout& layout) {
  if (std::min(points.n, kQualitySample) <= 2 * 10) return nullptr;
  const uint64_t key = layout_fingerprint(space, points, layout);
  {
    std::lock_guard lock(server.quality_mutex);
    if (auto found = server.quality_cache.find(key); found != server.quality_cache.end()) return found->second;
  }
  const json value = layout_quality(points, layout, {.k = 10, .sample = kQualitySample, .seed = 0}).trustworthiness;
  std::lock_guard lock(server.quality_mutex);
  if (server.quality_cache.size() >= kQualityCacheEntries) server.quality_cache.clear();
  server.quality_cache[key] = value;
  return value;
}

PointSet select_request_points(Store& store, const Selection& selection, int64_t max_points) {
  PointSet points;
  try {
    points = select_points(store, selection);
  } catch (const Error& error) {
    throw RequestError(404, error.what());  // the space has no analysed tracks
  }
  if (points.n > max_points)
    throw RequestError(413, "the selection has " + std::to_string(points.n) + " points; at most " +
                                std::to_string(max_points) + " per request (fewer tracks, or granularity=averages)");
  return points;
}

// The clusters of a t-SNE/UMAP layout, each labelled with the 3 tags of the space's tag
// space (server/curate.h default_tag_space) most above their collection mean inside it:
// [{"x", "y", "count", "tags": [{"name", "mean", "z"}]}], largest first; [] without a tag space.
json layout_clusters_json(Server& server, const Space& space, const PointSet& points, const Layout& layout) {
  std::vector<LayoutCluster> clusters = find_layout_clusters(layout.coords.data(), layout.n, {});
  BorrowedStore store(server.stores);
  const std::optional<Space> tags = default_tag_space(store.store, space);
  if (!tags) return json::array();
  const std::vector<float> values = tag_values_of_points(store.store, *tags, points);
  label_clusters(clusters, values.data(), points.n, tags->dims, 3);
  json out = json::array();
  for (const LayoutCluster& c : clusters) {
    json labels = json::array();
    for (const ClusterTag& t : c.tags)
      labels.push_back({{"name", t.dim < static_cast<int>(tags->dim_names.size()) ? tags->dim_names[t.dim]
                                                                                   : std::to_string(t.dim)},
                        {"mean", t.mean}, {"z", t.z}});
    out.push_back({{"x", c.x}, {"y", c.y}, {"count", c.count}, {"tags", labels}});
  }
  return out;
}

// t-SNE / UMAP parameters of a request for n points. A perplexity or n_neighbors too large
// for a small selection is lowered to what n allows (reported in the final frame), so a
// view of few tracks still works; fewer than 4 points is a 400.
struct IterativeParams {
  TsneParams tsne;
  UmapParams umap;
  std::string cache_params;  // canonical text for the projection cache key
  int total = 0;             // iterations (t-SNE) or epochs (UMAP)
};

IterativeParams iterative_params(const PointsRequest& request, int64_t n) {
  if (n < 4)
    throw RequestError(400, std::string("method=") + method_name(request.method) + ": needs at least 4 points, the selection has " +
                                std::to_string(n) + " (more tracks, or granularity=segments)");
  IterativeParams p;
  if (request.method == Method::tsne) {
    p.tsne = {.perplexity = std::min(request.perplexity, std::floor((static_cast<double>(n) - 1) / 3)),
              .learning_rate = request.learning_rate,
              .iterations = request.iterations,
              .seed = request.seed,
              .callback_every = n <= 20'000 ? 10 : 25};
    p.tsne.early_iterations = std::min(p.tsne.early_iterations, p.tsne.iterations / 3);
    p.cache_params = tsne_params_key(p.tsne);
    p.total = p.tsne.iterations;
  } else {
    p.umap = {.n_neighbors = static_cast<int>(std::min<int64_t>(request.n_neighbors, n - 1)),
              .min_dist = request.min_dist,
              .epochs = request.iterations,
              .seed = request.seed,
              .callback_every = 5};
    p.cache_params = umap_params_key(p.umap);
    p.total = umap_epochs(p.umap, n);
  }
  return p;
}

// Streams a t-SNE/UMAP layout: progress frames while it converges, then the final frame.
// A newer iterative request (from any client) or a closed connection stops it at the next
// progress callback. The result is cached in the collection (when the file is writable).
void stream_iterative(Server& server, httplib::Response& res, const Space& space, const PointsRequest& request,
                      Selection selection, PointSet points_in) {
  auto points = std::make_shared<const PointSet>(std::move(points_in));
  const IterativeParams params = iterative_params(request, points->n);
  const std::string key = projection_key(selection, method_name(request.method), params.cache_params, request.seed);
  const uint64_t generation = ++server.iterative_generation;
  res.set_header("Cache-Control", "no-store");
  res.set_chunked_content_provider(
      "application/octet-stream",
      [&server, space, request, selection, points, params, key, generation](size_t, httplib::DataSink& sink) {
        json header = {{"kind", "final"}, {"method", method_name(request.method)}, {"of", params.total}};
        Layout layout;
        std::optional<CachedLayout> cached;
        std::unique_lock compute(server.compute_mutex);
        std::optional<Store> writable;
        try {
          writable.emplace(open_store(server.options.db_path, OpenMode::existing));
          cached = find_cached_layout(*writable, selection, key);
        } catch (const Error&) {
          writable.reset();  // a read-only collection: compute, do not cache
        }
        if (cached && cached->track_ids == points->track_ids) {
          layout = std::move(cached->layout);
          header["cached"] = true;
        } else {
          bool stopped = false;
          const auto progress = [&](int iteration, const float* coords) {
            if (server.iterative_generation != generation || !sink.is_writable()) return !(stopped = true);
            if (iteration >= params.total) return true;  // the final frame follows
            const std::string frame = encode_progress_frame({coords, static_cast<size_t>(points->n) * 2}, points->n,
                                                            iteration, params.total, method_name(request.method));
            return sink.write(frame.data(), frame.size()) || !(stopped = true);
          };
          const auto start = Clock::now();
          try {
            layout = request.method == Method::tsne ? run_tsne(*points, params.tsne, progress)
                                                    : run_umap(*points, params.umap, progress);
          } catch (const Error&) {
            return false;  // parameters were checked before streaming began; abort the response
          }
          if (stopped) return false;
          const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
          header["compute_s"] = seconds;
          if (writable) {
            try {
              put_cached_layout(*writable, selection, key, *points, layout, seconds);
            } catch (const Error&) {
            }
          }
        }
        compute.unlock();
        header["iteration"] = params.total;
        if (request.method == Method::tsne) header["perplexity"] = params.tsne.perplexity;
        else header["n_neighbors"] = params.umap.n_neighbors;
        header["trustworthiness"] = sampled_trustworthiness(server, space.name, *points, layout);
        header["clusters"] = layout.out_dims == 2 ? layout_clusters_json(server, space, *points, layout) : json::array();
        const std::vector<float> xy = xy_columns(layout, 0, 1);
        const std::string frame = encode_points_frame(*points, xy, std::move(header));
        sink.write(frame.data(), frame.size());
        sink.done();
        return true;
      });
}

void handle_points(Server& server, const httplib::Request& req, httplib::Response& res) {
  BorrowedStore store(server.stores);
  const Space space = find_space_or_404(store.store, param(req.params, "space"));
  const PointsRequest request = parse_points_request(req.params, space);
  Selection selection{.space = space.name, .track_count = request.all_tracks ? -1 : request.tracks,
                      .seed = request.seed, .granularity = request.granularity};
  if (request.method == Method::tsne || request.method == Method::umap) {
    stream_iterative(server, res, space, request, selection,
                     select_request_points(store.store, selection, kMaxIterativePoints));
    return;
  }
  std::lock_guard compute(server.compute_mutex);
  const PointSet points = select_request_points(store.store, selection, kMaxPoints);
  json header = {{"kind", "final"}, {"iteration", 0}, {"of", 0}, {"method", method_name(request.method)}};
  std::vector<float> xy;
  try {
    if (request.method == Method::original) {
      const Layout layout = run_original(points, {.dim_x = request.x, .dim_y = request.y, .log_scale = request.log_scale});
      xy = xy_columns(layout, 0, 1);
    } else {
      const int out_dims = std::max(request.x, request.y) + 1;
      const Layout layout = run_pca(points, {.out_dims = out_dims, .standardize = request.method == Method::std_pca});
      xy = xy_columns(layout, request.x, request.y);
      header["explained_variance"] = layout.explained_variance;
      header["explained_variance_ratio"] = layout.explained_variance_ratio;
    }
  } catch (const Error& error) {
    throw RequestError(400, std::string("method=") + method_name(request.method) + ": " + error.what());
  }
  header["trustworthiness"] = sampled_trustworthiness(server, space.name, points, {.n = points.n, .out_dims = 2, .coords = xy});
  res.set_content(encode_points_frame(points, xy, std::move(header)), "application/octet-stream");
}

}  // namespace

// The kNN index of a space: kept in memory; loaded from (or built and saved into) the
// collection file by open_knn_index through a writable connection, or, if the file cannot
// be written, built in memory. Rebuilt when the set of analysed tracks changes.
std::shared_ptr<const KnnIndex> knn_index_for(Server& server, Store& store, const Space& space, Granularity granularity,
                                              Metric metric) {
  const auto tracks = track_index(server, store);
  const std::string key = space.name + "|" + granularity_name(granularity) + "|" + metric_name(metric);
  const std::string version = std::to_string(tracks->ok_tracks.size()) + "/" +
                              std::to_string(tracks->ok_tracks.empty() ? 0 : tracks->ok_tracks.rbegin()->first);
  std::lock_guard lock(server.knn_mutex);
  if (auto found = server.knn_indexes.find(key); found != server.knn_indexes.end() && found->second.tracks_version == version)
    return found->second.index;
  std::lock_guard compute(server.compute_mutex);
  std::shared_ptr<KnnIndex> index;
  try {
    Store writable = open_store(server.options.db_path, OpenMode::existing);
    index = std::make_shared<KnnIndex>(open_knn_index(writable, space.name, granularity, {.metric = metric}));
  } catch (const Error&) {
    const PointSet points = select_points(store, {.space = space.name, .track_count = -1, .granularity = granularity});
    index = std::make_shared<KnnIndex>(build_knn_index(points, {.metric = metric}));
  }
  server.knn_indexes[key] = {version, index};
  return index;
}

namespace {

void handle_knn(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"space", "track", "segment", "k", "metric", "token"});
  BorrowedStore store(server.stores);
  const Space space = find_space_or_404(store.store, param(req.params, "space"));
  const auto track_text = param(req.params, "track");
  if (!track_text) throw RequestError(400, "track: required (a track id from /api/tracks)");
  const int64_t track_id = parse_int("track", *track_text, 0, INT32_MAX);
  const int64_t segment = int_param(req.params, "segment", -1, -1, INT32_MAX);
  const int64_t k = int_param(req.params, "k", 10, 1, 1000);
  const Metric metric = choice_param(req.params, "metric", "cosine", {"cosine", "euclidean"}) == "cosine"
                            ? Metric::cosine : Metric::euclidean;
  const Track track = find_track(server, store.store, track_id);
  if (segment >= track.segment_count)
    throw RequestError(404, "track " + std::to_string(track_id) + " has " + std::to_string(track.segment_count) +
                                " segments, not " + std::to_string(segment + 1));
  const Granularity granularity = segment < 0 ? Granularity::averages : Granularity::segments;
  const auto index = knn_index_for(server, store.store, space, granularity, metric);
  const int64_t row = find_row(*index, track_id, static_cast<int32_t>(segment));
  if (row < 0) throw RequestError(404, "track " + std::to_string(track_id) + " has no vectors in space '" + space.name + "'");
  const int k_used = static_cast<int>(std::min<int64_t>(k, index->n - 1));
  json neighbours = json::array();
  if (k_used > 0)
    for (const Neighbor& near : knn_of_row(*index, row, k_used))
      neighbours.push_back({{"track", index->track_ids[near.row]}, {"segment", index->segment_index[near.row]},
                            {"distance", near.distance}});
  send_json(res, {{"neighbours", neighbours}});
}

void handle_segment_audio(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"token"});
  const int64_t id = id_from_path("track id", req.matches[1]);
  const int64_t segment = id_from_path("segment index", req.matches[2]);
  const auto started = Clock::now();
  std::string path, hash;
  Segment times{};
  {
    BorrowedStore store(server.stores);
    const Track track = find_track(server, store.store, id);
    path = track.file.path;
    hash = track.file.content_hash;
    const std::vector<Segment> segments = read_segments(store.store, id);
    if (segment >= static_cast<int64_t>(segments.size()))
      throw RequestError(404, "track " + std::to_string(id) + " has " + std::to_string(segments.size()) +
                                  " segments (0.." + std::to_string(int64_t(segments.size()) - 1) + "), not " +
                                  std::to_string(segment));
    times = segments[segment];
  }
  bool was_cached = false;
  const SegmentKey key{id, static_cast<int>(segment), hash};
  std::shared_ptr<const std::string> wav;
  try {
    wav = cached_segment_wav(server.audio_cache, key, path, times.start_s, times.end_s, &was_cached);
  } catch (const Error& error) {
    // The file moved or changed since analysis: say so without revealing its path.
    std::string why = error.what();
    if (why.rfind(path, 0) == 0) why = base_name(path) + why.substr(path.size());
    throw RequestError(404, "track " + std::to_string(id) + ": audio unavailable (" + why + ")");
  }
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  res.set_header("Cache-Control", "public, max-age=86400");
  res.set_header("ETag", "\"" + hash + "-" + std::to_string(segment) + "\"");
  res.set_header("Server-Timing", std::string(was_cached ? "hit" : "miss") + ";dur=" + std::to_string(ms));
  res.set_content(*wav, "audio/wav");
}

void handle_track_audio(Server& server, const httplib::Request& req, httplib::Response& res) {
  reject_unknown_params(req.params, {"token"});
  const int64_t id = id_from_path("track id", req.matches[1]);
  std::string path, hash;
  {
    BorrowedStore store(server.stores);
    const Track track = find_track(server, store.store, id);
    hash = track.file.content_hash;
    if (track.duration_s > kMaxWholeTrackSeconds)
      throw RequestError(413, "track " + std::to_string(id) + " lasts " + std::to_string(int(track.duration_s)) +
                                  " s; whole-track audio is limited to " + std::to_string(int(kMaxWholeTrackSeconds)) +
                                  " s (play its segments instead)");
    path = track.file.path;
  }
  const SegmentKey key{id, -1, hash};
  std::shared_ptr<const std::string> wav = cache_find(server.track_audio_cache, key);
  if (!wav) {
    try {
      wav = std::make_shared<const std::string>(encode_wav_pcm16(decode_audio(path).samples, kAnalysisSampleRateHz));
    } catch (const Error& error) {
      throw RequestError(404, "track " + std::to_string(id) + ": audio unavailable (" + base_name(path) + " cannot be decoded)");
    }
    cache_insert(server.track_audio_cache, key, wav);
  }
  res.set_header("Cache-Control", "public, max-age=86400");
  res.set_header("ETag", "\"" + hash + "\"");
  res.set_content(*wav, "audio/wav");
}

void handle_static(Server& server, const httplib::Request& req, httplib::Response& res) {
  if (server.web_dir.empty() && (req.path == "/" || req.path == "/index.html")) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(kFallbackPage, "text/html; charset=utf-8");
    return;
  }
  const auto file = read_static_file(server.web_dir, req.path);
  if (!file) {
    res.status = 404;
    res.set_content("not found\n", "text/plain; charset=utf-8");
    return;
  }
  res.set_header("Cache-Control", file->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.set_content(file->content, file->content_type);
}

void register_routes(Server& server) {
  httplib::Server& http = server.http;
  http.Get("/api/summary", api(server, [](Server& s, const httplib::Request& req, httplib::Response& res) {
             reject_unknown_params(req.params, {"token"});
             BorrowedStore store(s.stores);
             send_json(res, summary_json(s, store.store));
           }));
  http.Get("/api/tracks", api(server, handle_tracks));
  http.Get(R"(/api/tracks/([^/]+))", api(server, handle_track));
  http.Get(R"(/api/tracks/([^/]+)/vectors)", api(server, handle_track_vectors));
  http.Get("/api/points", api(server, handle_points));
  http.Get("/api/knn", api(server, handle_knn));
  http.Get(R"(/api/audio/([^/]+)/([^/]+))", api(server, handle_segment_audio));
  http.Get(R"(/api/audio/([^/]+))", api(server, handle_track_audio));
  register_curate_routes(server);
  register_listening_routes(server);
  http.Get(R"(/api(/.*)?)", api(server, [](Server&, const httplib::Request& req, httplib::Response&) {
             throw RequestError(404, "no such endpoint: " + req.path.substr(0, 100) + " (see server/API.md)");
           }));
  http.Get(R"(/.*)", [&server](const httplib::Request& req, httplib::Response& res) { handle_static(server, req, res); });
}

void configure(Server& server) {
  httplib::Server& http = server.http;
  const int threads = server.options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(kMaxRequestBodyBytes);
  // TCP_NODELAY (accepted sockets inherit it from the listening one on Linux): without it a
  // response written as headers + body waits for the client's delayed ACK, a fixed ~40 ms
  // per request (measured: /api/points p50 44 ms at 178 req/s, every size alike).
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  });
  http.set_keep_alive_max_count(1000);  // the UI prefetches many segments over few connections
  http.set_default_headers({{"Content-Security-Policy", kContentSecurityPolicy},
                            {"X-Content-Type-Options", "nosniff"},
                            {"X-Frame-Options", "DENY"},
                            {"Referrer-Policy", "no-referrer"}});
  const std::string token = server.options.token;
  http.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/api", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    std::optional<std::string> query_token;
    if (req.has_param("token")) query_token = req.get_param_value("token");
    if (request_authorized(token, req.get_header_value("Authorization"), query_token))
      return httplib::Server::HandlerResponse::Unhandled;
    send_json(res, {{"error", "missing or wrong token: send `Authorization: Bearer TOKEN` or ?token=TOKEN"}}, 401);
    return httplib::Server::HandlerResponse::Handled;
  });
  // httplib's own errors (400 bad request line, 404 without a route, 405, 413 body too
  // large) get a JSON body too; responses that already have one keep it.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const char* what = res.status == 404 ? "not found" : res.status == 413 ? "request too large" : "bad request";
    send_json(res, {{"error", what}}, res.status);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_json(res, {{"error", what}}, 500);
  });
  register_routes(server);
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

std::optional<std::string> check_server_options(const ServerOptions& options) {
  if (options.port < 0 || options.port > 65535) return "--port: expected 0..65535, got " + std::to_string(options.port);
  if (options.threads < 1) return "threads: expected at least 1";
  if (!is_loopback_host(options.host) && options.token.empty())
    return "--host " + options.host + " is reachable from other machines: give --token T (clients then send `Authorization: Bearer T`)";
  std::error_code error;
  if (!std::filesystem::is_regular_file(options.db_path, error))
    return options.db_path + ": no such collection file (create one with `tagscape analyze MUSIC_DIR`)";
  return std::nullopt;
}

bool request_authorized(const std::string& token, const std::string& authorization_header,
                        const std::optional<std::string>& query_token) {
  if (token.empty()) return true;
  // Constant time in the candidate's content: no early exit on the first differing byte.
  auto equal = [&token](const std::string& candidate) {
    unsigned diff = candidate.size() != token.size();
    for (size_t i = 0; i < candidate.size(); ++i) diff |= unsigned(candidate[i] ^ token[i % token.size()]);
    return diff == 0;
  };
  const std::string prefix = "Bearer ";
  const bool header_ok = authorization_header.rfind(prefix, 0) == 0 && equal(authorization_header.substr(prefix.size()));
  return header_ok || (query_token && equal(*query_token));
}

void ServerDeleter::operator()(Server* server) const {
  if (server->listener.joinable()) {
    stop_server(*server);
    server->listener.join();
  }
  delete server;
}

ServerHandle start_server(const ServerOptions& options) {
  signal(SIGPIPE, SIG_IGN);  // a closed client socket is an error return from send(), not a kill
  ServerHandle server(new Server(options));
  server->stores.path = options.db_path;
  server->web_dir = options.web_dir.empty() && options.search_web_dir ? find_web_dir() : options.web_dir;
  {
    BorrowedStore probe(server->stores);  // fails early (Error naming the file) on a bad collection
    track_index(*server, probe.store, true);
  }
  configure(*server);
  const std::string where = options.host + ":" + std::to_string(options.port);
  if (options.port == 0) server->port = server->http.bind_to_any_port(options.host);
  else server->port = server->http.bind_to_port(options.host, options.port) ? options.port : -1;
  if (server->port <= 0) throw Error(where + ": cannot listen (address in use, or not an address of this machine)");
  Server* raw = server.get();
  server->listener = std::thread([raw] {
    raw->http.listen_after_bind();
    raw->finished.set_value();
  });
  // stop() only acts on a running server: wait until listening so an early stop works.
  while (!server->http.is_running() && server->done.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready) {
  }
  return server;
}

int server_port(const Server& server) { return server.port; }
const std::string& server_web_dir(const Server& server) { return server.web_dir; }

void wait_server(Server& server) { server.done.wait(); }

void stop_server(Server& server) {
  server.http.stop();  // idempotent; returns at once, the listener thread then ends
  server.done.wait();
}

}  // namespace tagscape::server
