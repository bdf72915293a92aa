// t-SNE, UMAP and the kNN graph they share (projection/tsne.h, umap.h, knn_graph.h):
// cluster separation, determinism, progress/cancel, errors, the FFT repulsion against
// the exact O(n^2) sum, the a/b curve fit against umap-learn, kNN against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "projection/knn_graph.h"
#include "projection/tsne.h"
#include "projection/umap.h"

using namespace tagscape;

namespace {

struct Clusters {
  int64_t n = 0;
  int dims = 0;
  std::vector<float> x;     // [n, dims]
  std::vector<int> labels;  // [n]
};

// `clusters` Gaussian blobs (spread 1) around centres drawn N(0, 10^2) per coordinate:
// centres are ~100 apart, blobs ~10 wide, so every point's neighbours share its label.
Clusters gaussian_clusters(int clusters, int per_cluster, int dims, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> centres(static_cast<size_t>(clusters) * dims);
  for (float& c : centres) c = 10 * normal(rng);
  Clusters data{static_cast<int64_t>(clusters) * per_cluster, dims, {}, {}};
  // Interleaved labels, so row order says nothing about clusters.
  for (int i = 0; i < clusters * per_cluster; ++i) {
    const int label = i % clusters;
    data.labels.push_back(label);
    for (int d = 0; d < dims; ++d) data.x.push_back(centres[static_cast<size_t>(label) * dims + d] + normal(rng));
  }
  return data;
}

// Mean fraction of each point's 10 nearest layout neighbours that share its label.
double knn_label_agreement(const std::vector<float>& layout, int out_dims, const std::vector<int>& labels) {
  const int64_t n = static_cast<int64_t>(labels.size());
  constexpr int k = 10;
  double agree = 0;
  std::vector<std::pair<double, int64_t>> distances;
  for (int64_t i = 0; i < n; ++i) {
    distances.clear();
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double d2 = 0;
      for (int d = 0; d < out_dims; ++d) d2 += std::pow(layout[static_cast<size_t>(i * out_dims + d)] - layout[static_cast<size_t>(j * out_dims + d)], 2);
      distances.emplace_back(d2, j);
    }
    std::partial_sort(distances.begin(), distances.begin() + k, distances.end());
    for (int a = 0; a < k; ++a) agree += labels[static_cast<size_t>(distances[static_cast<size_t>(a)].second)] == labels[static_cast<size_t>(i)];
  }
  return agree / static_cast<double>(n * k);
}

// Brute-force neighbours in double: the reference for the kNN graph.
std::vector<std::vector<int64_t>> brute_force_knn(const std::vector<float>& x, int64_t n, int dims, int k) {
  std::vector<std::vector<int64_t>> result(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, int64_t>> distances;
    for (int64_t j = 0; j < n; ++j) {
      if (j == i) continue;
      double d2 = 0;
      for (int d = 0; d < dims; ++d) d2 += std::pow(double{x[static_cast<size_t>(i * dims + d)]} - x[static_cast<size_t>(j * dims + d)], 2);
      distances.emplace_back(d2, j);
    }
    std::partial_sort(distances.begin(), distances.begin() + k, distances.end());
    for (int a = 0; a < k; ++a) result[static_cast<size_t>(i)].push_back(distances[static_cast<size_t>(a)].second);
  }
  return result;
}

