#include "projection/umap.h"

#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "projection/knn_graph.h"

namespace tagscape {

namespace {

constexpr int kSigmaSteps = 64;          // smooth_knn_dist n_iter
constexpr double kSigmaTolerance = 1e-5; // smooth_knn_dist SMOOTH_K_TOLERANCE
constexpr double kMinSigmaScale = 1e-3;  // MIN_K_DIST_SCALE
constexpr float kGradientClip = 4;       // layouts.py clip()
constexpr float kRepulsionEpsilon = 0.001f;

// `threads` 0 = all, but at most one per kPointsPerThread points: a small layout's
// iterations are shorter than the cost of waking threads (and, on a busy machine, of
// OpenMP barriers between descheduled threads: 1,000 points took 10x longer on 2).
constexpr int64_t kPointsPerThread = 5000;
int layout_threads(int threads, int64_t n) {
  if (threads > 0) return threads;
  return static_cast<int>(std::clamp<int64_t>(n / kPointsPerThread, 1, omp_get_max_threads()));
}

std::string number_text(double value) {  // 1 -> "1", 0.1 -> "0.1"
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// Fuzzy graph as directed edges by head vertex (both (i, j) and (j, i) present).
struct EdgeList {
  std::vector<int64_t> row_start;  // [n + 1]
  std::vector<int32_t> tail;       // [edges]
  std::vector<float> weight;       // [edges] membership strength in (0, 1]
};

// Membership strengths a_ij = exp(-(d_ij - rho_i) / sigma_i) over each point's k
// neighbours. [n, k].
std::vector<float> memberships(const KnnGraph& graph, int n_neighbors, int threads) {
  const int k = graph.k;
  const double target = std::log2(static_cast<double>(n_neighbors));  // bandwidth 1
  double mean_distance = 0;
  for (float d : graph.distances) mean_distance += d;
  mean_distance /= static_cast<double>(graph.distances.size());
  std::vector<float> a(static_cast<size_t>(graph.n * k));
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < graph.n; ++i) {
    const float* dist = &graph.distances[static_cast<size_t>(i * k)];
    // rho: the nearest non-zero distance (local_connectivity 1); duplicates sit at 0.
    double rho = 0, mean_i = 0;
    for (int j = 0; j < k; ++j) {
      mean_i += dist[j];
      if (rho == 0 && dist[j] > 0) rho = dist[j];
    }
    mean_i /= k;
    double low = 0, high = INFINITY, sigma = 1;
    for (int step = 0; step < kSigmaSteps; ++step) {
      double sum = 0;
      for (int j = 0; j < k; ++j) {
        const double d = dist[j] - rho;
        sum += d > 0 ? std::exp(-d / sigma) : 1.0;
      }
      if (std::fabs(sum - target) < kSigmaTolerance) break;
      if (sum > target) {
        high = sigma;
        sigma = (low + high) / 2;
      } else {
        low = sigma;
        sigma = std::isinf(high) ? sigma * 2 : (low + high) / 2;
      }
    }
    sigma = std::max(sigma, kMinSigmaScale * (rho > 0 ? mean_i : mean_distance));
    for (int j = 0; j < k; ++j) {
      const double d = dist[j] - rho;
      a[static_cast<size_t>(i * k + j)] = static_cast<float>(d > 0 ? std::exp(-d / sigma) : 1.0);
    }
  }
  return a;
}

// W = A + A^T - A o A^T, then edges below max(W) / epochs dropped.
EdgeList fuzzy_union(const KnnGraph& graph, const std::vector<float>& a, int epochs, int threads) {
  const int64_t n = graph.n;
  const int k = graph.k;
  struct Entry {
    int32_t other;
    float forward;  // a_ij
    float reverse;  // a_ji
  };
  std::vector<int64_t> start(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    start[static_cast<size_t>(i + 1)] += k;
    for (int j = 0; j < k; ++j) ++start[static_cast<size_t>(graph.neighbors[static_cast<size_t>(i * k + j)] + 1)];
  }
  for (int64_t i = 0; i < n; ++i) start[static_cast<size_t>(i + 1)] += start[static_cast<size_t>(i)];
  std::vector<Entry> entries(static_cast<size_t>(start[static_cast<size_t>(n)]));
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) {
      const int32_t other = graph.neighbors[static_cast<size_t>(i * k + j)];
      const float value = a[static_cast<size_t>(i * k + j)];
      entries[static_cast<size_t>(fill[static_cast<size_t>(i)]++)] = {other, value, 0};
      entries[static_cast<size_t>(fill[static_cast<size_t>(other)]++)] = {static_cast<int32_t>(i), 0, value};
    }
  std::vector<int64_t> merged(static_cast<size_t>(n));
  float max_weight = 0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 512) reduction(max : max_weight)
  for (int64_t i = 0; i < n; ++i) {
    Entry* begin = &entries[0] + start[static_cast<size_t>(i)];
    Entry* end = &entries[0] + start[static_cast<size_t>(i + 1)];
    std::sort(begin, end, [](const Entry& x, const Entry& y) { return x.other < y.other; });
    int64_t out = 0;
    for (Entry* e = begin; e != end; ++e) {
      if (out > 0 && begin[out - 1].other == e->other) {
        begin[out - 1].forward += e->forward;
        begin[out - 1].reverse += e->reverse;
      } else {
        begin[out++] = *e;
      }
    }
    for (int64_t e = 0; e < out; ++e) {
      const float w = begin[e].forward + begin[e].reverse - begin[e].forward * begin[e].reverse;
      begin[e].forward = w;  // reused as the union weight
      max_weight = std::max(max_weight, w);
    }
    merged[static_cast<size_t>(i)] = out;
  }
  const float threshold = max_weight / static_cast<float>(epochs);
  EdgeList edges;
  edges.row_start.assign(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t kept = 0;
    for (int64_t e = 0; e < merged[static_cast<size_t>(i)]; ++e)
      kept += entries[static_cast<size_t>(start[static_cast<size_t>(i)] + e)].forward >= threshold;
    edges.row_start[static_cast<size_t>(i + 1)] = edges.row_start[static_cast<size_t>(i)] + kept;
  }
  edges.tail.resize(static_cast<size_t>(edges.row_start[static_cast<size_t>(n)]));
  edges.weight.resize(edges.tail.size());
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    int64_t out = edges.row_start[static_cast<size_t>(i)];
    for (int64_t e = 0; e < merged[static_cast<size_t>(i)]; ++e) {
      const Entry& entry = entries[static_cast<size_t>(start[static_cast<size_t>(i)] + e)];
      if (entry.forward < threshold) continue;
      edges.tail[static_cast<size_t>(out)] = entry.other;
      edges.weight[static_cast<size_t>(out++)] = entry.forward;
    }
  }
  return edges;
}

