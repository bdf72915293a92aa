#include "projection/tsne.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>

#include "common/error.h"
#include "projection/knn_graph.h"

// LAPACK (OpenBLAS): symmetric eigendecomposition, as projection/pca.cpp.
extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info, size_t jobz_len,
                        size_t uplo_len);

namespace tagscape {

namespace {

constexpr int kInterpolationNodes = 3;   // Lagrange nodes per box per axis (FIt-SNE default)
constexpr int kFftTile = 64;             // columns per FFT tile (a 512-row tile of 2 arrays: 256 KB)
constexpr int kPerplexitySteps = 100;    // binary search steps (sklearn)
constexpr double kPerplexityTolerance = 1e-5;
constexpr float kMaxStepNorm = 5;        // layout units per iteration (openTSNE max_step_norm)

int thread_count(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

// `threads` 0 = all, but at most one per kPointsPerThread points: a small layout's
// iterations are shorter than the cost of waking threads (and, on a busy machine, of
// OpenMP barriers between descheduled threads: 1,000 points took 10x longer on 2).
constexpr int64_t kPointsPerThread = 5000;
int layout_threads(int threads, int64_t n) {
  if (threads > 0) return threads;
  return static_cast<int>(std::clamp<int64_t>(n / kPointsPerThread, 1, omp_get_max_threads()));
}

std::string number_text(double value) {  // 30 -> "30", 0.5 -> "0.5"
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// ---------------------------------------------------------------------------------------
// Input affinities

struct SparseMatrix {
  std::vector<int64_t> row_start;  // [n + 1]
  std::vector<int32_t> col;        // [nnz] ascending within a row
  std::vector<float> value;        // [nnz]
};

// Conditional p_{j|i} over the k neighbours of each i, perplexity-calibrated. [n, k].
std::vector<float> conditional_affinities(const KnnGraph& graph, double perplexity, int threads) {
  const int k = graph.k;
  const double target_entropy = std::log(perplexity);
  std::vector<float> p(static_cast<size_t>(graph.n * k));
#pragma omp parallel num_threads(threads)
  {
    std::vector<double> d2(static_cast<size_t>(k)), w(static_cast<size_t>(k));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < graph.n; ++i) {
      const float* dist = &graph.distances[static_cast<size_t>(i * k)];
      // Shifted by the nearest squared distance: exp() cannot underflow to all zeros,
      // and the entropy below is shift-invariant.
      const double nearest = double{dist[0]} * dist[0];
      for (int j = 0; j < k; ++j) d2[static_cast<size_t>(j)] = double{dist[j]} * dist[j] - nearest;
      double beta = 1, beta_low = 0, beta_high = INFINITY, sum = 0;
      for (int step = 0; step < kPerplexitySteps; ++step) {
        sum = 0;
        double weighted = 0;
        for (int j = 0; j < k; ++j) {
          w[static_cast<size_t>(j)] = std::exp(-d2[static_cast<size_t>(j)] * beta);
          sum += w[static_cast<size_t>(j)];
          weighted += d2[static_cast<size_t>(j)] * w[static_cast<size_t>(j)];
        }
        const double entropy = std::log(sum) + beta * weighted / sum;  // sum >= 1 (the nearest)
        const double diff = entropy - target_entropy;
        if (std::fabs(diff) <= kPerplexityTolerance) break;
        if (diff > 0) {  // too flat: sharpen
          beta_low = beta;
          beta = std::isinf(beta_high) ? beta * 2 : (beta + beta_high) / 2;
        } else {
          beta_high = beta;
          beta = (beta + beta_low) / 2;
        }
      }
      for (int j = 0; j < k; ++j) p[static_cast<size_t>(i * k + j)] = static_cast<float>(w[static_cast<size_t>(j)] / sum);
    }
  }
  return p;
}

// P = (P_cond + P_cond^T) / (2n) in CSR, rows sorted by column, duplicates merged.
SparseMatrix symmetrise(const KnnGraph& graph, const std::vector<float>& conditional, int threads) {
  const int64_t n = graph.n;
  const int k = graph.k;
  std::vector<int64_t> count(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    count[static_cast<size_t>(i)] += k;
    for (int j = 0; j < k; ++j) ++count[static_cast<size_t>(graph.neighbors[static_cast<size_t>(i * k + j)])];
  }
  std::vector<int64_t> start(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) start[static_cast<size_t>(i + 1)] = start[static_cast<size_t>(i)] + count[static_cast<size_t>(i)];
  std::vector<std::pair<int32_t, float>> entries(static_cast<size_t>(start[static_cast<size_t>(n)]));
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  const float scale = static_cast<float>(0.5 / static_cast<double>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) {
      const int32_t other = graph.neighbors[static_cast<size_t>(i * k + j)];
      const float value = conditional[static_cast<size_t>(i * k + j)] * scale;
      entries[static_cast<size_t>(fill[static_cast<size_t>(i)]++)] = {other, value};
      entries[static_cast<size_t>(fill[static_cast<size_t>(other)]++)] = {static_cast<int32_t>(i), value};
    }
  // Sort and merge each row in place; remember the merged length.
  std::vector<int64_t> merged(static_cast<size_t>(n));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 512)
  for (int64_t i = 0; i < n; ++i) {
    auto* begin = &entries[static_cast<size_t>(start[static_cast<size_t>(i)])];
    auto* end = &entries[0] + start[static_cast<size_t>(i + 1)];
    std::sort(begin, end, [](const auto& a, const auto& b) { return a.first < b.first; });
    int64_t out = 0;
    for (auto* e = begin; e != end; ++e) {
      if (out > 0 && begin[out - 1].first == e->first)
        begin[out - 1].second += e->second;
      else
        begin[out++] = *e;
    }
    merged[static_cast<size_t>(i)] = out;
  }
  SparseMatrix p;
  p.row_start.assign(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) p.row_start[static_cast<size_t>(i + 1)] = p.row_start[static_cast<size_t>(i)] + merged[static_cast<size_t>(i)];
  p.col.resize(static_cast<size_t>(p.row_start[static_cast<size_t>(n)]));
  p.value.resize(p.col.size());
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = 0; e < merged[static_cast<size_t>(i)]; ++e) {
      const auto& entry = entries[static_cast<size_t>(start[static_cast<size_t>(i)] + e)];
      p.col[static_cast<size_t>(p.row_start[static_cast<size_t>(i)] + e)] = entry.first;
      p.value[static_cast<size_t>(p.row_start[static_cast<size_t>(i)] + e)] = entry.second;
    }
  return p;
}

// ---------------------------------------------------------------------------------------
// 2-D FFT: radix-2, split real/imaginary arrays [m, m] row-major. The forward transform
// is decimation in frequency and leaves its output bit-reversed on both axes; the inverse (decimation in time) takes exactly that and returns natural order.
// A pointwise product in between (the convolution) needs no reordering.

struct FftGrid {
  int m = 0;                 // points per axis, a power of 2
  int stride = 0;            // floats between rows: m + 16, so that rows do not all map to
                             // the same cache sets (a 2^k stride made m 1024 ~5x slower)
  std::vector<float> twiddle_re, twiddle_im;  // [m/2] exp(-2 pi i j / m)
  std::vector<float> stage_re, stage_im;      // [m] at half + j: exp(-2 pi i j / (2 half)), contiguous per stage
};

FftGrid make_fft_grid(int m) {
  FftGrid grid;
  grid.m = m;
  grid.stride = m + 16;
  grid.twiddle_re.resize(static_cast<size_t>(m / 2));
  grid.twiddle_im.resize(static_cast<size_t>(m / 2));
  for (int j = 0; j < m / 2; ++j) {
    const double angle = -2 * std::numbers::pi * j / m;
    grid.twiddle_re[static_cast<size_t>(j)] = static_cast<float>(std::cos(angle));
    grid.twiddle_im[static_cast<size_t>(j)] = static_cast<float>(std::sin(angle));
  }
  grid.stage_re.assign(static_cast<size_t>(m), 0.0f);
  grid.stage_im.assign(static_cast<size_t>(m), 0.0f);
  for (int half = 1; half < m; half *= 2)
    for (int j = 0; j < half; ++j) {
      grid.stage_re[static_cast<size_t>(half + j)] = grid.twiddle_re[static_cast<size_t>(j * (m / (2 * half)))];
      grid.stage_im[static_cast<size_t>(half + j)] = grid.twiddle_im[static_cast<size_t>(j * (m / (2 * half)))];
    }
  return grid;
}

// FFT along axis 0 (between rows) for columns [c0, c1): every butterfly is a vector
// operation over the columns.
void fft_rows(const FftGrid& grid, float* re, float* im, int c0, int c1, bool inverse) {
  const int m = grid.m;
  auto butterflies = [&](int len) {
    const int half = len / 2, stride = m / len;
    for (int start = 0; start < m; start += len)
      for (int j = 0; j < half; ++j) {
        const float wr = grid.twiddle_re[static_cast<size_t>(j * stride)];
        const float wi = inverse ? -grid.twiddle_im[static_cast<size_t>(j * stride)]
                                 : grid.twiddle_im[static_cast<size_t>(j * stride)];
        float* __restrict ar = re + static_cast<size_t>(start + j) * grid.stride;
        float* __restrict ai = im + static_cast<size_t>(start + j) * grid.stride;
        float* __restrict br = re + static_cast<size_t>(start + j + half) * grid.stride;
        float* __restrict bi = im + static_cast<size_t>(start + j + half) * grid.stride;
        if (!inverse) {
          for (int c = c0; c < c1; ++c) {
            const float xr = ar[c] - br[c], xi = ai[c] - bi[c];
            ar[c] += br[c];
            ai[c] += bi[c];
            br[c] = xr * wr - xi * wi;
            bi[c] = xr * wi + xi * wr;
          }
        } else {
          for (int c = c0; c < c1; ++c) {
            const float tr = br[c] * wr - bi[c] * wi, ti = br[c] * wi + bi[c] * wr;
            br[c] = ar[c] - tr;
            bi[c] = ai[c] - ti;
            ar[c] += tr;
            ai[c] += ti;
          }
        }
      }
  };
  if (!inverse)
    for (int len = m; len >= 2; len /= 2) butterflies(len);
  else
    for (int len = 2; len <= m; len *= 2) butterflies(len);
}

// FFT along axis 1 (within one row of m values): butterflies vectorise over j.
void fft_row(const FftGrid& grid, float* __restrict re, float* __restrict im, bool inverse) {
  const int m = grid.m;
  auto butterflies = [&](int half) {
    const float* __restrict wr = &grid.stage_re[static_cast<size_t>(half)];
    const float* __restrict wi_table = &grid.stage_im[static_cast<size_t>(half)];
    for (int start = 0; start < m; start += 2 * half) {
      float* __restrict ar = re + start;
      float* __restrict ai = im + start;
      float* __restrict br = re + start + half;
      float* __restrict bi = im + start + half;
      if (!inverse) {
        for (int j = 0; j < half; ++j) {
          const float xr = ar[j] - br[j], xi = ai[j] - bi[j];
          ar[j] += br[j];
          ai[j] += bi[j];
          br[j] = xr * wr[j] - xi * wi_table[j];
          bi[j] = xr * wi_table[j] + xi * wr[j];
        }
      } else {
        for (int j = 0; j < half; ++j) {
          const float tr = br[j] * wr[j] + bi[j] * wi_table[j], ti = bi[j] * wr[j] - br[j] * wi_table[j];
          br[j] = ar[j] - tr;
          bi[j] = ai[j] - ti;
          ar[j] += tr;
          ai[j] += ti;
        }
      }
    }
  };
  if (!inverse)
    for (int half = m / 2; half >= 1; half /= 2) butterflies(half);
  else
    for (int half = 1; half < m; half *= 2) butterflies(half);
}

// Both axes on the calling thread; rows >= live_rows are zero on input (forward) or not
// needed on output (inverse), so their axis-1 transforms are skipped. Whole grids, not
// slices of one, go to threads: a transform then needs no barriers inside (barriers
// cost most on a busy machine). No transposes: with power-of-2 row strides they thrash
// the cache.
void fft_2d(const FftGrid& grid, float* re, float* im, bool inverse, int live_rows) {
  const size_t m = static_cast<size_t>(grid.stride);
  auto along_rows = [&] {
    for (int r = 0; r < live_rows; ++r) fft_row(grid, re + r * m, im + r * m, inverse);
  };
  auto along_columns = [&] {
    for (int c0 = 0; c0 < grid.m; c0 += kFftTile) fft_rows(grid, re, im, c0, std::min(grid.m, c0 + kFftTile), inverse);
  };
  if (!inverse) {
    along_rows();
    along_columns();
  } else {
    along_columns();
    along_rows();
  }
}

// ---------------------------------------------------------------------------------------
// FFT-accelerated repulsion (FIt-SNE), 2-D.

// Lagrange basis on nodes t_k = (k + 0.5) / 3 at t in [0, 1].
void lagrange_weights(float t, float* w) {
  constexpr float t0 = 1.0f / 6, t1 = 0.5f, t2 = 5.0f / 6;
  w[0] = (t - t1) * (t - t2) / ((t0 - t1) * (t0 - t2));
  w[1] = (t - t0) * (t - t2) / ((t1 - t0) * (t1 - t2));
  w[2] = (t - t0) * (t - t1) / ((t2 - t0) * (t2 - t1));
}

int next_power_of_two(int v) {
  int p = 1;
  while (p < v) p *= 2;
  return p;
}

struct RepulsionScratch {
  FftGrid fft;
  std::vector<float> a_re, a_im, b_re, b_im, kernel_re, kernel_im;  // [m, m] each
  std::vector<int32_t> box_x, box_y;                                // [n]
  std::vector<float> weight_x, weight_y;                            // [n, 3]
  std::vector<int64_t> column_start;                                // [boxes + 1]
  std::vector<int32_t> by_column;                                   // [n] points sorted by box column
  std::vector<double> z_part;                                       // [n]
};

double repulsion_fft(const float* y, int64_t n, float* forces, int threads, RepulsionScratch& s) {
  constexpr int p = kInterpolationNodes;
  float lo = y[0], hi = y[0];
  for (int64_t i = 0; i < 2 * n; ++i) {
    lo = std::min(lo, y[i]);
    hi = std::max(hi, y[i]);
  }
  // Box width at most 1 unit (where w^2 bends), at least kTsneMinBoxes boxes; then the
  // boxes are widened to fill the power-of-2 FFT size at no extra cost.
  const float extent = std::max(hi - lo, 1e-3f) * (1 + 1e-5f);
  const int wanted_boxes = std::max(kTsneMinBoxes, static_cast<int>(std::ceil(extent)));
  const int m = next_power_of_two(2 * p * wanted_boxes);
  const int boxes = m / (2 * p);
  const int nodes = boxes * p;  // <= m / 2: the circulant embedding needs m >= 2 nodes - 1
  const float box_width = extent / static_cast<float>(boxes);
  const float spacing = box_width / p;
  const float center = (lo + hi) / 2;
  if (s.fft.m != m) {
    s.fft = make_fft_grid(m);
    for (auto* v : {&s.a_re, &s.a_im, &s.b_re, &s.b_im, &s.kernel_re, &s.kernel_im})
      v->assign(static_cast<size_t>(m) * s.fft.stride, 0.0f);
  }
  s.box_x.resize(static_cast<size_t>(n));
  s.box_y.resize(static_cast<size_t>(n));
  s.weight_x.resize(static_cast<size_t>(3 * n));
  s.weight_y.resize(static_cast<size_t>(3 * n));
  s.by_column.resize(static_cast<size_t>(n));
  s.z_part.resize(static_cast<size_t>(n));
  s.column_start.assign(static_cast<size_t>(boxes + 1), 0);
  const size_t mm = static_cast<size_t>(m) * s.fft.stride;  // with row padding
  const size_t stride = static_cast<size_t>(s.fft.stride);

#pragma omp parallel num_threads(threads)
  {
    // Boxes and interpolation weights of every point.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float ux = (y[2 * i] - lo) / box_width, uy = (y[2 * i + 1] - lo) / box_width;
      const int bx = std::min(static_cast<int>(ux), boxes - 1), by = std::min(static_cast<int>(uy), boxes - 1);
      s.box_x[static_cast<size_t>(i)] = bx;
      s.box_y[static_cast<size_t>(i)] = by;
      lagrange_weights(ux - static_cast<float>(bx), &s.weight_x[static_cast<size_t>(3 * i)]);
      lagrange_weights(uy - static_cast<float>(by), &s.weight_y[static_cast<size_t>(3 * i)]);
    }
    // Kernel w^2 at node offsets, wrapped for the circulant embedding.
#pragma omp for schedule(static)
    for (int a = 0; a < m; ++a) {
      // Offsets -(nodes - 1)..(nodes - 1) occur; the rows/columns between are never read.
      const bool a_used = a < nodes || a > m - nodes;
      const int da = a < nodes ? a : a - m;
      for (int b = 0; b < m; ++b) {
        const bool b_used = b < nodes || b > m - nodes;
        const int db = b < nodes ? b : b - m;
        float value = 0;
        if (a_used && b_used) {
          const float dx = static_cast<float>(da) * spacing, dy = static_cast<float>(db) * spacing;
          const float w = 1 / (1 + dx * dx + dy * dy);
          value = w * w;
        }
        s.kernel_re[static_cast<size_t>(a) * stride + b] = value;
        s.kernel_im[static_cast<size_t>(a) * stride + b] = 0;
      }
    }
#pragma omp for schedule(static)
    for (size_t e = 0; e < mm; ++e) s.a_re[e] = s.a_im[e] = s.b_re[e] = s.b_im[e] = 0;
#pragma omp single
    {
      // Points by box column, stable (index order within a column).
      for (int64_t i = 0; i < n; ++i) ++s.column_start[static_cast<size_t>(s.box_x[static_cast<size_t>(i)] + 1)];
      for (int b = 0; b < boxes; ++b) s.column_start[static_cast<size_t>(b + 1)] += s.column_start[static_cast<size_t>(b)];
      std::vector<int64_t> fill(s.column_start.begin(), s.column_start.end() - 1);
      for (int64_t i = 0; i < n; ++i)
        s.by_column[static_cast<size_t>(fill[static_cast<size_t>(s.box_x[static_cast<size_t>(i)])]++)] = static_cast<int32_t>(i);
    }
    // Spread the charges (1, y1, y2, |y|^2) onto the nodes; a box column owns grid rows
    // [3 bx, 3 bx + 3), so columns go to threads without write conflicts, and the sum
    // order in every node is the index order: the same for any thread count.
#pragma omp for schedule(dynamic, 1)
    for (int bx = 0; bx < boxes; ++bx)
      for (int64_t e = s.column_start[static_cast<size_t>(bx)]; e < s.column_start[static_cast<size_t>(bx + 1)]; ++e) {
        const int64_t i = s.by_column[static_cast<size_t>(e)];
        const float y1 = y[2 * i] - center, y2 = y[2 * i + 1] - center;
        const float charge[4] = {1, y1, y2, y1 * y1 + y2 * y2};
        const float* wx = &s.weight_x[static_cast<size_t>(3 * i)];
        const float* wy = &s.weight_y[static_cast<size_t>(3 * i)];
        const int gy = s.box_y[static_cast<size_t>(i)] * p;
        for (int kx = 0; kx < p; ++kx) {
          const size_t row = static_cast<size_t>(bx * p + kx) * stride;
          for (int ky = 0; ky < p; ++ky) {
            const float w = wx[kx] * wy[ky];
            const size_t at = row + static_cast<size_t>(gy + ky);
            s.a_re[at] += w * charge[0];
            s.a_im[at] += w * charge[1];
            s.b_re[at] += w * charge[2];
            s.b_im[at] += w * charge[3];
          }
        }
      }
    float* const forward[3][2] = {{s.kernel_re.data(), s.kernel_im.data()}, {s.a_re.data(), s.a_im.data()},
                                  {s.b_re.data(), s.b_im.data()}};
#pragma omp for schedule(static, 1)
    for (int g = 0; g < 3; ++g) fft_2d(s.fft, forward[g][0], forward[g][1], false, g == 0 ? m : nodes);
    // The kernel is real and even, so its spectrum is real: (c1 + i c2) * K convolves
    // both real charges at once. 1/m^2 is the inverse transform's scale.
    const float scale = 1.0f / (static_cast<float>(m) * static_cast<float>(m));
#pragma omp for schedule(static)
    for (size_t e = 0; e < mm; ++e) {
      const float k = s.kernel_re[e] * scale;
      s.a_re[e] *= k;
      s.a_im[e] *= k;
      s.b_re[e] *= k;
      s.b_im[e] *= k;
    }
#pragma omp for schedule(static, 1)
    for (int g = 1; g < 3; ++g) fft_2d(s.fft, forward[g][0], forward[g][1], true, nodes);
    // Interpolate the potentials back to the points.
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float* wx = &s.weight_x[static_cast<size_t>(3 * i)];
      const float* wy = &s.weight_y[static_cast<size_t>(3 * i)];
      const int gx = s.box_x[static_cast<size_t>(i)] * p, gy = s.box_y[static_cast<size_t>(i)] * p;
      double phi[4] = {0, 0, 0, 0};
      for (int kx = 0; kx < p; ++kx)
        for (int ky = 0; ky < p; ++ky) {
          const double w = double{wx[kx]} * wy[ky];
          const size_t at = static_cast<size_t>(gx + kx) * stride + static_cast<size_t>(gy + ky);
          phi[0] += w * s.a_re[at];
          phi[1] += w * s.a_im[at];
          phi[2] += w * s.b_re[at];
          phi[3] += w * s.b_im[at];
        }
      const double y1 = y[2 * i] - center, y2 = y[2 * i + 1] - center;
      forces[2 * i] = static_cast<float>(y1 * phi[0] - phi[1]);
      forces[2 * i + 1] = static_cast<float>(y2 * phi[0] - phi[2]);
      // sum_j w_ij = sum_j (1 + |y_i|^2 - 2 y_i.y_j + |y_j|^2) w_ij^2, self term included (1)
      s.z_part[static_cast<size_t>(i)] = (1 + y1 * y1 + y2 * y2) * phi[0] - 2 * (y1 * phi[1] + y2 * phi[2]) + phi[3];
    }
  }
  double z = 0;
  for (double part : s.z_part) z += part;  // in index order: thread-count independent
  return z - static_cast<double>(n);
}

