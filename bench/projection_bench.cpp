// projection_bench — projection engine figures on synthetic clustered 200-d data, with
// the Python peer users would otherwise pick (Debian python3-sklearn) in the same run.
//
//   build/bench/projection_bench [--pca-rows N] [--knn-rows N] [--queries Q] [--metric M] [--no-peer]
//
// Prints one `name value` a line: cores, PCA 1M x 200 (ours vs sklearn PCA), trustworthiness
// @10 on 5,000 points (ours vs sklearn.manifold.trustworthiness), kNN build/persist/reload
// time and query latency percentiles on --knn-rows points, peak RSS.
// Data: 50 Gaussian clusters (centres N(0, 3^2), spread 1) in 200 dims, float32, fixed seed.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "common/npy.h"
#include "common/openmp_env.h"
#include "projection/knn_index.h"
#include "projection/pca.h"
#include "projection/quality.h"
#include "store/projection_cache.h"
#include "store/store.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

PointSet clustered(int64_t n, int dims, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int clusters = 50;
  std::vector<float> centres(static_cast<size_t>(clusters) * dims);
  for (float& c : centres) c = 3.0f * normal(rng);
  PointSet points;
  points.n = n;
  points.dims = dims;
  points.values.resize(static_cast<size_t>(n * dims));
  for (int64_t i = 0; i < n; ++i) {
    const float* centre = &centres[static_cast<size_t>((i % clusters) * dims)];
    for (int d = 0; d < dims; ++d) points.values[static_cast<size_t>(i * dims + d)] = centre[d] + normal(rng);
    points.track_ids.push_back(i / 50 + 1);
    points.segment_index.push_back(static_cast<int32_t>(i % 50));
  }
  return points;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Runs a python snippet, returns its stdout (the peer prints its own figures).
std::string python(const std::string& code) {
  const std::string command = "OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 -c '" + code + "'";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

double field(const std::string& text, const std::string& name) {
  const size_t at = text.find(name + " ");
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + name.size() + 1);
}

}  // namespace

