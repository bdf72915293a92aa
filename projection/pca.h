// projection/pca.h — principal component analysis, exact, through the covariance matrix.
//
//   Layout layout = run_pca(points, {.out_dims = 2});                      // PCA
//   Layout layout = run_pca(points, {.out_dims = 2, .standardize = true});  // STD-PCA
//   PcaModel model = fit_pca(points, params);   // the components, e.g. for t-SNE init
//
// Method: column means in double; X^T X of mean-centred rows with BLAS ssyrk in blocks of
// kPcaBlockRows rows, each block's float result added into a double accumulator (float
// sums stay short, the total is exact to double); eigendecomposition of the d x d
// covariance (ddof 1) with LAPACK dsyevd. Cost: n*d^2 flops (2e10 for 1M x 200) plus
// O(d^3); memory O(d^2) beyond the input. BLAS threads: OpenBLAS's own
// (OPENBLAS_NUM_THREADS); the other passes use OpenMP threads.
//
// STD-PCA: every feature z-scored first, (x - mean) / std with the population std
// (ddof 0) as sklearn's StandardScaler; a constant feature keeps scale 1.
//
// Sign rule (SVD/eigenvectors are defined up to sign): each component is flipped so that
// its loading of largest absolute value is positive (on a tie, the lowest index wins).
// Results are then reproducible across BLAS/LAPACK builds.
#pragma once

#include <vector>

#include "projection/points.h"

namespace tagscape {

constexpr int kPcaBlockRows = 8192;

struct PcaParams {
  int out_dims = 2;          // components kept, 1 <= out_dims <= dims
  bool standardize = false;  // STD-PCA: z-score each feature first
};

struct PcaModel {
  int dims = 0;                                 // input dims
  int out_dims = 0;                             // components
  std::vector<double> mean;                     // [dims] column means
  std::vector<double> scale;                    // [dims] divisor per feature: 1 (PCA) or std ddof 0 (STD-PCA)
  std::vector<double> components;               // [out_dims, dims] row-major, unit length, sign rule above
  std::vector<double> explained_variance;       // [out_dims] eigenvalues of the covariance (ddof 1), descending
  double total_variance = 0;                    // trace of the covariance (sum of all eigenvalues)
};

// Throws Error when n < 2 ("PCA needs at least 2 points, got 1") or out_dims is not in
// 1..dims, or the input holds NaN/inf (the covariance would be NaN).
PcaModel fit_pca(const PointSet& points, const PcaParams& params);

// coords[i][c] = sum_j (x[i][j] - mean[j]) / scale[j] * components[c][j], in double.
Layout project_pca(const PcaModel& model, const PointSet& points);

// fit_pca + project_pca; Layout.explained_variance(_ratio) filled.
Layout run_pca(const PointSet& points, const PcaParams& params);

}  // namespace tagscape