// ---------------------------------------------------------------------------------------
// Optimisation

struct Phase {
  int iterations;
  double exaggeration;
  double momentum;
};

// attractive[i] = sum_j p_ij w_ij (y_i - y_j)
void attraction(const SparseMatrix& p, const float* y, int64_t n, float* attractive, int threads) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1024)
  for (int64_t i = 0; i < n; ++i) {
    const float yi1 = y[2 * i], yi2 = y[2 * i + 1];
    float f1 = 0, f2 = 0;
    for (int64_t e = p.row_start[static_cast<size_t>(i)]; e < p.row_start[static_cast<size_t>(i + 1)]; ++e) {
      const int64_t j = p.col[static_cast<size_t>(e)];
      const float d1 = yi1 - y[2 * j], d2 = yi2 - y[2 * j + 1];
      const float pw = p.value[static_cast<size_t>(e)] / (1 + d1 * d1 + d2 * d2);
      f1 += pw * d1;
      f2 += pw * d2;
    }
    attractive[2 * i] = f1;
    attractive[2 * i + 1] = f2;
  }
}

}  // namespace

std::string tsne_params_key(const TsneParams& p) {
  char text[256];
  std::snprintf(text, sizeof text,
                "out_dims=%d perplexity=%.9g learning_rate=%.9g early_exaggeration=%.9g early_iterations=%d "
                "iterations=%d knn_pca_dims=%d seed=%llu",
                p.out_dims, p.perplexity, p.learning_rate, p.early_exaggeration, p.early_iterations, p.iterations,
                p.knn_pca_dims, static_cast<unsigned long long>(p.seed));
  return text;
}

