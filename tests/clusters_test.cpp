// Tests of projection/clusters.h: clusters of a 2-D layout and their tag labels.
#include "projection/clusters.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

using namespace tagscape;

namespace {

// Four Gaussian blobs (std 1) at the corners of a 40-unit square, 500 points each, plus
// 100 points of uniform background noise; blob b's points have tag b high (0.8 +- 0.1),
// the others low (0.1 +- 0.05); tag 4 is noise everywhere.
struct Blobs {
  std::vector<float> xy;      // [n, 2]
  std::vector<int> blob;      // [n], -1 for noise
  std::vector<float> tags;    // [n, 5]
  int64_t n = 0;
};

Blobs make_blobs() {
  const float centres[4][2] = {{0, 0}, {40, 0}, {0, 40}, {40, 40}};
  std::mt19937 random(3);
  std::normal_distribution<float> unit(0, 1);
  std::uniform_real_distribution<float> uniform(-10, 50);
  Blobs b;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 500; ++i) {
      b.xy.insert(b.xy.end(), {centres[k][0] + unit(random), centres[k][1] + unit(random)});
      b.blob.push_back(k);
    }
  for (int i = 0; i < 100; ++i) {
    b.xy.insert(b.xy.end(), {uniform(random), uniform(random)});
    b.blob.push_back(-1);
  }
  b.n = static_cast<int64_t>(b.blob.size());
  for (int64_t i = 0; i < b.n; ++i)
    for (int d = 0; d < 5; ++d)
      b.tags.push_back(d < 4 && d == b.blob[static_cast<size_t>(i)] ? 0.8f + 0.1f * unit(random)
                                                                     : 0.1f + 0.05f * unit(random));
  return b;
}

}  // namespace

TEST(LayoutClusters, FindsEachBlobAndNotTheNoise) {
  const Blobs b = make_blobs();
  const std::vector<LayoutCluster> clusters = find_layout_clusters(b.xy.data(), b.n, {});
  ASSERT_EQ(clusters.size(), 4u);
  std::set<int> blobs_found;
  for (const LayoutCluster& c : clusters) {
    std::map<int, int64_t> by_blob;
    for (int64_t i : c.members) ++by_blob[b.blob[static_cast<size_t>(i)]];
    const auto majority = std::max_element(by_blob.begin(), by_blob.end(),
                                           [](auto& x, auto& y) { return x.second < y.second; });
    ASSERT_GE(majority->first, 0) << "a cluster of noise";
    EXPECT_GE(static_cast<double>(majority->second) / static_cast<double>(c.count), 0.95);
    EXPECT_GE(majority->second, 450) << "most of the blob's 500 points";
    blobs_found.insert(majority->first);
    const float cx = majority->first % 2 ? 40.0f : 0.0f, cy = majority->first >= 2 ? 40.0f : 0.0f;
    EXPECT_NEAR(c.x, cx, 1.5);
    EXPECT_NEAR(c.y, cy, 1.5);
  }
  EXPECT_EQ(blobs_found.size(), 4u);
  for (size_t c = 1; c < clusters.size(); ++c) EXPECT_GE(clusters[c - 1].count, clusters[c].count);
}

TEST(LayoutClusters, LabelsAreTheTagsHighestInsideRelativeToAll) {
  const Blobs b = make_blobs();
  std::vector<LayoutCluster> clusters = find_layout_clusters(b.xy.data(), b.n, {});
  label_clusters(clusters, b.tags.data(), b.n, 5, 2);
  // z of dim d in cluster c, computed here from the definition.
  auto z = [&](const LayoutCluster& c, int d) {
    double all = 0, inside = 0, sq = 0;
    for (int64_t i = 0; i < b.n; ++i) all += b.tags[static_cast<size_t>(i * 5 + d)];
    all /= static_cast<double>(b.n);
    for (int64_t i = 0; i < b.n; ++i) sq += std::pow(b.tags[static_cast<size_t>(i * 5 + d)] - all, 2);
    for (int64_t i : c.members) inside += b.tags[static_cast<size_t>(i * 5 + d)];
    return (inside / static_cast<double>(c.count) - all) / std::sqrt(sq / static_cast<double>(b.n));
  };
  for (const LayoutCluster& c : clusters) {
    ASSERT_EQ(c.tags.size(), 2u);
    const int blob = b.blob[static_cast<size_t>(c.members[c.members.size() / 2])];
    EXPECT_EQ(c.tags[0].dim, blob);
    EXPECT_NEAR(c.tags[0].z, z(c, blob), 1e-9);
    EXPECT_GT(c.tags[0].z, 1.0);
    EXPECT_GE(c.tags[0].z, c.tags[1].z);
  }
}

TEST(LayoutClusters, UniformNoiseAndTinyInputsGiveNoCrash) {
  EXPECT_TRUE(find_layout_clusters(nullptr, 0, {}).empty());
  const float one[2] = {1, 2};
  const auto single = find_layout_clusters(one, 1, {});
  ASSERT_LE(single.size(), 1u);
  std::vector<float> same(200, 5.0f);  // 100 points on one spot
  const auto stacked = find_layout_clusters(same.data(), 100, {});
  ASSERT_EQ(stacked.size(), 1u);
  EXPECT_EQ(stacked[0].count, 100);
}