double recall(const KnnGraph& graph, const std::vector<std::vector<int64_t>>& truth) {
  int64_t hits = 0;
  for (int64_t i = 0; i < graph.n; ++i)
    for (int a = 0; a < graph.k; ++a) {
      const int32_t found = graph.neighbors[static_cast<size_t>(i * graph.k + a)];
      hits += std::count(truth[static_cast<size_t>(i)].begin(), truth[static_cast<size_t>(i)].end(), found);
    }
  return static_cast<double>(hits) / static_cast<double>(graph.n * graph.k);
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// kNN graph

TEST(KnnGraphTest, ExactEqualsBruteForce) {
  const Clusters data = gaussian_clusters(4, 100, 20, 1);
  const KnnGraph graph = build_knn_graph(data.x.data(), data.n, data.dims, {.k = 12, .method = KnnGraphMethod::exact});
  EXPECT_GE(recall(graph, brute_force_knn(data.x, data.n, data.dims, 12)), 0.999);
  for (int64_t i = 0; i < graph.n; ++i)
    for (int a = 0; a < graph.k; ++a) {
      EXPECT_NE(graph.neighbors[static_cast<size_t>(i * graph.k + a)], i);
      if (a > 0) {
        EXPECT_LE(graph.distances[static_cast<size_t>(i * graph.k + a - 1)],
                  graph.distances[static_cast<size_t>(i * graph.k + a)]);
      }
    }
}

TEST(KnnGraphTest, HnswRecallAgainstBruteForce) {
  const Clusters data = gaussian_clusters(10, 200, 50, 2);
  const KnnGraph graph = build_knn_graph(data.x.data(), data.n, data.dims, {.k = 15, .method = KnnGraphMethod::hnsw});
  EXPECT_GE(recall(graph, brute_force_knn(data.x, data.n, data.dims, 15)), 0.99);
}

TEST(KnnGraphTest, DistancesAreEuclidean) {
  // Three points on a line: 0, 3, 7.
  const std::vector<float> x = {0, 0, 3, 0, 7, 0};
  const KnnGraph graph = build_knn_graph(x.data(), 3, 2, {.k = 2, .method = KnnGraphMethod::exact});
  EXPECT_EQ(graph.neighbors[0], 1);
  EXPECT_EQ(graph.neighbors[1], 2);
  EXPECT_FLOAT_EQ(graph.distances[0], 3);
  EXPECT_FLOAT_EQ(graph.distances[1], 7);
  EXPECT_EQ(graph.neighbors[4], 1);  // point 2: nearest is 3 at distance 4
  EXPECT_FLOAT_EQ(graph.distances[4], 4);
}

// ---------------------------------------------------------------------------------------
// t-SNE

TEST(TsneTest, SeparatesGaussianClusters) {
  const Clusters data = gaussian_clusters(5, 200, 50, 3);
  const std::vector<float> layout = tsne_embed(data.x.data(), data.n, data.dims, {});
  ASSERT_EQ(layout.size(), static_cast<size_t>(data.n * 2));
  EXPECT_GE(knn_label_agreement(layout, 2, data.labels), 0.95);
}

// Above kTsneExactRepulsionMaxPoints the repulsion is the FFT interpolation.
TEST(TsneTest, SeparatesGaussianClustersWithTheFftRepulsion) {
  const Clusters data = gaussian_clusters(6, 400, 50, 13);
  ASSERT_GT(data.n, kTsneExactRepulsionMaxPoints);
  const std::vector<float> layout = tsne_embed(data.x.data(), data.n, data.dims, {.iterations = 500});
  EXPECT_GE(knn_label_agreement(layout, 2, data.labels), 0.95);
}

TEST(TsneTest, DeterministicForSeedAndThreadCount) {
  const Clusters data = gaussian_clusters(5, 100, 30, 4);
  const TsneParams params{.perplexity = 20, .early_iterations = 60, .iterations = 150};
  TsneParams one_thread = params, two_threads = params;
  one_thread.threads = 1;
  two_threads.threads = 2;
  const std::vector<float> first = tsne_embed(data.x.data(), data.n, data.dims, two_threads);
  const std::vector<float> second = tsne_embed(data.x.data(), data.n, data.dims, two_threads);
  const std::vector<float> single = tsne_embed(data.x.data(), data.n, data.dims, one_thread);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, single);
}

TEST(TsneTest, ProgressIsReportedAndCancelStops) {
  const Clusters data = gaussian_clusters(3, 100, 10, 5);
  std::vector<int> seen;
  const TsneParams params{.perplexity = 10, .iterations = 200, .callback_every = 50};
  tsne_embed(data.x.data(), data.n, data.dims, params, [&](int iteration, const float* coords) {
    seen.push_back(iteration);
    EXPECT_TRUE(std::isfinite(coords[0]) && std::isfinite(coords[2 * data.n - 1]));
    return true;
  });
  EXPECT_EQ(seen, (std::vector<int>{50, 100, 150, 200}));

  seen.clear();
  std::vector<float> at_cancel;
  const std::vector<float> layout =
      tsne_embed(data.x.data(), data.n, data.dims, params, [&](int iteration, const float* coords) {
        seen.push_back(iteration);
        at_cancel.assign(coords, coords + 2 * data.n);
        return iteration < 100;
      });
  EXPECT_EQ(seen, (std::vector<int>{50, 100}));
  EXPECT_EQ(layout, at_cancel);  // the layout of the cancelled iteration comes back
}

