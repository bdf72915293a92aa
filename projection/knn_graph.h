// projection/knn_graph.h — the k nearest neighbours of EVERY point of a set (the input
// graph of t-SNE and UMAP), euclidean.
//
//   KnnGraph graph = build_knn_graph(x, n, dims, {.k = 90});
//   // graph.neighbors[i * k + j]: j-th nearest other point of i, distances ascending
//
// Two methods (KnnGraphMethod::automatic picks by n, see kKnnExactMaxPoints):
// - exact: brute force. Squared distances |q|^2 + |r|^2 - 2 q.r with BLAS sgemm on blocks
//   of queries x references, a running top-k per query. O(n^2 d) flops, O(n k) memory
//   plus one block buffer. Deterministic; ties go to the lower index.
// - hnsw: hnswlib HNSW graph built over all points (through projection/knn_index.h's
//   build_knn_index, which inserts on all OpenMP threads; it holds a copy of x), then
//   every point queried for its k nearest others. O(n log n) build, approximate (recall
//   >= 0.99 in tests/tsne_umap_test.cpp on 2,000 50-d points; 0.93 at k 90 on 30k 200-d
//   points with the defaults below). The build inserts points on all threads, so the
//   graph (hence rare neighbours) can differ between runs.
//   ref: hnswlib 0.6.2 (Debian libhnswlib-dev), Malkov & Yashunin 2016.
#pragma once

#include <cstdint>
#include <vector>

namespace tagscape {

// Up to this many points `automatic` uses the exact method (deterministic). Measured on
// this machine (2 shared, busy cores, 200-d clustered data, k 90): 10k exact 0.53 s vs
// hnsw (M 16, ef_construction 100) 0.65 s at recall 0.999; 30k exact 4.5..7.5 s vs hnsw
// (M 12, ef_construction 40) 3.1 s at recall 0.93 (bench/tsne_umap_bench --method knn-both).
// In 200-d hnsw is slow to build: 100k took 43..52 s (busy machine), so t-SNE and UMAP
// search large sets on 50 principal components instead (TsneParams::knn_pca_dims).
constexpr int64_t kKnnExactMaxPoints = 20'000;

enum class KnnGraphMethod { automatic, exact, hnsw };

struct KnnGraphParams {
  int k = 15;                                       // neighbours per point, 1 <= k < n
  KnnGraphMethod method = KnnGraphMethod::automatic;
  int threads = 0;                                  // OpenMP threads; 0 = all
  uint64_t seed = 42;                               // hnsw level generator
  int hnsw_m = 12;                                  // hnsw graph degree
  int hnsw_ef_construction = 40;                    // hnsw build candidate list (low: the
                                                    // layouts tolerate ~0.9 recall, build time
                                                    // dominates at 100k in 200-d)
  int hnsw_ef_search = 0;                           // hnsw query candidate list; 0 = max(2k, 64)
};

struct KnnGraph {
  int64_t n = 0;                  // points
  int k = 0;                      // neighbours per point
  std::vector<int32_t> neighbors; // [n, k] row-major; never the point itself, nearest first
  std::vector<float> distances;   // [n, k] euclidean distance (not squared), ascending per row
};

// x: [n, dims] row-major float32. Preconditions (asserts): n >= 2, 1 <= k < n, n < 2^31.
KnnGraph build_knn_graph(const float* x, int64_t n, int dims, const KnnGraphParams& params);

// The method `automatic` resolves to for n points.
KnnGraphMethod resolve_knn_method(KnnGraphMethod method, int64_t n);

// Input checks shared by t-SNE and UMAP; `method` names the caller in the message.
// Throws Error "t-SNE needs at least 2 points, got 1", "t-SNE input has 0 dims",
// "t-SNE input holds NaN or infinite values (row 3)".
void check_projection_input(const float* x, int64_t n, int dims, const char* method);

}  // namespace tagscape