// Counter-based generator (splitmix64), keyed by (seed, vertex, epoch).
struct SampleRng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int64_t below(int64_t n) {  // uniform in [0, n)
    return static_cast<int64_t>((static_cast<unsigned __int128>(next()) * static_cast<uint64_t>(n)) >> 64);
  }
};

float clip(float v) { return std::clamp(v, -kGradientClip, kGradientClip); }

// Sampling schedule of the directed edges (umap-learn's make_epochs_per_sample and its
// epoch_of_next_sample / epoch_of_next_negative_sample), in float: epoch counts stay in the
// hundreds, and half the bytes streamed every epoch over all ~2 n k edges.
struct EdgeSchedule {
  std::vector<float> period;         // [edges] epochs between samples of edge e: max(W) / w_e
  std::vector<float> next_sample;    // [edges] epoch at which e is next sampled
  std::vector<float> next_negative;  // [edges] epoch of e's next negative sample
};

EdgeSchedule sampling_schedule(const EdgeList& edges, float negative_rate) {
  float max_weight = 0;
  for (float w : edges.weight) max_weight = std::max(max_weight, w);
  EdgeSchedule schedule;
  schedule.period.resize(edges.weight.size());
  for (size_t e = 0; e < edges.weight.size(); ++e) schedule.period[e] = max_weight / edges.weight[e];
  schedule.next_sample = schedule.period;
  schedule.next_negative.resize(edges.weight.size(), INFINITY);
  if (negative_rate > 0)
    for (size_t e = 0; e < edges.weight.size(); ++e) schedule.next_negative[e] = schedule.period[e] / negative_rate;
  return schedule;
}

struct SgdSettings {
  float a, b;            // low-dimensional similarity 1 / (1 + a d^(2b))
  int64_t n;             // points
  float negative_rate;   // negative samples per positive sample
  uint64_t seed;
};

// |u - v|^2 over `dims` (kDims when known at compile time, 0 = use `dims`).
template <int kDims>
float squared_distance(const float* u, const float* v, int dims) {
  float sum = 0;
  for (int d = 0; d < (kDims > 0 ? kDims : dims); ++d) sum += (u[d] - v[d]) * (u[d] - v[d]);
  return sum;
}

