// projection/knn_index.h — the k nearest segments (or tracks) of any point in a space:
// an hnswlib HNSW graph, built once per (space, granularity, metric) and kept in the
// store until the space's vectors change.
//
//   KnnIndex index = open_knn_index(store, "msd-musicnn-1/embeddings", Granularity::segments,
//                                   {.metric = Metric::cosine});   // loads, or builds + saves
//   int64_t row = find_row(index, track_id, segment);               // -1 if absent
//   std::vector<Neighbor> near = knn_of_row(index, row, 10);        // nearest first, self excluded
//
// Distances: euclidean = L2 distance; cosine = 1 - cos(a, b) (vectors are L2-normalised
// before insertion, then hnswlib's inner-product space; a zero vector stays zero and is
// at distance 1 from everything). Recall is approximate: with M 16, ef_construction 200,
// ef_search 100 it was >= 0.99 against brute force in tests/projection_test.cpp.
// Building inserts rows on all OpenMP threads (insertion order varies, so two builds may
// differ in rare ties); queries are read-only and may run concurrently.
// ref: Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
// Hierarchical Navigable Small World graphs" (2016); hnswlib 0.6.2 (Debian libhnswlib-dev).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "projection/points.h"
#include "projection/select.h"
#include "store/store.h"

namespace tagscape {

enum class Metric { euclidean, cosine };
const char* metric_name(Metric metric);  // "euclidean" | "cosine"
// Throws Error "unknown metric 'x' (euclidean|cosine)".
Metric parse_metric(const std::string& text);

struct KnnParams {
  Metric metric = Metric::euclidean;
  int m = 16;                 // hnswlib M: graph degree (memory ~ n * M * 8 bytes + the vectors)
  int ef_construction = 200;  // build-time candidate list; higher = better graph, slower build
  int ef_search = 100;        // query-time candidate list (>= k is enforced); higher = better recall
  uint64_t seed = 100;        // hnswlib level generator
};

struct HnswGraph;  // hnswlib space + graph (projection/knn_index.cpp)
struct HnswGraphDeleter {
  void operator()(HnswGraph* graph) const;
};

struct KnnIndex {
  Metric metric = Metric::euclidean;
  int dims = 0;                                       // values per point
  int64_t n = 0;                                      // points; hnswlib label = row
  std::vector<int64_t> track_ids;                     // [n] row -> track
  std::vector<int32_t> segment_index;                 // [n] row -> segment (-1 for averages)
  std::unique_ptr<HnswGraph, HnswGraphDeleter> graph;
};

struct Neighbor {
  int64_t row;     // 0..n-1, the PointSet row (track_ids[row], segment_index[row])
  float distance;  // see the metric above; ascending in a result
};

// Builds the graph over all rows of `points`. Precondition: points.n > 0.
KnnIndex build_knn_index(const PointSet& points, const KnnParams& params);

// The k nearest rows to `query` (dims values), nearest first. Throws Error if k < 1 or
// k > n ("k 20 is larger than the 12 indexed points") or the query has the wrong size.
std::vector<Neighbor> knn_search(const KnnIndex& index, std::span<const float> query, int k);

// The k nearest rows to row `row`, the row itself excluded. Throws Error if k > n - 1.
std::vector<Neighbor> knn_of_row(const KnnIndex& index, int64_t row, int k);

// The row of (track, segment) — segment -1 for averages — or -1 if not indexed.
int64_t find_row(const KnnIndex& index, int64_t track_id, int32_t segment);

// hnswlib's own file format, as bytes (what the store keeps), and back. Load checks the
// point count and dims against n/dims and throws Error naming `origin` on mismatch.
std::vector<char> knn_graph_bytes(const KnnIndex& index);
void load_knn_graph(KnnIndex& index, const std::vector<char>& bytes, const KnnParams& params, const std::string& origin);

// The index of every 'ok' track of the space at that granularity: loaded from the store
// if it was built at the space's current generation with the same params, else built
// from select_points(all tracks) and saved (store must be writable then). `rebuilt`, if
// given, says which happened.
KnnIndex open_knn_index(Store& store, const std::string& space, Granularity granularity, const KnnParams& params,
                        bool* rebuilt = nullptr);

}  // namespace tagscape
