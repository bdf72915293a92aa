// projection/umap.h — UMAP: a layout from the fuzzy k-nearest-neighbour graph.
//
//   Layout layout = run_umap(points, {.n_neighbors = 15, .min_dist = 0.1}, [&](int epoch, const float* coords) {
//     send_frame(coords, points.n);   // [n, out_dims] every callback_every epochs
//     return !request_is_stale();     // false = stop, return this layout
//   });
//
// Steps, as umap-learn 0.5 (ref: McInnes, Healy, Melville 2018, arXiv:1802.03426;
// umap_.py fuzzy_simplicial_set / smooth_knn_dist / find_ab_params, layouts.py
// optimize_layout_euclidean):
// 1. kNN graph of n_neighbors points per point, the point itself counted as the first
//    (so n_neighbors - 1 others; projection/knn_graph.h: exact, or above
//    kKnnExactMaxPoints hnsw on the top knn_pca_dims principal components).
// 2. Fuzzy simplicial set: per point rho = distance to its nearest other point, sigma by
//    binary search (64 steps) so that sum_j exp(-(d_ij - rho) / sigma) = log2(n_neighbors);
//    sigma floored at 1e-3 x the mean neighbour distance. Fuzzy union
//    W = A + A^T - A o A^T. Edges below max(W) / epochs are dropped (as umap-learn).
// 3. a, b of the low-dimensional similarity 1 / (1 + a d^2b) fitted to the min_dist /
//    spread curve by Levenberg–Marquardt on 300 points of [0, 3 spread] (find_ab_params).
// 4. Initialisation: PCA (the top out_dims principal components of x), rescaled to
//    [0, 10] per axis as umap-learn rescales its init. NOT spectral: the Laplacian
//    eigenvectors of a clustered graph are near-degenerate and converge slowly.
// 5. SGD for `epochs` epochs: each edge is sampled every max(W) / w_ij epochs, pulls its
//    head towards its tail (attraction -2ab d^(2b-2) / (1 + a d^2b)), followed by
//    negative_sample_rate random points pushing it away (2b / ((0.001 + d^2)(1 + a d^2b)));
//    gradients clipped to +-4, learning rate falling linearly from learning_rate to 0.
//    One difference: an edge's attraction and its negative samples take their coefficients
//    from the head's position before that edge (umap-learn moves it after each one), so
//    their pow calls overlap instead of forming one dependency chain. With the head held in
//    registers, an epoch at 100k points takes 41 instead of 68 ms, at the same
//    trustworthiness (0.9750-0.9757 vs 0.9746-0.9759; bench/tsne-umap-bench).
//
// Threads and determinism: the epoch is split by head vertex. Each vertex walks its own
// edges in order and moves only itself (the symmetric graph holds both (i, j) and
// (j, i), so this replaces umap-learn's move_other), reading the other points at their
// positions of the previous epoch. Negative samples come from a counter-based generator
// keyed by (seed, vertex, epoch). So there are no data races, and the output is a
// function of (x, params) only — bitwise identical for any thread count — when the kNN
// graph is exact (n <= kKnnExactMaxPoints); above, the hnsw graph (built on all OpenMP
// threads) may differ between runs in rare neighbours. (umap-learn's parallel mode is Hogwild and not
// reproducible.)
//
// Memory: O(n k) edges (about 2 n (n_neighbors - 1) directed edges, 20 bytes each) plus
// the kNN graph; O(n out_dims) for the layout.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "projection/points.h"
#include "projection/tsne.h"  // ProjectionProgress

namespace tagscape {

struct UmapParams {
  int out_dims = 2;                // output dimensions, >= 1 (2 or 3 in the UI)
  int n_neighbors = 15;            // neighbourhood size, self included; 2 <= n_neighbors < n
  double min_dist = 0.1;           // layout units; 0 <= min_dist <= spread
  double spread = 1.0;             // layout units; > 0
  int epochs = 0;                  // 0 = auto: 500 for n <= 10,000, else 200 (umap-learn)
  double learning_rate = 1;        // initial SGD step; > 0
  int negative_sample_rate = 5;    // negative samples per positive sample; >= 0
  int knn_pca_dims = 50;           // as TsneParams::knn_pca_dims (umap-learn searches the raw
                                   // input; 0 = do the same)
  uint64_t seed = 42;              // negative sampling and the hnsw level generator
  int threads = 0;                 // OpenMP threads; 0 = all, at most one per 5,000 points
  int callback_every = 20;         // progress callback period in epochs; <= 0 = only at the end
};

struct UmapCurve {
  double a = 0;  // 1 / (1 + a d^(2b)) ~ 1 for d < min_dist, exp(-(d - min_dist) / spread) beyond
  double b = 0;
};

// umap-learn find_ab_params. Precondition: spread > 0, 0 <= min_dist.
UmapCurve fit_umap_curve(double spread, double min_dist);

// Canonical parameter text for the projection cache key, as tsne_params_key.
std::string umap_params_key(const UmapParams& params);

// The epochs `auto` resolves to for n points.
int umap_epochs(const UmapParams& params, int64_t n);

// x: [n, dims] row-major float32; returns [n, out_dims] in the same row order. The
// callback gets the 1-based epoch. Throws Error: n < 2, n_neighbors < 2 or >= n
// ("UMAP n_neighbors 15 must be below the number of points, 10"), out_dims < 1,
// spread <= 0, min_dist < 0 or > spread, epochs < 0, learning_rate <= 0,
// negative_sample_rate < 0, non-finite input.
std::vector<float> umap_embed(const float* x, int64_t n, int dims, const UmapParams& params,
                              const ProjectionProgress& progress = {});

// umap_embed on a PointSet, as a Layout.
Layout run_umap(const PointSet& points, const UmapParams& params, const ProjectionProgress& progress = {});

}  // namespace tagscape