double tsne_learning_rate(const TsneParams& params, int64_t n) {
  if (params.learning_rate > 0) return params.learning_rate;
  return std::max(static_cast<double>(n) / params.early_exaggeration / 4, 50.0);
}

std::vector<float> pca_initialisation(const float* x, int64_t n, int dims, int out_dims, double first_std,
                                      int threads) {
  assert(n >= 2 && out_dims >= 1 && out_dims <= dims);
  threads = thread_count(threads);
  std::vector<double> mean(static_cast<size_t>(dims), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d) mean[static_cast<size_t>(d)] += x[i * dims + d];
  for (double& v : mean) v /= static_cast<double>(n);
  // Covariance (unscaled): centred blocks through BLAS ssyrk, accumulated in double.
  constexpr int64_t kBlock = 4096;
  const size_t dd = static_cast<size_t>(dims) * dims;
  std::vector<float> block(static_cast<size_t>(kBlock * dims)), product(dd);
  std::vector<double> cov(dd, 0.0);
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t rows = std::min(kBlock, n - b);
    for (int64_t r = 0; r < rows; ++r)
      for (int d = 0; d < dims; ++d)
        block[static_cast<size_t>(r * dims + d)] = static_cast<float>(x[(b + r) * dims + d] - mean[static_cast<size_t>(d)]);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dims, static_cast<int>(rows), 1.0f, block.data(), dims, 0.0f,
                product.data(), dims);
    for (int i = 0; i < dims; ++i)
      for (int j = i; j < dims; ++j) cov[static_cast<size_t>(i) * dims + j] += product[static_cast<size_t>(i) * dims + j];
  }
  for (int i = 0; i < dims; ++i)
    for (int j = 0; j < i; ++j) cov[static_cast<size_t>(i) * dims + j] = cov[static_cast<size_t>(j) * dims + i];
  std::vector<double> eigenvalues(static_cast<size_t>(dims));
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_("V", "U", &dims, cov.data(), &dims, eigenvalues.data(), &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  dsyevd_("V", "U", &dims, cov.data(), &dims, eigenvalues.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  if (info != 0) throw Error("PCA initialisation: eigendecomposition did not converge (LAPACK dsyevd info " +
                             std::to_string(info) + ")");
  // Column-major eigenvectors ascending: component c is column dims - 1 - c.
  std::vector<double> components(static_cast<size_t>(out_dims) * dims);
  for (int c = 0; c < out_dims; ++c) {
    double* v = &components[static_cast<size_t>(c) * dims];
    for (int d = 0; d < dims; ++d) v[d] = cov[static_cast<size_t>(dims - 1 - c) * dims + d];
    int largest = 0;
    for (int d = 1; d < dims; ++d)
      if (std::fabs(v[d]) > std::fabs(v[largest])) largest = d;
    if (v[largest] < 0)
      for (int d = 0; d < dims; ++d) v[d] = -v[d];
  }
  // projected = (x - mean) components^T, centred blocks through BLAS sgemm.
  std::vector<double> projected(static_cast<size_t>(n * out_dims));
  const std::vector<float> components_f(components.begin(), components.end());
  std::vector<float> block_out(static_cast<size_t>(kBlock * out_dims));
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t rows = std::min(kBlock, n - b);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      for (int d = 0; d < dims; ++d)
        block[static_cast<size_t>(r * dims + d)] = static_cast<float>(x[(b + r) * dims + d] - mean[static_cast<size_t>(d)]);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), out_dims, dims, 1.0f, block.data(), dims,
                components_f.data(), dims, 0.0f, block_out.data(), out_dims);
    for (int64_t e = 0; e < rows * out_dims; ++e) projected[static_cast<size_t>(b * out_dims + e)] = block_out[static_cast<size_t>(e)];
  }
  double sum = 0, sum2 = 0;
  for (int64_t i = 0; i < n; ++i) sum += projected[static_cast<size_t>(i * out_dims)];
  const double mean0 = sum / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) sum2 += std::pow(projected[static_cast<size_t>(i * out_dims)] - mean0, 2);
  const double std0 = std::sqrt(sum2 / static_cast<double>(n));
  const double scale = std0 > 0 ? first_std / std0 : 1.0;
  std::vector<float> coords(projected.size());
  for (size_t e = 0; e < coords.size(); ++e) coords[e] = static_cast<float>(projected[e] * scale);
  return coords;
}

