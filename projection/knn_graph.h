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
// - hnsw: hnswlib HNSW graph built over all points, then every point queried for k + 1
//   (itself dropped). O(n log n) build, approximate (recall measured in
//   tests/tsne_umap_test.cpp and bench/tsne-umap-bench). The build inserts points on
//   several threads, so the graph (hence rare neighbours) can differ between runs unless
//   threads == 1; with threads == 1 it is deterministic for a seed.
//   ref: hnswlib 0.6.2 (Debian libhnswlib-dev), Malkov & Yashunin 2016.
#pragma once

#include <cstdint>
#include <vector>

namespace tagscape {

// Up to this many points `automatic` uses the exact method. Measured on this machine
// (2 cores, 200-d clustered data, k 90): exact 10k 0.5 s vs hnsw 1.9 s; 30k exact 3.9 s
// vs hnsw 5.1 s; 100k exact 40 s vs hnsw 14 s (bench/tsne-umap-bench, knn_* lines).
constexpr int64_t kKnnExactMaxPoints = 40'000;

enum class KnnGraphMethod { automatic, exact, hnsw };

struct KnnGraphParams {
  int k = 15;                                       // neighbours per point, 1 <= k < n
  KnnGraphMethod method = KnnGraphMethod::automatic;
  int threads = 0;                                  // OpenMP threads; 0 = all
  uint64_t seed = 42;                               // hnsw level generator
  int hnsw_m = 16;                                  // hnsw graph degree
  int hnsw_ef_construction = 100;                   // hnsw build candidate list
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