TEST(TsneTest, BadInputsGiveClearErrors) {
  const Clusters data = gaussian_clusters(2, 25, 4, 6);  // 50 points
  const float* x = data.x.data();
  EXPECT_EQ(error_of([&] { tsne_embed(x, 50, 4, {.perplexity = 30}); }),
            "t-SNE perplexity 30 needs more than 90 points (3 x perplexity neighbours), got 50");
  EXPECT_EQ(error_of([&] { tsne_embed(x, 50, 4, {.perplexity = 0}); }),
            "t-SNE perplexity must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { tsne_embed(x, 1, 4, {}); }), "t-SNE needs at least 2 points, got 1");
  EXPECT_EQ(error_of([&] { tsne_embed(x, 0, 4, {}); }), "t-SNE needs at least 2 points, got 0");
  EXPECT_EQ(error_of([&] { tsne_embed(x, 50, 4, {.out_dims = 3, .perplexity = 5}); }),
            "t-SNE supports out_dims 2 only, got 3");
  EXPECT_EQ(error_of([&] { tsne_embed(x, 50, 4, {.perplexity = 5, .iterations = 0}); }),
            "t-SNE needs iterations >= 1 and early_iterations >= 0, got 0 and 250");
  std::vector<float> bad = data.x;
  bad[3 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_of([&] { tsne_embed(bad.data(), 50, 4, {.perplexity = 5}); }),
            "t-SNE input holds NaN or infinite values (row 3)");
}

TEST(TsneTest, FftRepulsionMatchesExactSum) {
  // A layout as t-SNE makes them: clusters spread over ~80 units.
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0, 1);
  const int64_t n = 3000;
  std::vector<float> y(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) {
    const int cluster = static_cast<int>(i % 6);
    y[static_cast<size_t>(2 * i)] = 25.0f * std::cos(cluster) + 4 * normal(rng);
    y[static_cast<size_t>(2 * i + 1)] = 25.0f * std::sin(cluster) + 4 * normal(rng);
  }
  std::vector<float> fft(y.size()), exact(y.size());
  const double z_fft = tsne_repulsion_fft(y.data(), n, fft.data(), 2);
  const double z_exact = tsne_repulsion_exact(y.data(), n, exact.data());
  // FIt-SNE's default accuracy (3 nodes per box, box width <= 1): about 1e-3 in Z and 1e-2
  // in the forces, like Barnes-Hut at theta 0.5. (Halving the box width gave < 1e-3 and
  // < 1e-2 here: the error is the interpolation's, not the FFT's.)
  EXPECT_NEAR(z_fft / z_exact, 1.0, 3e-3);
  double error = 0, norm = 0;
  for (size_t e = 0; e < y.size(); ++e) {
    error += std::pow(fft[e] - exact[e], 2);
    norm += std::pow(exact[e], 2);
  }
  EXPECT_LT(std::sqrt(error / norm), 2.5e-2);
}