KnnGraph layout_knn_graph(const float* x, int64_t n, int dims, int k, int pca_dims, uint64_t seed, int threads) {
  const KnnGraphParams params{.k = k, .threads = threads, .seed = seed};
  if (resolve_knn_method(params.method, n) == KnnGraphMethod::exact || pca_dims <= 0 || dims <= pca_dims)
    return build_knn_graph(x, n, dims, params);
  // A uniform scale does not change neighbours, nor the perplexity/sigma calibrations.
  const std::vector<float> reduced = pca_initialisation(x, n, dims, pca_dims, 1.0, threads);
  return build_knn_graph(reduced.data(), n, pca_dims, params);
}

double tsne_repulsion_fft(const float* y, int64_t n, float* forces, int threads) {
  RepulsionScratch scratch;
  return repulsion_fft(y, n, forces, thread_count(threads), scratch);
}

// The exact repulsion in float, for small n (see kTsneExactRepulsionMaxPoints): each row's
// sums are independent of the thread count and Z is summed in row order, so the result is
// the same for any number of threads.
static double repulsion_exact_small(const float* y, int64_t n, float* forces, std::vector<double>& row_z, int threads) {
  row_z.resize(static_cast<size_t>(n));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float yi1 = y[2 * i], yi2 = y[2 * i + 1];
    float f1 = 0, f2 = 0, z = 0;
#pragma omp simd reduction(+ : f1, f2, z)
    for (int64_t j = 0; j < n; ++j) {
      const float d1 = yi1 - y[2 * j], d2 = yi2 - y[2 * j + 1];
      const float w = 1 / (1 + d1 * d1 + d2 * d2);
      z += w;
      f1 += w * w * d1;
      f2 += w * w * d2;
    }
    forces[2 * i] = f1;
    forces[2 * i + 1] = f2;
    row_z[static_cast<size_t>(i)] = z - 1;  // j == i contributed w = 1 and no force
  }
  double z = 0;
  for (double v : row_z) z += v;
  return z;
}

