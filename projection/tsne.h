// projection/tsne.h — t-SNE: a 2-D layout that keeps each point's nearest neighbours near.
//
//   Layout layout = run_tsne(points, {.perplexity = 30}, [&](int iteration, const float* coords) {
//     send_frame(coords, points.n);   // [n, 2], every callback_every iterations
//     return !request_is_stale();     // false = stop now and return this layout
//   });
//
// Steps (ref: van der Maaten 2014 "Accelerating t-SNE using tree-based algorithms";
// Linderman et al. 2019 "Fast interpolation-based t-SNE" (FIt-SNE); openTSNE 1.0):
// 1. Input affinities: the k = floor(3 * perplexity) nearest neighbours of every point
//    (projection/knn_graph.h: exact up to kKnnExactMaxPoints points, else hnsw on the
//    top 50 principal components — see knn_pca_dims; hnsw in 200-d took ~40 s at 100k),
//    a Gaussian per point whose precision is found by binary search so that the
//    conditional distribution over its k neighbours has perplexity `perplexity` (on
//    squared euclidean distances, as sklearn), then P = (P + P^T) / (2n): sparse, sums to 1.
// 2. Initialisation: the top 2 principal components of x, scaled so the first column
//    has std 1e-4 (openTSNE's "pca" init) — deterministic, keeps global structure.
// 3. Gradient descent as sklearn/openTSNE: `early_iterations` iterations with P times
//    `early_exaggeration` and momentum 0.5, then the rest with momentum 0.8; per-
//    coordinate gains (+0.2 when the gradient changes sign, x0.8 else, min 0.01); a
//    point's step is clipped to norm 5 (openTSNE's max_step_norm).
//    Gradient (the paper's, with the factor 4):
//      dC/dy_i = 4 [ sum_j p_ij w_ij (y_i - y_j)  -  sum_j w_ij^2 (y_i - y_j) / Z ],
//      w_ij = 1 / (1 + |y_i - y_j|^2),  Z = sum_{i != j} w_ij.
//    Attractive term: exact over the sparse P. Repulsive term and Z: FFT-accelerated
//    interpolation (FIt-SNE): the kernel w^2 is interpolated with 3 Lagrange nodes per
//    box per axis on an equispaced grid (box width <= 1 unit of the layout, at least
//    kTsneMinBoxes boxes per axis), four charges (1, y1, y2, |y|^2) are spread onto the
//    grid, convolved with the kernel by a 2-D FFT (own radix-2, circulant embedding of
//    size m = the next power of 2 >= 6 x boxes; the boxes are then widened to fill it),
//    and interpolated back. O(n + m^2 log m) per iteration. Accuracy as FIt-SNE's
//    defaults: ~1e-3 in Z, ~1-2% in the forces (Barnes-Hut theta 0.5 territory).
//    Cost grows in steps with the layout's extent: m 256 up to ~42 units, 512 up to ~85,
//    1024 beyond (measured 1-2, 7, 36-57 ms per repulsion on one core).
//
// Threads: OpenMP, `threads` of them (0 = all). Determinism: the output is a function of
// (x, params) only — bitwise identical between runs and for ANY thread count — when the
// kNN graph is exact (n <= kKnnExactMaxPoints). Above that the hnsw graph is built on
// all OpenMP threads and may differ in rare neighbours between runs, so large layouts
// are close but not bitwise repeatable.
//
// Memory: O(n k) for P and the kNN graph, O(n) for the layout and optimiser state,
// plus the FFT grids (a few MB); while the hnsw graph is built, also a copy of its input
// (the n x 50 PCA projection) and the graph. Peak RSS at 100k x 200: ~450 MB, of which
// the input itself is 80 MB (bench/tsne-umap-bench).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "projection/knn_graph.h"
#include "projection/points.h"

