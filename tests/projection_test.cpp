// Tests of projection/: selection from a real SQLite store, original axes, PCA and
// STD-PCA against numpy, trustworthiness/continuity against sklearn, the hnswlib kNN
// index against brute force (and persisted in the store), the layout cache, and
// `tagscape project` through the real binary. Expected values in tests/data/projection/
// were made once by numpy/sklearn (make_projection_data.py there), not by this code.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/npy.h"
#include "projection/cache.h"
#include "projection/knn_index.h"
#include "projection/original.h"
#include "projection/pca.h"
#include "projection/quality.h"
#include "projection/select.h"
#include "store/projection_cache.h"
#include "store/store.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(TAGSCAPE_SOURCE_DIR) / "tests/data/projection";

struct TempDir {
  fs::path path;
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path = fs::temp_directory_path() /
           ("tagscape_projection_" + std::string(test->name()) + "_" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Runs a shell command, returns exit status and stdout+stderr.
std::pair<int, std::string> run_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Commits a track with `segments` rows of `values` ([segments, dims]) in `space_id`.
int64_t add_track(Store& store, const std::string& path, int64_t space_id, const std::vector<float>& values, int dims) {
  TrackAnalysis analysis;
  analysis.file = {path, 1000, 1, "0123456789abcdef"};
  analysis.duration_s = 3.0 * static_cast<double>(values.size() / dims);
  for (size_t s = 0; s < values.size() / static_cast<size_t>(dims); ++s)
    analysis.segments.push_back({3.0 * s, 3.0 * (s + 1)});
  analysis.vectors.push_back({space_id, values});
  return commit_track(store, analysis);
}

// n_clusters well-separated Gaussian clusters, `per` points each, in `dims` dims.
PointSet clusters(int n_clusters, int per, int dims, uint64_t seed, float spread = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  PointSet points;
  points.dims = dims;
  for (int c = 0; c < n_clusters; ++c) {
    std::vector<float> centre(static_cast<size_t>(dims));
    for (float& v : centre) v = 10.0f * normal(rng);
    for (int p = 0; p < per; ++p) {
      for (int d = 0; d < dims; ++d) points.values.push_back(centre[static_cast<size_t>(d)] + spread * normal(rng));
      points.track_ids.push_back(points.n + 1);
      points.segment_index.push_back(0);
      ++points.n;
    }
  }
  return points;
}

PointSet point_set_from_npy(const NpyArray& array) {
  PointSet points;
  points.n = array.shape.at(0);
  points.dims = static_cast<int>(array.shape.at(1));
  points.values = array.data;
  for (int64_t i = 0; i < points.n; ++i) {
    points.track_ids.push_back(i + 1);
    points.segment_index.push_back(0);
  }
  return points;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

// A store with space "emb" (4 dims, named) and three tracks.
struct SmallCollection {
  TempDir dir;
  Store store;
  int64_t space_id;
  std::vector<int64_t> tracks;
  SmallCollection() {
    store = open_store((dir.path / "c.tagscape").string());
    space_id = upsert_space(store, {.name = "emb", .kind = SpaceKind::embeddings, .dims = 4,
                                    .dim_names = {"rock", "Pop", "jazz", "techno"}});
    tracks.push_back(add_track(store, "/m/a.mp3", space_id, {1, 2, 0.5f, 0, 3, 6, 0.5f, 0}, 4));
    tracks.push_back(add_track(store, "/m/b.mp3", space_id, {0, 0, 0, 1}, 4));
    tracks.push_back(add_track(store, "/m/c.mp3", space_id, {2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6}, 4));
  }
};

}  // namespace

// ---- selection -----------------------------------------------------------------------

TEST(ProjectionSelect, SegmentsInTrackAndTimeOrder) {
  SmallCollection c;
  const PointSet points = select_points(c.store, {.space = "emb"});
  ASSERT_EQ(points.n, 6);
  EXPECT_EQ(points.dims, 4);
  EXPECT_EQ(points.track_ids, (std::vector<int64_t>{c.tracks[0], c.tracks[0], c.tracks[1], c.tracks[2], c.tracks[2], c.tracks[2]}));
  EXPECT_EQ(points.segment_index, (std::vector<int32_t>{0, 1, 0, 0, 1, 2}));
  EXPECT_EQ(points.values[4], 3.0f);   // track a, segment 1, dim 0
  EXPECT_EQ(points.values[20], 6.0f);  // track c, segment 2, dim 0
  EXPECT_TRUE(points.std.empty());
}

TEST(ProjectionSelect, AveragesAreMeanAndStd) {
  SmallCollection c;
  const PointSet points = select_points(c.store, {.space = "emb", .granularity = Granularity::averages});
  ASSERT_EQ(points.n, 3);
  EXPECT_EQ(points.segment_index, (std::vector<int32_t>{-1, -1, -1}));
  // Track a: segments (1,2,.5,0) and (3,6,.5,0): mean (2,4,.5,0), std per dim (1,2,0,0).
  EXPECT_EQ(std::vector<float>(points.values.begin(), points.values.begin() + 4), (std::vector<float>{2, 4, 0.5f, 0}));
  EXPECT_FLOAT_EQ(points.std[0], 0.75f);  // (1 + 2 + 0 + 0) / 4
  EXPECT_FLOAT_EQ(points.std[1], 0.0f);   // one segment
  // Track c: 2,4,6 in every dim: mean 4, population std sqrt(8/3).
  EXPECT_FLOAT_EQ(points.values[8], 4.0f);
  EXPECT_FLOAT_EQ(points.std[2], std::sqrt(8.0f / 3.0f));
}

TEST(ProjectionSelect, SeededSampleOfTracks) {
  TempDir dir;
  Store store = open_store((dir.path / "c.tagscape").string());
  const int64_t space = upsert_space(store, {.name = "s", .kind = SpaceKind::imported, .dims = 2});
  for (int t = 0; t < 40; ++t) add_track(store, "/m/" + std::to_string(t), space, {float(t), 1, float(t), 2}, 2);
  const PointSet a = select_points(store, {.space = "s", .track_count = 10, .seed = 5});
  const PointSet b = select_points(store, {.space = "s", .track_count = 10, .seed = 5});
  const PointSet other = select_points(store, {.space = "s", .track_count = 10, .seed = 6});
  EXPECT_EQ(a.n, 20);  // 10 tracks x 2 segments
  EXPECT_EQ(a.track_ids, b.track_ids);
  EXPECT_EQ(a.values, b.values);
  EXPECT_NE(a.track_ids, other.track_ids);
  EXPECT_TRUE(std::is_sorted(a.track_ids.begin(), a.track_ids.end()));
  EXPECT_EQ(select_points(store, {.space = "s", .track_count = 1000}).n, 80);  // more than exist: all
  // A bulk-read sample (>= 1/4 of the tracks) and a per-track one agree on the values.
  const PointSet large = select_points(store, {.space = "s", .track_count = 30, .seed = 2});
  EXPECT_EQ(large.n, 60);
  for (int64_t i = 0; i < large.n; ++i)
    EXPECT_EQ(large.values[static_cast<size_t>(i * 2)], float(large.track_ids[static_cast<size_t>(i)] - 1));
}

TEST(ProjectionSelect, Errors) {
  SmallCollection c;
  upsert_space(c.store, {.name = "empty", .kind = SpaceKind::moods, .dims = 3});
  const std::string path = c.store.path;
  EXPECT_EQ(error_of([&] { select_points(c.store, {.space = "nope"}); }), path + ": no space 'nope' (spaces: emb, empty)");
  EXPECT_EQ(error_of([&] { select_points(c.store, {.space = "empty"}); }), path + ": space 'empty' has no analysed tracks");
  EXPECT_EQ(error_of([&] { select_points(c.store, {.space = "emb", .track_count = 0}); }),
            "--tracks must be a positive number or 'all', got 0");
  EXPECT_EQ(error_of([&] { parse_granularity("tracks"); }), "unknown granularity 'tracks' (segments|averages)");
  // A removed track leaves the selection.
  const std::vector<std::string> removed = {"/m/b.mp3"};
  mark_tracks_removed(c.store, removed);
  EXPECT_EQ(select_points(c.store, {.space = "emb"}).n, 5);
}

// ---- original axes -------------------------------------------------------------------

TEST(ProjectionOriginal, AxesByNameOrIndex) {
  SmallCollection c;
  const Space space = *find_space(c.store, "emb");
  EXPECT_EQ(resolve_dim(space, "jazz"), 2);
  EXPECT_EQ(resolve_dim(space, "pop"), 1);  // case-insensitive after exact
  EXPECT_EQ(resolve_dim(space, "3"), 3);
  EXPECT_EQ(error_of([&] { resolve_dim(space, "metal"); }),
            "space 'emb' has no dimension 'metal' (names: rock, Pop, jazz, techno; or an index 0..3)");
  EXPECT_EQ(error_of([&] { resolve_dim(space, "4"); }),
            "space 'emb' has no dimension '4' (names: rock, Pop, jazz, techno; or an index 0..3)");
  const PointSet points = select_points(c.store, {.space = "emb"});
  const Layout layout = run_original(points, {.dim_x = resolve_dim(space, "techno"), .dim_y = resolve_dim(space, "rock")});
  ASSERT_EQ(layout.n, 6);
  EXPECT_EQ(layout.out_dims, 2);
  EXPECT_EQ(std::vector<float>(layout.coords.begin(), layout.coords.begin() + 6), (std::vector<float>{0, 1, 0, 3, 1, 0}));
}

TEST(ProjectionOriginal, LogScale) {
  SmallCollection c;
  const PointSet points = select_points(c.store, {.space = "emb"});
  const Layout layout = run_original(points, {.dim_x = 1, .dim_y = 3, .log_scale = true});
  EXPECT_FLOAT_EQ(layout.coords[0], std::log10(2.0f));
  EXPECT_FLOAT_EQ(layout.coords[1], -6.0f);  // 0 sits at the floor 1e-6
  PointSet negative = points;
  negative.values[1] = -0.5f;
  EXPECT_EQ(error_of([&] { run_original(negative, {.dim_x = 1, .dim_y = 3, .log_scale = true}); }),
            "log scale needs values >= 0, but dimension 1 has -0.500000 (point 0)");
  EXPECT_EQ(error_of([&] { run_original(points, {.dim_x = 0, .dim_y = 4}); }),
            "dimension 4 is out of range (the space has 4 dims)");
}

// ---- PCA -------------------------------------------------------------------------------

namespace {

void expect_near_relative(const std::vector<float>& got, const std::vector<float>& expected, double tolerance,
                          const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  double scale = 0;
  for (float v : expected) scale = std::max(scale, std::fabs(double{v}));
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], expected[i], tolerance * scale) << what << " element " << i;
}

}  // namespace

