// tsne_umap_bench — one t-SNE, UMAP or kNN-graph run of ours on the first --rows rows of
// a float32 .npy matrix; the driver of bench/tsne-umap-bench (which runs the peers too).
//
//   build/bench/tsne_umap_bench --data X.npy --method tsne|umap|knn-exact|knn-hnsw
//                               [--rows N] [--threads T] [--out Y.npy] [--k K] [--iterations I]
//                               [--hnsw-m M] [--hnsw-ef-construction E] [--hnsw-ef-search E]
//
// Prints one `name value` a line: time_s (the whole call, kNN graph included), for kNN
// also recall of hnsw against exact (when both are run: --method knn-both), peak_rss_mb.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "common/openmp_env.h"
#include "common/npy.h"
#include "projection/knn_graph.h"
#include "projection/tsne.h"
#include "projection/umap.h"

using namespace tagscape;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  tagscape::use_passive_openmp_wait(argv);  // as tagscape itself (common/openmp_env.h)
  std::string data, method = "tsne", out;
  int64_t rows = 0;
  int threads = 2, k = 90, iterations = 0, hnsw_m = 12, hnsw_ef_construction = 40, hnsw_ef_search = 0;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string name = argv[a], value = argv[a + 1];
    if (name == "--data") data = value;
    else if (name == "--method") method = value;
    else if (name == "--rows") rows = std::atoll(value.c_str());
    else if (name == "--threads") threads = std::atoi(value.c_str());
    else if (name == "--out") out = value;
    else if (name == "--k") k = std::atoi(value.c_str());
    else if (name == "--iterations") iterations = std::atoi(value.c_str());
    else if (name == "--hnsw-m") hnsw_m = std::atoi(value.c_str());
    else if (name == "--hnsw-ef-construction") hnsw_ef_construction = std::atoi(value.c_str());
    else if (name == "--hnsw-ef-search") hnsw_ef_search = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", name.c_str());
      return 2;
    }
  }
  try {
    NpyArray x = read_npy(data);
    if (x.shape.size() != 2) throw Error(data + ": expected a 2-D array");
    const int dims = static_cast<int>(x.shape[1]);
    const int64_t n = rows > 0 ? std::min(rows, x.shape[0]) : x.shape[0];
    x.data.resize(static_cast<size_t>(n * dims));
    std::printf("rows %lld\ndims %d\nthreads %d\n", static_cast<long long>(n), dims, threads);
    const double start = now_s();
    std::vector<float> layout;
    if (method == "tsne") {
      TsneParams params{.threads = threads};
      if (iterations > 0) params.iterations = iterations;
      int last = 0;
      layout = tsne_embed(x.data.data(), n, dims, params, [&](int iteration, const float* coords) {
        float lo = coords[0], hi = coords[0];
        for (int64_t e = 0; e < 2 * n; ++e) lo = std::min(lo, coords[e]), hi = std::max(hi, coords[e]);
        std::fprintf(stderr, "tsne iteration %d at %.2f s, extent %.1f\n", iteration, now_s() - start, hi - lo);
        last = iteration;
        return true;
      });
    } else if (method == "umap") {
      UmapParams params{.threads = threads};
      if (iterations > 0) params.epochs = iterations;
      params.callback_every = 20;
      layout = umap_embed(x.data.data(), n, dims, params, [&](int epoch, const float*) {
        std::fprintf(stderr, "umap epoch %d at %.2f s\n", epoch, now_s() - start);
        return true;
      });
    } else if (method == "knn-exact" || method == "knn-hnsw" || method == "knn-both") {
      const bool exact = method != "knn-hnsw";
      const KnnGraph graph = build_knn_graph(
          x.data.data(), n, dims, {.k = k, .method = exact ? KnnGraphMethod::exact : KnnGraphMethod::hnsw, .threads = threads});
      std::printf("%s_s %.3f\n", exact ? "knn_exact" : "knn_hnsw", now_s() - start);
      if (method == "knn-both") {
        const double t = now_s();
        const KnnGraph approx =
            build_knn_graph(x.data.data(), n, dims,
                            {.k = k, .method = KnnGraphMethod::hnsw, .threads = threads, .hnsw_m = hnsw_m,
                             .hnsw_ef_construction = hnsw_ef_construction, .hnsw_ef_search = hnsw_ef_search});
        std::printf("knn_hnsw_s %.3f\n", now_s() - t);
        int64_t hits = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int a = 0; a < k; ++a)
            for (int b = 0; b < k; ++b)
              if (approx.neighbors[static_cast<size_t>(i * k + a)] == graph.neighbors[static_cast<size_t>(i * k + b)]) {
                ++hits;
                break;
              }
        std::printf("knn_hnsw_recall %.5f\n", static_cast<double>(hits) / static_cast<double>(n * k));
      }
    } else {
      throw Error("unknown method '" + method + "'");
    }
    std::printf("time_s %.3f\n", now_s() - start);
    std::printf("peak_rss_mb %.1f\n", peak_rss_mb());
    if (!out.empty() && !layout.empty())
      write_npy(out, {n, static_cast<int64_t>(layout.size() / static_cast<size_t>(n))}, layout.data());
  } catch (const Error& error) {
    std::fprintf(stderr, "tsne_umap_bench: %s\n", error.what());
    return 1;
  }
  return 0;
}