// own += alpha * clip(coefficient * (own - other)), per dimension.
template <int kDims>
void step(float* own, const float* other, float coefficient, float alpha, int dims) {
  for (int d = 0; d < (kDims > 0 ? kDims : dims); ++d) own[d] += clip(coefficient * (own[d] - other[d])) * alpha;
}

// One vertex's samples for one epoch, planned before any is applied: per due edge its
// attraction target then its negative samples, as rows of `previous`.
struct VertexPlan {
  std::vector<int64_t> rows;   // [attraction, negatives...] per due edge, in edge order
  std::vector<int> per_edge;   // [due edges] how many rows each (1 + its negatives)
};

// Marks vertex i's edges due at `epoch` as sampled (advancing their schedule) and draws their
// negative samples, in the order umap-learn's epoch loop would, into `plan`; every row it
// names is prefetched, so the loads of one vertex overlap instead of waiting one by one
// (rows are random in a layout beyond L2 at 100k+ points).
void plan_vertex(int64_t i, int epoch, const EdgeList& edges, EdgeSchedule& schedule, const SgdSettings& s,
                 const float* previous, int dims, VertexPlan& plan) {
  plan.rows.clear();
  plan.per_edge.clear();
  SampleRng rng{s.seed ^ (static_cast<uint64_t>(i) * 0xD1B54A32D192ED03ull) ^
                (static_cast<uint64_t>(epoch) * 0x8CB92BA72F3D8DD7ull)};
  for (int64_t e = edges.row_start[static_cast<size_t>(i)]; e < edges.row_start[static_cast<size_t>(i + 1)]; ++e) {
    const size_t edge = static_cast<size_t>(e);
    if (schedule.next_sample[edge] > static_cast<float>(epoch)) continue;
    schedule.next_sample[edge] += schedule.period[edge];
    int negatives = 0;
    if (s.negative_rate > 0) {
      const float negative_period = schedule.period[edge] / s.negative_rate;
      negatives = std::max(0, static_cast<int>((static_cast<float>(epoch) - schedule.next_negative[edge]) / negative_period));
      schedule.next_negative[edge] += static_cast<float>(negatives) * negative_period;
    }
    plan.rows.push_back(edges.tail[edge]);
    for (int k = 0; k < negatives; ++k) plan.rows.push_back(rng.below(s.n));
    plan.per_edge.push_back(1 + negatives);
  }
  for (int64_t row : plan.rows) __builtin_prefetch(previous + row * dims);
}

// One epoch of SGD for vertex i (own: its row of the next layout, starting as a copy of its
// row of `previous`): attraction along each edge due this epoch, each followed by its
// negative samples' repulsion. Reads only `previous`, writes only `own` and i's edges'
// schedule, so vertices run in parallel and the result is independent of thread count.
// An edge's attraction and repulsions take their coefficients from own's position before
// the edge: their std::pow calls are independent and overlap, where one after another each
// waited for the update of own before it (that chain, not arithmetic, was the SGD's time).
template <int kDims>
void move_vertex(int64_t i, float alpha, int dims, const SgdSettings& s, const float* previous,
                 const VertexPlan& plan, float* own_row) {
  if (kDims > 0) dims = kDims;
  // With its size known, own is a local copy, held in registers: in place, each step's
  // two 4-byte stores stalled the next step's 8-byte load of it (no store forwarding), and
  // the compiler must assume own may alias a row of previous.
  float local[kDims > 0 ? kDims : 1];
  float* own = kDims > 0 ? local : own_row;
  if (kDims > 0) std::copy_n(own_row, kDims, local);
  constexpr int kBatch = 32;  // rows whose coefficients are computed together
  float coefficient[kBatch];
  size_t at = 0;
  for (int count : plan.per_edge) {
    for (int first = 0; first < count; first += kBatch) {
      const int batch = std::min(kBatch, count - first);
      const int64_t* rows = &plan.rows[at + static_cast<size_t>(first)];
      for (int k = 0; k < batch; ++k) {
        const float d2 = squared_distance<kDims>(own, previous + rows[k] * dims, dims);
        if (first + k == 0) {  // the attraction
          const float d2b = d2 > 0 ? std::pow(d2, s.b) : 0;
          coefficient[k] = d2 > 0 ? -2 * s.a * s.b * d2b / (d2 * (s.a * d2b + 1)) : 0;
        } else {  // a repulsion; coincident points get the largest push (clipped INFINITY)
          coefficient[k] = rows[k] == i ? 0
                           : d2 > 0     ? 2 * s.b / ((kRepulsionEpsilon + d2) * (s.a * std::pow(d2, s.b) + 1))
                                        : INFINITY;
        }
      }
      for (int k = 0; k < batch; ++k) {
        if (coefficient[k] == 0) continue;
        if (std::isinf(coefficient[k])) {
          for (int d = 0; d < dims; ++d) own[d] += kGradientClip * alpha;
        } else {
          step<kDims>(own, previous + rows[k] * dims, coefficient[k], alpha, dims);
        }
      }
    }
    at += static_cast<size_t>(count);
  }
  if (kDims > 0) std::copy_n(local, kDims, own_row);
}