double tsne_repulsion_exact(const float* y, int64_t n, float* forces) {
  double z = 0;
  for (int64_t i = 0; i < n; ++i) {
    double f1 = 0, f2 = 0;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const double d1 = double{y[2 * i]} - y[2 * j], d2 = double{y[2 * i + 1]} - y[2 * j + 1];
      const double w = 1 / (1 + d1 * d1 + d2 * d2);
      z += w;
      f1 += w * w * d1;
      f2 += w * w * d2;
    }
    forces[2 * i] = static_cast<float>(f1);
    forces[2 * i + 1] = static_cast<float>(f2);
  }
  return z;
}

std::vector<float> tsne_embed(const float* x, int64_t n, int dims, const TsneParams& params,
                              const ProjectionProgress& progress) {
  check_projection_input(x, n, dims, "t-SNE");
  if (params.out_dims != 2)
    throw Error("t-SNE supports out_dims 2 only, got " + std::to_string(params.out_dims));
  if (!(params.perplexity >= 1)) throw Error("t-SNE perplexity must be >= 1, got " + number_text(params.perplexity));
  const int k = static_cast<int>(std::min(std::floor(3 * params.perplexity), 1e9));
  if (k >= n)
    throw Error("t-SNE perplexity " + number_text(params.perplexity) + " needs more than " + std::to_string(k) +
                " points (3 x perplexity neighbours), got " + std::to_string(n));
  if (params.learning_rate < 0) throw Error("t-SNE learning rate must be >= 0 (0 = auto), got " + number_text(params.learning_rate));
  if (params.iterations < 1 || params.early_iterations < 0)
    throw Error("t-SNE needs iterations >= 1 and early_iterations >= 0, got " + std::to_string(params.iterations) +
                " and " + std::to_string(params.early_iterations));
  const int threads = layout_threads(params.threads, n);

  const KnnGraph graph = layout_knn_graph(x, n, dims, k, params.knn_pca_dims, params.seed, threads);
  const SparseMatrix p = symmetrise(graph, conditional_affinities(graph, params.perplexity, threads), threads);
  std::vector<float> y = pca_initialisation(x, n, dims, 2, 1e-4, threads);

  const double learning_rate = tsne_learning_rate(params, n);
  const int early = std::min(params.early_iterations, params.iterations);
  const Phase phases[2] = {{early, params.early_exaggeration, 0.5}, {params.iterations - early, 1.0, 0.8}};
  std::vector<float> update(y.size()), gains(y.size()), attractive(y.size()), repulsive(y.size());
  RepulsionScratch scratch;
  std::vector<double> row_z;
  int iteration = 0;
  for (const Phase& phase : phases) {
    // Each phase starts from rest, as sklearn's two _gradient_descent calls.
    std::fill(update.begin(), update.end(), 0.0f);
    std::fill(gains.begin(), gains.end(), 1.0f);
    for (int step = 0; step < phase.iterations; ++step) {
      attraction(p, y.data(), n, attractive.data(), threads);
      const double z = n <= kTsneExactRepulsionMaxPoints
                           ? repulsion_exact_small(y.data(), n, repulsive.data(), row_z, threads)
                           : repulsion_fft(y.data(), n, repulsive.data(), threads, scratch);
      const float exaggeration = static_cast<float>(phase.exaggeration), inv_z = static_cast<float>(1 / z);
      const float momentum = static_cast<float>(phase.momentum), rate = static_cast<float>(learning_rate);
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        float step[2];
        for (int c = 0; c < 2; ++c) {
          const size_t e = static_cast<size_t>(2 * i + c);
          const float gradient = 4 * (exaggeration * attractive[e] - repulsive[e] * inv_z);
          gains[e] = (update[e] * gradient < 0) ? gains[e] + 0.2f : std::max(gains[e] * 0.8f, 0.01f);
          step[c] = momentum * update[e] - rate * gains[e] * gradient;
        }
        // openTSNE's max_step_norm: a point shooting off would stretch the FFT grid
        // (measured at 100k: extent 470 instead of ~100, the iterations 10x slower).
        const float norm = std::sqrt(step[0] * step[0] + step[1] * step[1]);
        const float shrink = norm > kMaxStepNorm ? kMaxStepNorm / norm : 1.0f;
        for (int c = 0; c < 2; ++c) {
          const size_t e = static_cast<size_t>(2 * i + c);
          update[e] = step[c] * shrink;
          y[e] += update[e];
        }
      }
      ++iteration;
      const bool report = params.callback_every > 0 ? iteration % params.callback_every == 0 : false;
      if (progress && (report || iteration == params.iterations) && !progress(iteration, y.data())) return y;
    }
  }
  return y;
}

Layout run_tsne(const PointSet& points, const TsneParams& params, const ProjectionProgress& progress) {
  Layout layout;
  layout.n = points.n;
  layout.out_dims = params.out_dims;
  layout.coords = tsne_embed(points.values.data(), points.n, points.dims, params, progress);
  return layout;
}

}  // namespace tagscape
