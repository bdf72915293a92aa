// projection/quality.h — how faithful a layout is to the space it came from.
//
//   Quality q = layout_quality(points, layout, {.k = 10, .sample = 5000, .seed = 1});
//   // q.trustworthiness: 1 = no false neighbours in the layout; q.continuity: 1 = no lost ones
//
// Definitions (Venna & Kaski 2001; ref: sklearn.manifold.trustworthiness):
//   T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_k(i)} (r(i, j) - k)
// where U_k(i) are the k nearest neighbours of i in the layout that are not among its k
// nearest in the input, and r(i, j) is the rank of j among i's input-space neighbours
// (1 = nearest, i itself excluded). Continuity C(k) is T(k) with input and layout
// swapped (false neighbours of the input in the layout = neighbours the layout lost).
// Distances are euclidean, computed in double. Equal distances rank by lower index.
//
// On a sample: with n > sample, both measures are computed on `sample` points drawn
// with the seed, neighbourhoods taken within the sample — exactly
// sklearn's trustworthiness(X[idx], Y[idx]). Cost O(s^2 (d + k)) for s points.
#pragma once

#include <cstdint>
#include <span>

#include "projection/points.h"

namespace tagscape {

struct QualityParams {
  int k = 10;                // neighbours, 1 <= k < s / 2 (s = points used)
  int64_t sample = 5000;     // at most this many points (0 = all, O(n^2))
  uint64_t seed = 0;         // picks the sample
};

struct Quality {
  double trustworthiness = 0;  // in [0, 1] (can dip below 0 only for adversarial layouts)
  double continuity = 0;       // in [0, 1]
  int k = 0;
  int64_t points = 0;          // points the measures were computed on (s)
};

// high: [n, high_dims], low: [n, low_dims], both row-major. Throws Error if k < 1 or
// k >= s / 2 ("trustworthiness needs k < n/2: k 10, n 12"), as sklearn requires.
double trustworthiness(std::span<const float> high, int high_dims, std::span<const float> low, int low_dims, int64_t n,
                       int k);

// Trustworthiness and continuity of `layout` (rows as in `points`) on a sample.
Quality layout_quality(const PointSet& points, const Layout& layout, const QualityParams& params);

}  // namespace tagscape
