#include "projection/knn_index.h"

#include <hnswlib/hnswlib.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "store/projection_cache.h"

namespace tagscape {

struct HnswGraph {
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
};

void HnswGraphDeleter::operator()(HnswGraph* graph) const { delete graph; }

namespace {

std::unique_ptr<HnswGraph> make_space(Metric metric, int dims) {
  auto graph = std::make_unique<HnswGraph>();
  if (metric == Metric::cosine)
    graph->space = std::make_unique<hnswlib::InnerProductSpace>(static_cast<size_t>(dims));
  else
    graph->space = std::make_unique<hnswlib::L2Space>(static_cast<size_t>(dims));
  return graph;
}

// hnswlib's distance as KnnIndex reports it: euclidean, not squared; cosine as is.
float reported_distance(Metric metric, float hnsw_distance) {
  return metric == Metric::euclidean ? std::sqrt(std::max(hnsw_distance, 0.0f)) : hnsw_distance;
}

// searchKnn's greedy walk from the entry point down to layer 1, returning where the
// base-layer search starts — without its metrics: hnswlib 0.6.2 bumps two atomic counters
// shared by all threads at every hop, a cache line the 2 threads searching the graph's own
// rows (t-SNE/UMAP input) kept taking from each other. Without them, and with knn_graph.cpp's
// query order, 100k rows on 50 dims took ~3 s instead of 4.6 s.
hnswlib::tableint upper_layers_descent(const hnswlib::HierarchicalNSW<float>& hnsw, const void* query) {
  hnswlib::tableint current = hnsw.enterpoint_node_;
  float distance = hnsw.fstdistfunc_(query, hnsw.getDataByInternalId(current), hnsw.dist_func_param_);
  for (int level = hnsw.maxlevel_; level > 0; level--) {
    for (bool moved = true; moved;) {
      moved = false;
      unsigned int* links = hnsw.get_linklist(current, level);
      const hnswlib::tableint* neighbours = reinterpret_cast<const hnswlib::tableint*>(links + 1);
      for (int i = 0; i < hnsw.getListCount(links); i++) {
        const float d = hnsw.fstdistfunc_(query, hnsw.getDataByInternalId(neighbours[i]), hnsw.dist_func_param_);
        if (d < distance) {
          distance = d;
          current = neighbours[i];
          moved = true;
        }
      }
    }
  }
  return current;
}

// The k stored points nearest `query` (a vector as stored: unit length for cosine), nearest
// first: searchKnn's upper-layer descent then base-layer search with ef max(ef, k), minus its
// metrics (see upper_layers_descent).
std::vector<Neighbor> nearest_stored(const KnnIndex& index, const void* query, size_t k) {
  const hnswlib::HierarchicalNSW<float>& hnsw = *index.graph->hnsw;
  assert(hnsw.num_deleted_ == 0);  // searchBaseLayerST<false> skips deletion checks; we never delete
  auto result = hnsw.searchBaseLayerST<false>(upper_layers_descent(hnsw, query), query, std::max(hnsw.ef_, k));
  while (result.size() > k) result.pop();
  std::vector<Neighbor> neighbors(result.size());
  for (size_t i = result.size(); i-- > 0; result.pop())  // the queue pops farthest first
    neighbors[i] = {static_cast<int64_t>(hnsw.getExternalLabel(result.top().second)),
                    reported_distance(index.metric, result.top().first)};
  return neighbors;
}

// Cosine points go in (and queries come in) unit length; a zero vector stays zero.
void normalise(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += double{x} * x;
  if (norm > 0)
    for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
}

std::string params_text(const KnnParams& params) {
  return "M=" + std::to_string(params.m) + " ef_construction=" + std::to_string(params.ef_construction) +
         " seed=" + std::to_string(params.seed);
}

// A private temporary file, removed when this goes out of scope: hnswlib 0.6.2 saves and
// loads through file paths only.
struct TempFile {
  TempFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tagscape-knn-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw Error(pattern + ": cannot create a temporary file for the kNN index");
    close(fd);
    path = pattern;
  }
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

}  // namespace

const char* metric_name(Metric metric) { return metric == Metric::cosine ? "cosine" : "euclidean"; }

Metric parse_metric(const std::string& text) {
  if (text == "euclidean") return Metric::euclidean;
  if (text == "cosine") return Metric::cosine;
  throw Error("unknown metric '" + text + "' (euclidean|cosine)");
}

KnnIndex build_knn_index(const PointSet& points, const KnnParams& params) {
  assert(points.n > 0 && points.values.size() == static_cast<size_t>(points.n * points.dims));
  KnnIndex index;
  index.metric = params.metric;
  index.dims = points.dims;
  index.n = points.n;
  index.track_ids = points.track_ids;
  index.segment_index = points.segment_index;
  index.graph.reset(make_space(params.metric, points.dims).release());
  index.graph->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(
      index.graph->space.get(), static_cast<size_t>(points.n), static_cast<size_t>(params.m),
      static_cast<size_t>(params.ef_construction), static_cast<size_t>(params.seed));
  hnswlib::HierarchicalNSW<float>& hnsw = *index.graph->hnsw;
  // The first point alone: hnswlib's entry point must exist before parallel inserts.
  auto add = [&](int64_t row, std::vector<float>& buffer) {
    const float* v = &points.values[static_cast<size_t>(row * points.dims)];
    buffer.assign(v, v + points.dims);
    if (params.metric == Metric::cosine) normalise(buffer);
    hnsw.addPoint(buffer.data(), static_cast<hnswlib::labeltype>(row));
  };
  std::vector<float> first;
  add(0, first);
#pragma omp parallel
  {
    std::vector<float> buffer;
#pragma omp for schedule(dynamic, 256)
    for (int64_t row = 1; row < points.n; ++row) add(row, buffer);
  }
  hnsw.setEf(static_cast<size_t>(params.ef_search));
  return index;
}

std::vector<Neighbor> knn_search(const KnnIndex& index, std::span<const float> query, int k) {
  if (k < 1 || k > index.n)
    throw Error("k " + std::to_string(k) + " is " + (k < 1 ? "below 1" : "larger than the " + std::to_string(index.n) +
                " indexed points"));
  if (query.size() != static_cast<size_t>(index.dims))
    throw Error("kNN query has " + std::to_string(query.size()) + " values, the index " + std::to_string(index.dims));
  std::vector<float> q(query.begin(), query.end());
  if (index.metric == Metric::cosine) normalise(q);
  return nearest_stored(index, q.data(), static_cast<size_t>(k));
}

std::vector<Neighbor> knn_of_row(const KnnIndex& index, int64_t row, int k) {
  assert(row >= 0 && row < index.n);
  if (k < 1 || k > index.n - 1)
    throw Error("k " + std::to_string(k) + " must be in 1.." + std::to_string(index.n - 1) +
                " (the other indexed points)");
  const hnswlib::HierarchicalNSW<float>& hnsw = *index.graph->hnsw;
  const hnswlib::tableint node = hnsw.label_lookup_.at(static_cast<hnswlib::labeltype>(row));
  std::vector<Neighbor> found = nearest_stored(index, hnsw.getDataByInternalId(node), static_cast<size_t>(k) + 1);
  // Drop the row itself (or, among exact duplicates, the farthest extra one).
  auto self = std::find_if(found.begin(), found.end(), [&](const Neighbor& nb) { return nb.row == row; });
  found.erase(self != found.end() ? self : found.end() - 1);
  return found;
}

int64_t find_row(const KnnIndex& index, int64_t track_id, int32_t segment) {
  // Rows are in (track id, segment) order (select.h), so binary search.
  auto begin = index.track_ids.begin();
  auto it = std::lower_bound(begin, index.track_ids.end(), track_id);
  for (; it != index.track_ids.end() && *it == track_id; ++it)
    if (index.segment_index[static_cast<size_t>(it - begin)] == segment) return it - begin;
  return -1;
}

std::vector<char> knn_graph_bytes(const KnnIndex& index) {
  TempFile file;
  index.graph->hnsw->saveIndex(file.path);
  std::ifstream in(file.path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(file.path + ": cannot read back the saved kNN index");
  return bytes;
}

void load_knn_graph(KnnIndex& index, const std::vector<char>& bytes, const KnnParams& params, const std::string& origin) {
  TempFile file;
  {
    std::ofstream out(file.path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(file.path + ": cannot write the kNN index (disk full?)");
  }
  std::unique_ptr<HnswGraph> graph = make_space(index.metric, index.dims);
  try {
    graph->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(graph->space.get(), file.path);
  } catch (const std::runtime_error& error) {
    throw Error(origin + ": kNN index is unreadable (" + error.what() + ")");
  }
  if (graph->hnsw->cur_element_count != static_cast<size_t>(index.n) ||
      graph->hnsw->data_size_ != static_cast<size_t>(index.dims) * sizeof(float))
    throw Error(origin + ": kNN index holds " + std::to_string(graph->hnsw->cur_element_count) +
                " points, expected " + std::to_string(index.n) + " of " + std::to_string(index.dims) + " dims");
  graph->hnsw->setEf(static_cast<size_t>(params.ef_search));
  index.graph.reset(graph.release());
}

KnnIndex open_knn_index(Store& store, const std::string& space_name, Granularity granularity, const KnnParams& params,
                        bool* rebuilt) {
  const std::optional<Space> space = find_space(store, space_name);
  if (!space) throw Error(store.path + ": no space '" + space_name + "'");
  const int64_t generation = space_generation(store, space->id);
  const std::string granularity_text = granularity_name(granularity), metric_text = metric_name(params.metric);
  std::optional<StoredKnnIndex> stored;
  try {
    stored = load_knn_index(store, space->id, granularity_text, metric_text);
  } catch (const Error&) {
    if (store.read_only) throw;
    stored.reset();  // a corrupt index is rebuilt below and replaced
  }
  if (stored && stored->generation == generation && stored->params == params_text(params) && stored->dims == space->dims) {
    KnnIndex index;
    index.metric = params.metric;
    index.dims = stored->dims;
    index.n = stored->n;
    index.track_ids = std::move(stored->track_ids);
    index.segment_index = std::move(stored->segment_index);
    load_knn_graph(index, stored->graph, params, store.path);
    if (rebuilt) *rebuilt = false;
    return index;
  }
  if (store.read_only) throw Error(store.path + ": the kNN index is missing or stale and the store is read-only");
  const PointSet points = select_points(store, {.space = space_name, .track_count = -1, .granularity = granularity});
  KnnIndex index = build_knn_index(points, params);
  StoredKnnIndex record{.space_id = space->id,
                        .granularity = granularity_text,
                        .metric = metric_text,
                        .generation = generation,
                        .params = params_text(params),
                        .n = index.n,
                        .dims = index.dims,
                        .track_ids = index.track_ids,
                        .segment_index = index.segment_index,
                        .graph = knn_graph_bytes(index)};
  save_knn_index(store, record);
  if (rebuilt) *rebuilt = true;
  return index;
}

}  // namespace tagscape