TEST(TsneTest, AutoLearningRate) {
  EXPECT_DOUBLE_EQ(tsne_learning_rate({}, 120'000), 2500);  // n / 12 / 4
  EXPECT_DOUBLE_EQ(tsne_learning_rate({}, 1000), 50);
  EXPECT_DOUBLE_EQ(tsne_learning_rate({.learning_rate = 200}, 1000), 200);
}

// ---------------------------------------------------------------------------------------
// UMAP

TEST(UmapTest, CurveFitMatchesUmapLearn) {
  // umap.umap_.find_ab_params(spread, min_dist) of umap-learn 0.5.3 (scipy curve_fit).
  struct Case {
    double spread, min_dist, a, b;
  };
  for (const Case& c : {Case{1.0, 0.1, 1.5769434601962196, 0.8950608779914887},
                        Case{1.0, 0.5, 0.583030020479462, 1.3341669929263487},
                        Case{2.0, 0.0, 0.646046672809973, 0.7904944901548902},
                        Case{1.0, 0.001, 1.9290733952004866, 0.7915045329560677}}) {
    const UmapCurve curve = fit_umap_curve(c.spread, c.min_dist);
    EXPECT_NEAR(curve.a, c.a, 1e-4 * c.a) << "spread " << c.spread << " min_dist " << c.min_dist;
    EXPECT_NEAR(curve.b, c.b, 1e-4 * c.b) << "spread " << c.spread << " min_dist " << c.min_dist;
  }
}

TEST(UmapTest, SeparatesGaussianClusters) {
  const Clusters data = gaussian_clusters(5, 200, 50, 8);
  const std::vector<float> layout = umap_embed(data.x.data(), data.n, data.dims, {});
  ASSERT_EQ(layout.size(), static_cast<size_t>(data.n * 2));
  EXPECT_GE(knn_label_agreement(layout, 2, data.labels), 0.95);
}

TEST(UmapTest, ThreeDimensionsSeparateToo) {
  const Clusters data = gaussian_clusters(5, 100, 50, 9);
  const std::vector<float> layout = umap_embed(data.x.data(), data.n, data.dims, {.out_dims = 3, .epochs = 200});
  ASSERT_EQ(layout.size(), static_cast<size_t>(data.n * 3));
  EXPECT_GE(knn_label_agreement(layout, 3, data.labels), 0.95);
}

TEST(UmapTest, DeterministicForSeedAndThreadCount) {
  const Clusters data = gaussian_clusters(5, 100, 30, 10);
  const std::vector<float> first = umap_embed(data.x.data(), data.n, data.dims, {.epochs = 100, .threads = 2});
  const std::vector<float> second = umap_embed(data.x.data(), data.n, data.dims, {.epochs = 100, .threads = 2});
  const std::vector<float> single = umap_embed(data.x.data(), data.n, data.dims, {.epochs = 100, .threads = 1});
  const std::vector<float> other_seed = umap_embed(data.x.data(), data.n, data.dims, {.epochs = 100, .seed = 43});
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, single);
  EXPECT_NE(first, other_seed);  // the seed drives the negative samples
}

TEST(UmapTest, ProgressIsReportedAndCancelStops) {
  const Clusters data = gaussian_clusters(3, 100, 10, 11);
  std::vector<int> seen;
  umap_embed(data.x.data(), data.n, data.dims, {.epochs = 50, .callback_every = 20}, [&](int epoch, const float*) {
    seen.push_back(epoch);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<int>{20, 40, 50}));  // and the last epoch
  seen.clear();
  std::vector<float> at_cancel;
  const std::vector<float> layout = umap_embed(data.x.data(), data.n, data.dims, {.epochs = 100, .callback_every = 10},
                                               [&](int epoch, const float* coords) {
                                                 seen.push_back(epoch);
                                                 at_cancel.assign(coords, coords + 2 * data.n);
                                                 return epoch < 30;
                                               });
  EXPECT_EQ(seen, (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(layout, at_cancel);
}

TEST(UmapTest, BadInputsGiveClearErrors) {
  const Clusters data = gaussian_clusters(2, 5, 4, 12);  // 10 points
  const float* x = data.x.data();
  EXPECT_EQ(error_of([&] { umap_embed(x, 10, 4, {}); }),
            "UMAP n_neighbors 15 must be in 2..9 (below the number of points, 10)");
  EXPECT_EQ(error_of([&] { umap_embed(x, 10, 4, {.n_neighbors = 1}); }),
            "UMAP n_neighbors 1 must be in 2..9 (below the number of points, 10)");
  EXPECT_EQ(error_of([&] { umap_embed(x, 1, 4, {}); }), "UMAP needs at least 2 points, got 1");
  EXPECT_EQ(error_of([&] { umap_embed(x, 10, 4, {.n_neighbors = 5, .min_dist = 2}); }),
            "UMAP min_dist must be in 0..spread (1), got 2");
  EXPECT_EQ(error_of([&] { umap_embed(x, 10, 4, {.n_neighbors = 5, .spread = 0}); }), "UMAP spread must be > 0, got 0");
  EXPECT_EQ(error_of([&] { umap_embed(x, 10, 4, {.n_neighbors = 5, .learning_rate = 0}); }),
            "UMAP learning rate must be > 0, got 0");
  std::vector<float> bad = data.x;
  bad[0] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(error_of([&] { umap_embed(bad.data(), 10, 4, {.n_neighbors = 5}); }),
            "UMAP input holds NaN or infinite values (row 0)");
}