// One epoch over all vertices: next = previous moved (see move_vertex).
template <int kDims>
void move_vertices(int epoch, float alpha, int dims, const EdgeList& edges, EdgeSchedule& schedule,
                   const SgdSettings& s, const float* previous, float* next, int threads) {
#pragma omp parallel num_threads(threads)
  {
    VertexPlan plan;
#pragma omp for schedule(dynamic, 256)
    for (int64_t i = 0; i < s.n; ++i) {
      float* own = next + i * dims;
      std::copy_n(previous + i * dims, dims, own);
      plan_vertex(i, epoch, edges, schedule, s, previous, dims, plan);
      move_vertex<kDims>(i, alpha, dims, s, previous, plan, own);
    }
  }
}

// PCA scaled to [0, 10] per axis, as umap-learn rescales any initialisation.
std::vector<float> initial_layout(const float* x, int64_t n, int dims, int out_dims, int threads) {
  const int pcs = std::min(out_dims, dims);
  std::vector<float> pca = pca_initialisation(x, n, dims, pcs, 1.0, threads);
  std::vector<float> y(static_cast<size_t>(n * out_dims), 0.0f);
  for (int c = 0; c < pcs; ++c) {
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, pca[static_cast<size_t>(i * pcs + c)]);
      hi = std::max(hi, pca[static_cast<size_t>(i * pcs + c)]);
    }
    const float scale = hi > lo ? 10 / (hi - lo) : 0;
    for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i * out_dims + c)] = (pca[static_cast<size_t>(i * pcs + c)] - lo) * scale;
  }
  return y;
}

}  // namespace

UmapCurve fit_umap_curve(double spread, double min_dist) {
  assert(spread > 0 && min_dist >= 0);
  constexpr int kPoints = 300;
  std::vector<double> xs(kPoints), ys(kPoints);
  for (int p = 0; p < kPoints; ++p) {
    xs[static_cast<size_t>(p)] = 3 * spread * p / (kPoints - 1);  // np.linspace(0, 3 spread, 300)
    ys[static_cast<size_t>(p)] = xs[static_cast<size_t>(p)] < min_dist ? 1.0 : std::exp(-(xs[static_cast<size_t>(p)] - min_dist) / spread);
  }
  // Levenberg–Marquardt on f(x) = 1 / (1 + a x^(2b)), from (1, 1) as scipy's curve_fit.
  auto cost = [&](double a, double b) {
    double sum = 0;
    for (int p = 0; p < kPoints; ++p) {
      const double r = 1 / (1 + a * std::pow(xs[static_cast<size_t>(p)], 2 * b)) - ys[static_cast<size_t>(p)];
      sum += r * r;
    }
    return sum;
  };
  double a = 1, b = 1, lambda = 1e-3, current = cost(a, b);
  for (int iteration = 0; iteration < 500; ++iteration) {
    double jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
    for (int p = 0; p < kPoints; ++p) {
      const double x = xs[static_cast<size_t>(p)];
      const double x2b = x > 0 ? std::pow(x, 2 * b) : 0;
      const double f = 1 / (1 + a * x2b);
      const double r = f - ys[static_cast<size_t>(p)];
      const double da = -x2b * f * f;
      const double db = x > 0 ? -a * x2b * 2 * std::log(x) * f * f : 0;
      jaa += da * da;
      jab += da * db;
      jbb += db * db;
      ga += da * r;
      gb += db * r;
    }
    // (J^T J + lambda diag(J^T J)) delta = -J^T r
    const double m11 = jaa * (1 + lambda), m22 = jbb * (1 + lambda), det = m11 * m22 - jab * jab;
    if (det == 0) break;
    const double step_a = -(m22 * ga - jab * gb) / det, step_b = -(m11 * gb - jab * ga) / det;
    const double trial = cost(a + step_a, b + step_b);
    if (trial < current) {
      const bool converged = current - trial < 1e-15 * std::max(current, 1e-300) ||
                             (std::fabs(step_a) < 1e-12 * std::fabs(a) && std::fabs(step_b) < 1e-12 * std::fabs(b));
      a += step_a;
      b += step_b;
      current = trial;
      lambda = std::max(lambda / 10, 1e-12);
      if (converged) break;
    } else {
      lambda *= 10;
      if (lambda > 1e12) break;
    }
  }
  return {a, b};
}