namespace tagscape {

// Up to this many points the repulsion is the exact O(n^2) sum (float, vectorised): the
// FFT grid's cost depends on the layout's extent, not on n, and small sets spread wide
// (600 points: m 1024, ~40 ms an iteration, where the exact sum takes well under 1 ms).
constexpr int64_t kTsneExactRepulsionMaxPoints = 2'000;

constexpr int kTsneMinBoxes = 20;  // interpolation boxes per axis at least (openTSNE: 50; here
                                   // the grid size is then raised to fill the FFT size)

struct TsneParams {
  int out_dims = 2;                 // only 2 is supported (the FFT gradient is 2-D)
  double perplexity = 30;           // effective neighbours; needs n > 3 * perplexity
  double learning_rate = 0;         // 0 = auto: max(n / early_exaggeration / 4, 50), sklearn's
                                    // 'auto' (with the factor 4 in the gradient this is the
                                    // issue's n/12 in openTSNE's convention)
  double early_exaggeration = 12;   // P multiplier during the first early_iterations
  int early_iterations = 250;       // exaggerated iterations (part of `iterations`)
  int iterations = 750;             // TOTAL iterations, early ones included (openTSNE: 250 + 500)
  int knn_pca_dims = 50;            // above kKnnExactMaxPoints points and this many dims, the
                                    // kNN graph is searched on the top knn_pca_dims principal
                                    // components (as Rtsne's default initial_dims 50); 0 = never
  uint64_t seed = 42;               // kNN graph (hnsw level generator); PCA init needs none
  int threads = 0;                  // OpenMP threads; 0 = all, at most one per 5,000 points
  int callback_every = 50;          // progress callback period in iterations; <= 0 = only at the end
};

// The kNN graph both methods start from: exact on x up to kKnnExactMaxPoints points,
// else hnsw on x or, when dims > pca_dims > 0, on its top pca_dims principal components.
KnnGraph layout_knn_graph(const float* x, int64_t n, int dims, int k, int pca_dims, uint64_t seed, int threads);

// Called after iteration `iteration` (1-based) with the current layout [n, out_dims];
// return false to stop: the layout of that iteration is then returned.
using ProjectionProgress = std::function<bool(int iteration, const float* coords)>;

// x: [n, dims] row-major float32; returns [n, out_dims] in the same row order.
// Throws Error: n < 2 ("t-SNE needs at least 2 points, got 1"), out_dims != 2,
// perplexity < 1, 3 * perplexity >= n ("t-SNE perplexity 30 needs more than 90 points
// (3 x perplexity neighbours), got 50"), learning_rate < 0, iterations < 1,
// early_iterations < 0, non-finite input ("t-SNE input holds NaN or infinite values (row 3)").
std::vector<float> tsne_embed(const float* x, int64_t n, int dims, const TsneParams& params,
                              const ProjectionProgress& progress = {});

// tsne_embed on a PointSet, as a Layout (explained_variance empty).
Layout run_tsne(const PointSet& points, const TsneParams& params, const ProjectionProgress& progress = {});

// Canonical text of the parameters that determine the layout (every field but threads
// and callback_every, defaults filled in, fixed order): the projection cache key's
// "params" part (projection/cache.h), shared by `tagscape project` and `tagscape serve`.
std::string tsne_params_key(const TsneParams& params);

// The learning rate `auto` resolves to for n points (see TsneParams::learning_rate).
double tsne_learning_rate(const TsneParams& params, int64_t n);

// Top `out_dims` principal components of x (centred, covariance + eigenvectors, sign
// rule of projection/pca.h: largest loading positive), projected and scaled so that
// the first column has standard deviation `first_std`. [n, out_dims]. Also UMAP's
// initialisation, and (first_std 1) the reduced input of large kNN graphs.
// Precondition: n >= 2, 1 <= out_dims <= dims.
std::vector<float> pca_initialisation(const float* x, int64_t n, int dims, int out_dims, double first_std,
                                      int threads);

// The repulsive part, exposed for tests and benchmarks. y: [n, 2]. Writes
// forces[i] = sum_j w_ij^2 (y_i - y_j) ([n, 2], not yet divided by Z) and returns Z.
// fft: the interpolation above; exact: the O(n^2) double sum (reference).
double tsne_repulsion_fft(const float* y, int64_t n, float* forces, int threads);
double tsne_repulsion_exact(const float* y, int64_t n, float* forces);

}  // namespace tagscape