TEST(PcaNumpy, MatchesNumpyEigenOfCovariance) {
  const PointSet points = point_set_from_npy(read_npy((kData / "x.npy").string()));
  const Layout layout = run_pca(points, {.out_dims = 3});
  EXPECT_EQ(layout.out_dims, 3);
  expect_near_relative(layout.coords, read_npy((kData / "pca_coords.npy").string()).data, 1e-5, "coords");
  expect_near_relative(layout.explained_variance, read_npy((kData / "pca_variance.npy").string()).data, 1e-5, "variance");
  expect_near_relative(layout.explained_variance_ratio, read_npy((kData / "pca_ratio.npy").string()).data, 1e-5, "ratio");
}

TEST(PcaNumpy, StdPcaMatchesNumpyOnZScores) {
  const PointSet points = point_set_from_npy(read_npy((kData / "x.npy").string()));
  const Layout layout = run_pca(points, {.out_dims = 3, .standardize = true});
  expect_near_relative(layout.coords, read_npy((kData / "std_pca_coords.npy").string()).data, 1e-5, "coords");
  expect_near_relative(layout.explained_variance, read_npy((kData / "std_pca_variance.npy").string()).data, 1e-5,
                       "variance");
}

TEST(PcaNumpy, LargeOffsetStaysAccurate) {
  // 100k rows around 1000 with unit spread: float accumulation without centring would
  // lose the variance; the block-wise centred ssyrk must recover var 1, 4 exactly-ish.
  PointSet points;
  points.dims = 2;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  for (int i = 0; i < 100000; ++i) {
    points.values.push_back(static_cast<float>(1000 + normal(rng)));
    points.values.push_back(static_cast<float>(-500 + 2 * normal(rng)));
    points.track_ids.push_back(i + 1);
    points.segment_index.push_back(0);
    ++points.n;
  }
  const PcaModel model = fit_pca(points, {.out_dims = 2});
  EXPECT_NEAR(model.explained_variance[0], 4.0, 0.05);
  EXPECT_NEAR(model.explained_variance[1], 1.0, 0.02);
  EXPECT_NEAR(std::fabs(model.components[1]), 1.0, 1e-3);  // first component along dim 1
  EXPECT_GT(model.components[1], 0);                        // sign rule: largest loading positive
}