std::string umap_params_key(const UmapParams& p) {
  char text[256];
  std::snprintf(text, sizeof text,
                "out_dims=%d n_neighbors=%d min_dist=%.9g spread=%.9g epochs=%d learning_rate=%.9g "
                "negative_sample_rate=%d knn_pca_dims=%d seed=%llu",
                p.out_dims, p.n_neighbors, p.min_dist, p.spread, p.epochs, p.learning_rate, p.negative_sample_rate,
                p.knn_pca_dims, static_cast<unsigned long long>(p.seed));
  return text;
}

int umap_epochs(const UmapParams& params, int64_t n) {
  if (params.epochs > 0) return params.epochs;
  return n <= 10'000 ? 500 : 200;
}

std::vector<float> umap_embed(const float* x, int64_t n, int dims, const UmapParams& params,
                              const ProjectionProgress& progress) {
  check_projection_input(x, n, dims, "UMAP");
  if (params.n_neighbors < 2 || params.n_neighbors >= n)
    throw Error("UMAP n_neighbors " + std::to_string(params.n_neighbors) + " must be in 2.." + std::to_string(n - 1) +
                " (below the number of points, " + std::to_string(n) + ")");
  if (params.out_dims < 1) throw Error("UMAP out_dims must be >= 1, got " + std::to_string(params.out_dims));
  if (!(params.spread > 0)) throw Error("UMAP spread must be > 0, got " + number_text(params.spread));
  if (!(params.min_dist >= 0 && params.min_dist <= params.spread))
    throw Error("UMAP min_dist must be in 0..spread (" + number_text(params.spread) + "), got " +
                number_text(params.min_dist));
  if (params.epochs < 0) throw Error("UMAP epochs must be >= 0 (0 = auto), got " + std::to_string(params.epochs));
  if (!(params.learning_rate > 0))
    throw Error("UMAP learning rate must be > 0, got " + number_text(params.learning_rate));
  if (params.negative_sample_rate < 0)
    throw Error("UMAP negative_sample_rate must be >= 0, got " + std::to_string(params.negative_sample_rate));
  const int threads = layout_threads(params.threads, n);
  const int epochs = umap_epochs(params, n);
  const int out_dims = params.out_dims;

  const KnnGraph graph =
      layout_knn_graph(x, n, dims, params.n_neighbors - 1, params.knn_pca_dims, params.seed, threads);
  const EdgeList edges = fuzzy_union(graph, memberships(graph, params.n_neighbors, threads), epochs, threads);
  const UmapCurve curve = fit_umap_curve(params.spread, params.min_dist);
  const SgdSettings settings{static_cast<float>(curve.a), static_cast<float>(curve.b), n,
                             static_cast<float>(params.negative_sample_rate), params.seed};
  EdgeSchedule schedule = sampling_schedule(edges, settings.negative_rate);
  std::vector<float> previous = initial_layout(x, n, dims, out_dims, threads), current(previous.size());
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const float alpha = static_cast<float>(params.learning_rate * (1 - static_cast<double>(epoch) / epochs));
    if (out_dims == 2) {
      move_vertices<2>(epoch, alpha, out_dims, edges, schedule, settings, previous.data(), current.data(), threads);
    } else {
      move_vertices<0>(epoch, alpha, out_dims, edges, schedule, settings, previous.data(), current.data(), threads);
    }
    std::swap(previous, current);
    const int done = epoch + 1;
    const bool report = params.callback_every > 0 && done % params.callback_every == 0;
    if (progress && (report || done == epochs) && !progress(done, previous.data())) break;
  }
  return previous;
}

Layout run_umap(const PointSet& points, const UmapParams& params, const ProjectionProgress& progress) {
  Layout layout;
  layout.n = points.n;
  layout.out_dims = params.out_dims;
  layout.coords = umap_embed(points.values.data(), points.n, points.dims, params, progress);
  return layout;
}

}  // namespace tagscape