int main(int argc, char** argv) {
  tagscape::use_passive_openmp_wait(argv);  // as tagscape itself (common/openmp_env.h)
  int64_t pca_rows = 1000000, knn_rows = 100000, queries = 2000;
  bool peer = true;
  std::vector<Metric> metrics = {Metric::euclidean, Metric::cosine};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--pca-rows" && i + 1 < argc) pca_rows = std::atoll(argv[++i]);
    else if (arg == "--knn-rows" && i + 1 < argc) knn_rows = std::atoll(argv[++i]);
    else if (arg == "--queries" && i + 1 < argc) queries = std::atoll(argv[++i]);
    else if (arg == "--no-peer") peer = false;
    else if (arg == "--metric" && i + 1 < argc) metrics = {parse_metric(argv[++i])};
    else {
      std::fprintf(stderr, "usage: projection_bench [--pca-rows N] [--knn-rows N] [--queries Q] [--metric M] [--no-peer]\n");
      return 2;
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("tagscape_projection_bench_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::printf("cores %u\n", std::thread::hardware_concurrency());
  const int dims = 200;

  // ---- PCA ----
  if (pca_rows > 0) {
    PointSet points = clustered(pca_rows, dims, 1);
    double start = now_s();
    const Layout pca = run_pca(points, {.out_dims = 2});
    const double ours = now_s() - start;
    start = now_s();
    const Layout std_pca = run_pca(points, {.out_dims = 2, .standardize = true});
    const double ours_std = now_s() - start;
    std::printf("pca_rows %lld\npca_dims %d\npca_s %.3f\nstd_pca_s %.3f\npca_ratio0 %.5f\n", static_cast<long long>(pca_rows),
                dims, ours, ours_std, pca.explained_variance_ratio[0]);
    std::printf("peak_rss_after_pca_mb %.0f\n", peak_rss_mb());
    if (peer) {
      const std::string path = (dir / "pca.npy").string();
      write_npy(path, {points.n, dims}, points.values.data());
      const std::string out = python(
          "import time, numpy as np\n"
          "from sklearn.decomposition import PCA\n"
          "x = np.load(\"" + path + "\")\n"
          "t = time.perf_counter(); p = PCA(n_components=2).fit(x); y = p.transform(x); t = time.perf_counter() - t\n"
          "print(\"sklearn_pca_s\", t); print(\"sklearn_pca_solver\", p._fit_svd_solver); print(\"sklearn_pca_ratio0\", p.explained_variance_ratio_[0])\n"
          "t = time.perf_counter(); p = PCA(n_components=2, svd_solver=\"full\").fit(x); y = p.transform(x); t = time.perf_counter() - t\n"
          "print(\"sklearn_pca_full_s\", t); print(\"sklearn_pca_full_ratio0\", p.explained_variance_ratio_[0])\n");
      std::printf("%s", out.c_str());
      const double theirs = field(out, "sklearn_pca_s");
      if (theirs > 0) std::printf("pca_speedup_vs_sklearn %.1f\n", theirs / ours);
      const double theirs_full = field(out, "sklearn_pca_full_s");
      if (theirs_full > 0) std::printf("pca_speedup_vs_sklearn_full %.1f\n", theirs_full / ours);
      fs::remove(path);
    }
  }

  // ---- trustworthiness on 5,000 points of a PCA layout ----
  {
    PointSet points = clustered(5000, dims, 2);
    const Layout layout = run_pca(points, {.out_dims = 2});
    double start = now_s();
    const double trust = trustworthiness(points.values, dims, layout.coords, 2, points.n, 10);
    const double ours = now_s() - start;
    std::printf("trust_points 5000\ntrust_at_10 %.9f\ntrust_s %.3f\n", trust, ours);
    if (peer) {
      const std::string x = (dir / "tx.npy").string(), y = (dir / "ty.npy").string();
      write_npy(x, {points.n, dims}, points.values.data());
      write_npy(y, {points.n, 2}, layout.coords.data());
      const std::string out = python(
          "import time, numpy as np\n"
          "from sklearn.manifold import trustworthiness\n"
          "x = np.load(\"" + x + "\"); y = np.load(\"" + y + "\")\n"
          "t = time.perf_counter(); v = trustworthiness(x, y, n_neighbors=10); t = time.perf_counter() - t\n"
          "print(\"sklearn_trust_at_10\", repr(v)); print(\"sklearn_trust_s\", t)\n");
      std::printf("%s", out.c_str());
      const double theirs = field(out, "sklearn_trust_s");
      if (theirs > 0) std::printf("trust_speedup_vs_sklearn %.1f\ntrust_abs_diff %.2e\n", theirs / ours,
                                  std::fabs(trust - field(out, "sklearn_trust_at_10")));
    }
  }

  // ---- kNN ----
  if (knn_rows > 0) {
    PointSet points = clustered(knn_rows, dims, 3);
    for (Metric metric : metrics) {
      const std::string m = metric_name(metric);
      double start = now_s();
      const KnnIndex index = build_knn_index(points, {.metric = metric});
      std::printf("knn_%s_rows %lld\nknn_%s_build_s %.2f\n", m.c_str(), static_cast<long long>(knn_rows), m.c_str(),
                  now_s() - start);
      // Queries: rows' own vectors plus noise (a "point like this one"), k = 10.
      std::mt19937_64 rng(4);
      std::normal_distribution<float> noise(0.0f, 0.3f);
      std::vector<double> latencies;
      std::vector<float> query(static_cast<size_t>(dims));
      for (int64_t q = 0; q < queries; ++q) {
        const int64_t row = static_cast<int64_t>(rng() % static_cast<uint64_t>(knn_rows));
        for (int d = 0; d < dims; ++d) query[static_cast<size_t>(d)] = points.values[static_cast<size_t>(row * dims + d)] + noise(rng);
        start = now_s();
        const std::vector<Neighbor> found = knn_search(index, query, 10);
        latencies.push_back(now_s() - start);
      }
      std::sort(latencies.begin(), latencies.end());
      auto pct = [&](double p) { return 1e3 * latencies[static_cast<size_t>(p * (latencies.size() - 1))]; };
      std::printf("knn_%s_query_p50_ms %.3f\nknn_%s_query_p99_ms %.3f\n", m.c_str(), pct(0.5), m.c_str(), pct(0.99));
      if (metric == Metric::cosine) {
        // Persist and reload through a real store file.
        Store store = open_store((dir / "knn.tagscape").string());
        const int64_t space = upsert_space(store, {.name = "e", .kind = SpaceKind::embeddings, .dims = dims});
        start = now_s();
        std::vector<char> bytes = knn_graph_bytes(index);
        save_knn_index(store, {.space_id = space, .granularity = "segments", .metric = m, .generation = 0, .params = "",
                               .n = index.n, .dims = dims, .track_ids = index.track_ids,
                               .segment_index = index.segment_index, .graph = std::move(bytes)});
        std::printf("knn_save_s %.2f\n", now_s() - start);
        start = now_s();
        std::optional<StoredKnnIndex> stored = load_knn_index(store, space, "segments", m);
        KnnIndex loaded;
        loaded.metric = metric;
        loaded.dims = dims;
        loaded.n = stored->n;
        load_knn_graph(loaded, stored->graph, {.metric = metric}, store.path);
        std::printf("knn_reload_s %.2f\nknn_stored_mb %.0f\n", now_s() - start, stored->graph.size() / 1e6);
      }
    }
  }
  std::printf("peak_rss_mb %.0f\n", peak_rss_mb());
  fs::remove_all(dir);
  return 0;
}