TEST(PcaErrors, BadInput) {
  PointSet one = clusters(1, 1, 3, 1);
  EXPECT_EQ(error_of([&] { run_pca(one, {}); }), "PCA needs at least 2 points, got 1");
  PointSet few = clusters(1, 5, 3, 1);
  EXPECT_EQ(error_of([&] { run_pca(few, {.out_dims = 4}); }), "PCA out_dims must be in 1..3, got 4");
  few.values[2] = std::nanf("");
  EXPECT_EQ(error_of([&] { run_pca(few, {}); }), "PCA input holds NaN or infinite values");
}

// ---- quality -----------------------------------------------------------------------------

TEST(QualitySklearn, TrustworthinessAndContinuityMatchSklearn) {
  const NpyArray x = read_npy((kData / "x.npy").string());
  const NpyArray low = read_npy((kData / "low.npy").string());
  const int64_t n = x.shape[0];
  std::ifstream expected_file(kData / "trustworthiness.txt");
  std::string line;
  int checked = 0;
  while (std::getline(expected_file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int k;
    double trust, continuity;
    fields >> k >> trust >> continuity;
    EXPECT_NEAR(trustworthiness(x.data, 12, low.data, 2, n, k), trust, 1e-6) << "k " << k;
    EXPECT_NEAR(trustworthiness(low.data, 2, x.data, 12, n, k), continuity, 1e-6) << "k " << k;
    // layout_quality with the sample covering everything is the same measure.
    PointSet points = point_set_from_npy(x);
    Layout layout{.n = n, .out_dims = 2, .coords = low.data};
    const Quality q = layout_quality(points, layout, {.k = k, .sample = 0});
    EXPECT_NEAR(q.trustworthiness, trust, 1e-6);
    EXPECT_NEAR(q.continuity, continuity, 1e-6);
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(QualitySklearn, SampledAndErrors) {
  const PointSet points = clusters(4, 500, 10, 9);
  const Layout layout = run_pca(points, {.out_dims = 2});
  const Quality q = layout_quality(points, layout, {.k = 10, .sample = 300, .seed = 1});
  EXPECT_EQ(q.points, 300);
  EXPECT_GT(q.trustworthiness, 0.8);
  EXPECT_LE(q.trustworthiness, 1.0);
  const Quality same = layout_quality(points, layout, {.k = 10, .sample = 300, .seed = 1});
  EXPECT_EQ(q.trustworthiness, same.trustworthiness);
  const std::vector<float> a(12 * 3, 0.0f), b(12 * 2, 0.0f);
  EXPECT_EQ(error_of([&] { trustworthiness(a, 3, b, 2, 12, 6); }), "trustworthiness needs 1 <= k < n/2: k 6, n 12");
  EXPECT_EQ(error_of([&] { trustworthiness(a, 3, b, 2, 12, 0); }), "trustworthiness needs 1 <= k < n/2: k 0, n 12");
}

// ---- kNN -------------------------------------------------------------------------------

namespace {

// Exact k nearest rows of row i (self excluded), by the metric, in double.
std::vector<int64_t> brute_force(const PointSet& points, int64_t i, int k, Metric metric) {
  std::vector<std::pair<double, int64_t>> all;
  const float* a = &points.values[static_cast<size_t>(i * points.dims)];
  for (int64_t j = 0; j < points.n; ++j) {
    if (j == i) continue;
    const float* b = &points.values[static_cast<size_t>(j * points.dims)];
    double dot = 0, na = 0, nb = 0, l2 = 0;
    for (int d = 0; d < points.dims; ++d) {
      dot += double{a[d]} * b[d];
      na += double{a[d]} * a[d];
      nb += double{b[d]} * b[d];
      l2 += (double{a[d]} - b[d]) * (double{a[d]} - b[d]);
    }
    all.push_back({metric == Metric::cosine ? 1 - dot / std::sqrt(na * nb) : l2, j});
  }
  std::partial_sort(all.begin(), all.begin() + k, all.end());
  std::vector<int64_t> rows;
  for (int m = 0; m < k; ++m) rows.push_back(all[static_cast<size_t>(m)].second);
  return rows;
}

double recall(const KnnIndex& index, const PointSet& points, int k, Metric metric) {
  int64_t hits = 0, total = 0;
  for (int64_t i = 0; i < points.n; i += 7) {
    const std::vector<int64_t> truth = brute_force(points, i, k, metric);
    const std::set<int64_t> truth_set(truth.begin(), truth.end());
    for (const Neighbor& nb : knn_of_row(index, i, k)) hits += truth_set.count(nb.row);
    total += k;
  }
  return static_cast<double>(hits) / static_cast<double>(total);
}

}  // namespace

TEST(KnnIndex, RecallAgainstBruteForce) {
  // Overlapping clusters (spread 6 vs centres ~10) so neighbours are not trivially separable.
  const PointSet points = clusters(10, 300, 32, 11, 6.0f);
  for (Metric metric : {Metric::euclidean, Metric::cosine}) {
    const KnnIndex index = build_knn_index(points, {.metric = metric});
    const double r = recall(index, points, 10, metric);
    EXPECT_GE(r, 0.99) << metric_name(metric);
  }
}

TEST(KnnIndex, DistancesAndSelfExclusion) {
  const PointSet points = clusters(3, 50, 8, 2);
  const KnnIndex index = build_knn_index(points, {.metric = Metric::euclidean});
  const std::vector<Neighbor> near = knn_of_row(index, 5, 4);
  ASSERT_EQ(near.size(), 4u);
  for (size_t m = 0; m < near.size(); ++m) {
    EXPECT_NE(near[m].row, 5);
    if (m > 0) EXPECT_LE(near[m - 1].distance, near[m].distance);
    double l2 = 0;
    for (int d = 0; d < 8; ++d) {
      const double diff = points.values[static_cast<size_t>(5 * 8 + d)] - points.values[static_cast<size_t>(near[m].row * 8 + d)];
      l2 += diff * diff;
    }
    EXPECT_NEAR(near[m].distance, std::sqrt(l2), 1e-4);
  }
  const std::vector<float> query(points.values.begin() + 5 * 8, points.values.begin() + 6 * 8);
  EXPECT_EQ(knn_search(index, query, 1)[0].row, 5);  // a point is its own nearest
  EXPECT_EQ(knn_search(index, query, 1)[0].distance, 0.0f);
  EXPECT_EQ(error_of([&] { knn_search(index, query, 151); }), "k 151 is larger than the 150 indexed points");
  EXPECT_EQ(error_of([&] { knn_of_row(index, 0, 150); }), "k 150 must be in 1..149 (the other indexed points)");
  EXPECT_EQ(error_of([&] { knn_search(index, std::vector<float>(3), 2); }), "kNN query has 3 values, the index 8");
  EXPECT_EQ(error_of([&] { parse_metric("manhattan"); }), "unknown metric 'manhattan' (euclidean|cosine)");
}

TEST(KnnIndex, PersistedInStoreAndRebuiltWhenSpaceChanges) {
  TempDir dir;
  const std::string path = (dir.path / "c.tagscape").string();
  const PointSet source = clusters(5, 120, 16, 4, 3.0f);
  {
    Store store = open_store(path);
    const int64_t space = upsert_space(store, {.name = "e", .kind = SpaceKind::embeddings, .dims = 16});
    for (int64_t t = 0; t < source.n / 4; ++t)  // 4 segments per track
      add_track(store, "/m/" + std::to_string(t), space,
                std::vector<float>(source.values.begin() + t * 64, source.values.begin() + (t + 1) * 64), 16);
  }
  std::vector<Neighbor> first_result;
  int64_t some_track = 0;
  {
    Store store = open_store(path, OpenMode::existing);
    bool rebuilt = false;
    const KnnIndex index = open_knn_index(store, "e", Granularity::segments, {.metric = Metric::cosine}, &rebuilt);
    EXPECT_TRUE(rebuilt);
    EXPECT_EQ(index.n, source.n);
    some_track = index.track_ids[37];
    first_result = knn_of_row(index, find_row(index, some_track, index.segment_index[37]), 8);
  }
  {
    Store store = open_store(path, OpenMode::existing);
    bool rebuilt = true;
    const KnnIndex index = open_knn_index(store, "e", Granularity::segments, {.metric = Metric::cosine}, &rebuilt);
    EXPECT_FALSE(rebuilt);  // reloaded from the store
    const std::vector<Neighbor> again = knn_of_row(index, 37, 8);
    ASSERT_EQ(again.size(), first_result.size());
    for (size_t m = 0; m < again.size(); ++m) {
      EXPECT_EQ(again[m].row, first_result[m].row);
      EXPECT_EQ(again[m].distance, first_result[m].distance);
    }
    EXPECT_EQ(find_row(index, some_track, 99), -1);
    // Averages and euclidean are separate indexes.
    const KnnIndex averages = open_knn_index(store, "e", Granularity::averages, {}, &rebuilt);
    EXPECT_TRUE(rebuilt);
    EXPECT_EQ(averages.n, source.n / 4);
    // A new track changes the space: the next open rebuilds with it.
    add_track(store, "/m/new", find_space(store, "e")->id, std::vector<float>(64, 1.0f), 16);
    const KnnIndex fresh = open_knn_index(store, "e", Granularity::segments, {.metric = Metric::cosine}, &rebuilt);
    EXPECT_TRUE(rebuilt);
    EXPECT_EQ(fresh.n, source.n + 4);
  }
  {
    // A damaged graph fails its checksum and is rebuilt rather than fed to hnswlib.
    Store store = open_store(path, OpenMode::existing);
    const std::string damage = "UPDATE knn_index_chunks SET data = zeroblob(length(data)) WHERE metric = 'cosine'";
    char* message = nullptr;
    ASSERT_EQ(sqlite3_exec(store.db.get(), damage.c_str(), nullptr, nullptr, &message), SQLITE_OK);
    const int64_t space = find_space(store, "e")->id;
    EXPECT_EQ(error_of([&] { load_knn_index(store, space, "segments", "cosine"); }),
              path + ": database is corrupt (knn index graph checksum mismatch)");
    bool rebuilt = false;
    const KnnIndex index = open_knn_index(store, "e", Granularity::segments, {.metric = Metric::cosine}, &rebuilt);
    EXPECT_TRUE(rebuilt);
    EXPECT_EQ(knn_of_row(index, 0, 3).size(), 3u);
  }
}

// ---- cache --------------------------------------------------------------------------------

TEST(ProjectionCache, HitUntilTheSpaceChanges) {
  SmallCollection c;
  const Selection selection{.space = "emb"};
  const PointSet points = select_points(c.store, selection);
  const Layout layout = run_pca(points, {.out_dims = 2});
  const std::string key = projection_key(selection, "pca", "out_dims=2", 0);
  EXPECT_EQ(key, "space=emb;tracks=all;granularity=segments|method=pca|params=out_dims=2|seed=0");
  EXPECT_FALSE(find_cached_layout(c.store, selection, key));
  put_cached_layout(c.store, selection, key, points, layout, 0.25);
  std::optional<CachedLayout> hit = find_cached_layout(c.store, selection, key);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->layout.coords, layout.coords);
  EXPECT_EQ(hit->layout.explained_variance, layout.explained_variance);
  EXPECT_EQ(hit->track_ids, points.track_ids);
  EXPECT_EQ(hit->segment_index, points.segment_index);
  EXPECT_EQ(hit->compute_s, 0.25);
  // Another space's change leaves it valid; re-analysing a track of this space does not.
  const int64_t other = upsert_space(c.store, {.name = "other", .kind = SpaceKind::moods, .dims = 1});
  add_track(c.store, "/m/other.mp3", other, {1.0f}, 1);
  EXPECT_TRUE(find_cached_layout(c.store, selection, key));
  add_track(c.store, "/m/b.mp3", c.space_id, {9, 9, 9, 9}, 4);
  EXPECT_FALSE(find_cached_layout(c.store, selection, key));
  // A status change (removed) also invalidates.
  put_cached_layout(c.store, selection, key, points, layout, 0.25);
  ASSERT_TRUE(find_cached_layout(c.store, selection, key));
  const std::vector<std::string> removed = {"/m/a.mp3"};
  mark_tracks_removed(c.store, removed);
  EXPECT_FALSE(find_cached_layout(c.store, selection, key));
}

// ---- CLI ----------------------------------------------------------------------------------

TEST(ProjectionCli, ProjectWritesNpyAndPrintsQuality) {
  TempDir dir;
  const std::string db = (dir.path / "c.tagscape").string();
  {
    Store store = open_store(db);
    const int64_t space = upsert_space(store, {.name = "e", .kind = SpaceKind::taggrams, .dims = 6,
                                               .dim_names = {"rock", "pop", "jazz", "a", "b", "c"}});
    const PointSet source = clusters(3, 60, 6, 8);
    for (int64_t t = 0; t < source.n / 3; ++t)
      add_track(store, "/m/" + std::to_string(t), space,
                std::vector<float>(source.values.begin() + t * 18, source.values.begin() + (t + 1) * 18), 6);
  }
  const std::string base = std::string(TAGSCAPE_BINARY) + " project --db '" + db + "' --space e ";
  const std::string out = (dir.path / "pca.npy").string();
  auto [status, text] = run_command(base + "--method pca --out '" + out + "'");
  ASSERT_EQ(status, 0) << text;
  EXPECT_NE(text.find("points 180 (segments of 60 tracks) x 6 dims"), std::string::npos) << text;
  EXPECT_NE(text.find("trustworthiness@10 "), std::string::npos) << text;
  EXPECT_NE(text.find("explained variance ratio"), std::string::npos) << text;
  const NpyArray coords = read_npy(out);
  EXPECT_EQ(coords.shape, (std::vector<int64_t>{180, 2}));
  // The same request again comes from the cache, with the same numbers.
  auto [status2, text2] = run_command(base + "--method pca --out '" + out + ".2.npy'");
  EXPECT_EQ(status2, 0);
  EXPECT_NE(text2.find("pca: cached"), std::string::npos) << text2;
  EXPECT_EQ(read_npy(out + ".2.npy").data, coords.data);
  // Averages as csv with the std column.
  const std::string csv = (dir.path / "avg.csv").string();
  auto [status3, text3] = run_command(base + "--method original --dims jazz,rock --granularity averages --tracks 10 --out '" + csv + "'");
  ASSERT_EQ(status3, 0) << text3;
  std::ifstream csv_in(csv);
  std::string header;
  std::getline(csv_in, header);
  EXPECT_EQ(header, "track_id,segment_index,c0,c1,std");
  int rows = 0;
  for (std::string line; std::getline(csv_in, line);) ++rows;
  EXPECT_EQ(rows, 10);
  // Errors: exit 1 with the cause.
  auto [bad_dim, bad_dim_text] = run_command(base + "--method original --dims metal,rock");
  EXPECT_EQ(bad_dim, 1);
  EXPECT_NE(bad_dim_text.find("space 'e' has no dimension 'metal' (names: rock, pop, jazz, a, b, c; or an index 0..5)"),
            std::string::npos) << bad_dim_text;
  auto [bad_space, bad_space_text] = run_command(base.substr(0, base.size() - 11) + " --space x --method pca");
  EXPECT_EQ(bad_space, 1);
  EXPECT_NE(bad_space_text.find("no space 'x' (spaces: e)"), std::string::npos) << bad_space_text;
  auto [bad_method, bad_method_text] = run_command(base + "--method mds");
  EXPECT_EQ(bad_method, 2);
}
