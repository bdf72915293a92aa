#include "projection/quality.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.h"
#include "projection/select.h"

namespace tagscape {

namespace {

// Squared euclidean distances from row i to every row, in double; self = +inf.
void distances_from(std::span<const float> x, int dims, int64_t n, int64_t i, std::vector<double>& out) {
  const float* a = &x[static_cast<size_t>(i * dims)];
  for (int64_t j = 0; j < n; ++j) {
    const float* b = &x[static_cast<size_t>(j * dims)];
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int d = 0; d < dims; ++d) {
      const double diff = double{a[d]} - double{b[d]};
      sum += diff * diff;
    }
    out[static_cast<size_t>(j)] = sum;
  }
  out[static_cast<size_t>(i)] = std::numeric_limits<double>::infinity();
}

// Does j come before l in the order (distance, index)?
bool nearer(const std::vector<double>& dist, int64_t j, int64_t l) {
  return dist[static_cast<size_t>(j)] < dist[static_cast<size_t>(l)] ||
         (dist[static_cast<size_t>(j)] == dist[static_cast<size_t>(l)] && j < l);
}

}  // namespace

double trustworthiness(std::span<const float> high, int high_dims, std::span<const float> low, int low_dims, int64_t n,
                       int k) {
  assert(high.size() == static_cast<size_t>(n * high_dims) && low.size() == static_cast<size_t>(n * low_dims));
  if (k < 1 || 2 * static_cast<int64_t>(k) >= n)
    throw Error("trustworthiness needs 1 <= k < n/2: k " + std::to_string(k) + ", n " + std::to_string(n));
  double penalty = 0;
#pragma omp parallel reduction(+ : penalty)
  {
    std::vector<double> dist_high(static_cast<size_t>(n)), dist_low(static_cast<size_t>(n));
    std::vector<int64_t> order(static_cast<size_t>(n));
#pragma omp for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; ++i) {
      distances_from(high, high_dims, n, i, dist_high);
      distances_from(low, low_dims, n, i, dist_low);
      std::iota(order.begin(), order.end(), int64_t{0});
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int64_t a, int64_t b) { return nearer(dist_low, a, b); });
      for (int m = 0; m < k; ++m) {
        const int64_t j = order[static_cast<size_t>(m)];
        // rank of j in the input space: 1 + points nearer to i than j (self is +inf).
        int64_t rank = 1;
        for (int64_t l = 0; l < n; ++l) rank += nearer(dist_high, l, j);
        if (rank > k) penalty += static_cast<double>(rank - k);
      }
    }
  }
  const double nd = static_cast<double>(n), kd = k;
  return 1.0 - penalty * (2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0)));
}

Quality layout_quality(const PointSet& points, const Layout& layout, const QualityParams& params) {
  assert(layout.n == points.n);
  std::vector<int64_t> rows(static_cast<size_t>(points.n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  if (params.sample > 0) rows = sample_track_ids(std::move(rows), params.sample, params.seed);
  const int64_t s = static_cast<int64_t>(rows.size());
  std::vector<float> high(static_cast<size_t>(s * points.dims)), low(static_cast<size_t>(s * layout.out_dims));
  for (int64_t r = 0; r < s; ++r) {
    const int64_t row = rows[static_cast<size_t>(r)];
    std::copy_n(&points.values[static_cast<size_t>(row * points.dims)], points.dims, &high[static_cast<size_t>(r * points.dims)]);
    std::copy_n(&layout.coords[static_cast<size_t>(row * layout.out_dims)], layout.out_dims,
                &low[static_cast<size_t>(r * layout.out_dims)]);
  }
  Quality quality;
  quality.k = params.k;
  quality.points = s;
  quality.trustworthiness = trustworthiness(high, points.dims, low, layout.out_dims, s, params.k);
  quality.continuity = trustworthiness(low, layout.out_dims, high, points.dims, s, params.k);
  return quality;
}

}  // namespace tagscape
