// `tagscape project`: a 2-D/3-D layout of a space of the collection, with its timing and
// how faithful it is (trustworthiness and continuity at k on a sample).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "cli/commands.h"
#include "common/error.h"
#include "common/npy.h"
#include "projection/cache.h"
#include "projection/original.h"
#include "projection/pca.h"
#include "projection/quality.h"
#include "projection/select.h"
#include "projection/tsne.h"
#include "projection/umap.h"
#include "store/store.h"

namespace tagscape::cli {

namespace {

struct ProjectOptions {
  std::string db_path = "collection.tagscape";
  std::string space;
  std::string method;
  std::string tracks = "all";
  uint64_t seed = 0;
  std::string granularity = "segments";
  std::string dims = "0,1";   // original: x,y by name or index
  bool log_scale = false;     // original
  int out_dims = 2;           // pca, std-pca, umap: 2 or 3; tsne: 2
  TsneParams tsne;            // tsne: perplexity, learning_rate, early_exaggeration, iterations
  UmapParams umap;            // umap: n_neighbors, min_dist, spread, epochs
  int quality_k = 10;
  int64_t quality_sample = 5000;
  bool no_quality = false;
  bool no_cache = false;
  std::string out;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t parse_track_count(const std::string& text) {
  if (text == "all") return -1;
  try {
    size_t used = 0;
    const long long count = std::stoll(text, &used);
    if (used == text.size() && count > 0) return count;
  } catch (const std::exception&) {
  }
  throw Error("--tracks must be a positive number or 'all', got '" + text + "'");
}

// Canonical parameter text of a method (part of the cache key).
std::string method_params(ProjectOptions& options, const Space& space, OriginalParams& original) {
  if (options.method == "original") {
    const size_t comma = options.dims.find(',');
    if (comma == std::string::npos) throw Error("--dims needs two dimensions X,Y, got '" + options.dims + "'");
    original.dim_x = resolve_dim(space, options.dims.substr(0, comma));
    original.dim_y = resolve_dim(space, options.dims.substr(comma + 1));
    original.log_scale = options.log_scale;
    return "x=" + std::to_string(original.dim_x) + " y=" + std::to_string(original.dim_y) +
           " log=" + (options.log_scale ? "1" : "0");
  }
  if (options.method == "pca" || options.method == "std-pca") return "out_dims=" + std::to_string(options.out_dims);
  options.tsne.seed = options.umap.seed = options.seed;
  if (options.method == "tsne") {
    if (options.out_dims != 2) throw Error("--out-dims: t-SNE lays out in 2 dimensions only, got " + std::to_string(options.out_dims));
    return tsne_params_key(options.tsne);
  }
  options.umap.out_dims = options.out_dims;
  return umap_params_key(options.umap);
}

// Progress of the iterative methods on stderr: a rewritten line on a terminal, else quiet.
ProjectionProgress progress_printer(const char* what, int total) {
  if (!isatty(STDERR_FILENO)) return {};
  const auto start = std::chrono::steady_clock::now();
  return [what, total, start](int step, const float*) {
    std::fprintf(stderr, "\r%s %d/%d  %.1f s", what, step, total, seconds_since(start));
    if (step >= total) std::fprintf(stderr, "\n");
    return true;
  };
}

Layout compute(const ProjectOptions& options, const PointSet& points, const OriginalParams& original) {
  if (options.method == "original") return run_original(points, original);
  if (options.method == "tsne")
    return run_tsne(points, options.tsne, progress_printer("t-SNE iteration", options.tsne.iterations));
  if (options.method == "umap")
    return run_umap(points, options.umap, progress_printer("UMAP epoch", umap_epochs(options.umap, points.n)));
  return run_pca(points, {.out_dims = options.out_dims, .standardize = options.method == "std-pca"});
}

void write_csv(const std::string& path, const PointSet& points, const Layout& layout) {
  const std::string temp = path + ".part";
  {
    std::ofstream out(temp);
    out << "track_id,segment_index";
    for (int c = 0; c < layout.out_dims; ++c) out << ",c" << c;
    if (!points.std.empty()) out << ",std";
    out << "\n";
    char number[32];
    for (int64_t i = 0; i < layout.n; ++i) {
      out << points.track_ids[static_cast<size_t>(i)] << ',' << points.segment_index[static_cast<size_t>(i)];
      for (int c = 0; c < layout.out_dims; ++c) {
        std::snprintf(number, sizeof number, "%.9g", layout.coords[static_cast<size_t>(i * layout.out_dims + c)]);
        out << ',' << number;
      }
      if (!points.std.empty()) {
        std::snprintf(number, sizeof number, "%.9g", points.std[static_cast<size_t>(i)]);
        out << ',' << number;
      }
      out << '\n';
    }
    if (!out.flush()) throw Error(temp + ": cannot write (disk full?)");
  }
  std::filesystem::rename(temp, path);
}

int run_project(ProjectOptions& options) {
  if (!std::filesystem::exists(options.db_path))
    throw Error(options.db_path + ": no such collection file (create one with `tagscape analyze MUSIC_DIR`)");
  if (!options.out.empty() && !options.out.ends_with(".npy") && !options.out.ends_with(".csv"))
    throw Error(options.out + ": --out must end in .npy or .csv");
  Store store = open_store(options.db_path, OpenMode::existing);
  const Selection selection{.space = options.space,
                            .track_count = parse_track_count(options.tracks),
                            .seed = options.seed,
                            .granularity = parse_granularity(options.granularity)};
  const std::optional<Space> space = find_space(store, options.space);
  if (!space) {
    std::string names;
    for (const Space& s : list_spaces(store)) names += (names.empty() ? "" : ", ") + s.name;
    throw Error(options.db_path + ": no space '" + options.space + "' (spaces: " + (names.empty() ? "none" : names) + ")");
  }
  OriginalParams original;
  const std::string params = method_params(options, *space, original);

  auto start = std::chrono::steady_clock::now();
  const PointSet points = select_points(store, selection);
  std::printf("points %lld (%s of %lld tracks) x %d dims, read in %.3f s\n", static_cast<long long>(points.n),
              granularity_name(selection.granularity),
              static_cast<long long>(selection.granularity == Granularity::averages ? points.n
                                     : points.n == 0 ? 0
                                                     : std::count_if(points.segment_index.begin(), points.segment_index.end(),
                                                                     [](int32_t s) { return s == 0; })),
              points.dims, seconds_since(start));

  const std::string key = projection_key(selection, options.method, params, options.seed);
  std::optional<CachedLayout> cached = options.no_cache ? std::nullopt : find_cached_layout(store, selection, key);
  Layout layout;
  if (cached && cached->track_ids == points.track_ids) {
    layout = std::move(cached->layout);
    std::printf("%s: cached (computed in %.3f s)\n", options.method.c_str(), cached->compute_s);
  } else {
    start = std::chrono::steady_clock::now();
    layout = compute(options, points, original);
    const double elapsed = seconds_since(start);
    std::printf("%s: %.3f s\n", options.method.c_str(), elapsed);
    if (!options.no_cache) put_cached_layout(store, selection, key, points, layout, elapsed);
  }
  if (!layout.explained_variance_ratio.empty()) {
    std::printf("explained variance ratio");
    for (float ratio : layout.explained_variance_ratio) std::printf(" %.4f", ratio);
    std::printf("\n");
  }
  if (!options.no_quality) {
    if (2 * int64_t{options.quality_k} >= std::min(points.n, options.quality_sample > 0 ? options.quality_sample : points.n)) {
      std::printf("quality: skipped (k %d needs more than %d points)\n", options.quality_k, 2 * options.quality_k);
    } else {
      start = std::chrono::steady_clock::now();
      const Quality quality =
          layout_quality(points, layout, {.k = options.quality_k, .sample = options.quality_sample, .seed = options.seed});
      std::printf("trustworthiness@%d %.4f  continuity@%d %.4f  (on %lld points, %.3f s)\n", quality.k,
                  quality.trustworthiness, quality.k, quality.continuity, static_cast<long long>(quality.points),
                  seconds_since(start));
    }
  }
  if (!options.out.empty()) {
    if (options.out.ends_with(".npy"))
      write_npy(options.out, {layout.n, layout.out_dims}, layout.coords.data());
    else
      write_csv(options.out, points, layout);
    std::printf("wrote %s\n", options.out.c_str());
  }
  return 0;
}

}  // namespace

Command add_project_command(CLI::App& app) {
  auto options = std::make_shared<ProjectOptions>();
  CLI::App* command = app.add_subcommand("project", "Project a space of the collection to 2-D/3-D (original axes, PCA, ...).");
  command->add_option("--db", options->db_path, "Collection file.")->capture_default_str();
  command->add_option("--space", options->space, "Space, e.g. msd-musicnn-1/embeddings (`tagscape info` lists them).")
      ->required();
  command->add_option("--method", options->method, "original | pca | std-pca | tsne | umap.")
      ->required()
      ->check(CLI::IsMember({"original", "pca", "std-pca", "tsne", "umap"}));
  command->add_option("--tracks", options->tracks, "Number of tracks (a seeded sample) or 'all'.")->capture_default_str();
  command->add_option("--seed", options->seed, "Seed of the track sample, the method and the quality sample.")
      ->capture_default_str();
  command->add_option("--granularity", options->granularity, "segments (a point per segment) or averages (per track).")
      ->check(CLI::IsMember({"segments", "averages"}))
      ->capture_default_str();
  command->add_option("--dims", options->dims, "original: the two axes X,Y by name (tag) or 0-based index.")
      ->capture_default_str();
  command->add_flag("--log", options->log_scale, "original: log10 axes (values below 1e-6 at -6).");
  command->add_option("--out-dims", options->out_dims, "pca/std-pca/umap: output dimensions (2 or 3; t-SNE: 2).")
      ->check(CLI::Range(2, 3))
      ->capture_default_str();
  command->add_option("--perplexity", options->tsne.perplexity, "tsne: effective neighbours (needs more than 3x as many points).")
      ->capture_default_str();
  command->add_option("--learning-rate", options->tsne.learning_rate, "tsne: step size; 0 = auto (n/12 in openTSNE's units).")
      ->capture_default_str();
  command->add_option("--early-exaggeration", options->tsne.early_exaggeration, "tsne: P multiplier of the first iterations.")
      ->capture_default_str();
  command->add_option("--iterations", options->tsne.iterations, "tsne: total iterations (early ones included).")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  command->add_option("--n-neighbors", options->umap.n_neighbors, "umap: neighbourhood size (self included).")
      ->capture_default_str();
  command->add_option("--min-dist", options->umap.min_dist, "umap: how tightly points may pack (layout units).")
      ->capture_default_str();
  command->add_option("--spread", options->umap.spread, "umap: scale of the embedded points.")->capture_default_str();
  command->add_option("--epochs", options->umap.epochs, "umap: SGD epochs; 0 = auto (500 up to 10,000 points, else 200).")
      ->capture_default_str();
  command->add_option("--quality-k", options->quality_k, "k of trustworthiness/continuity.")->capture_default_str();
  command->add_option("--quality-sample", options->quality_sample, "Points the quality is measured on (0 = all).")
      ->capture_default_str();
  command->add_flag("--no-quality", options->no_quality, "Skip the quality measures.");
  command->add_flag("--no-cache", options->no_cache, "Compute even if the store holds this layout; do not store it.");
  command->add_option("--out", options->out, "Write the coordinates: FILE.npy (float32 [n, out_dims]) or FILE.csv.");
  return [options] { return run_project(*options); };
}

}  // namespace tagscape::cli
