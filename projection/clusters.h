// projection/clusters.h — the visible clusters of a 2-D layout, and the tags that tell
// them apart: the labels the explorer draws over a t-SNE/UMAP plot (issue "explain the
// axes": a layout's regions have no axis meaning, so each region is named by its tags).
//
//   std::vector<LayoutCluster> clusters = find_layout_clusters(xy, n, {});
//   label_clusters(clusters, tag_values, n, tag_dims, 3);   // clusters[c].tags: top 3 dims
//
// Method (O(n + grid^2), deterministic): a grid of grid_cells x grid_cells over the
// layout's 1st..99th percentile box (outliers clipped to the border cells) counts points
// per cell; each non-empty cell's count is summed with its 8 neighbours' (smoothing: a
// t-SNE island's density varies from cell to cell); cells whose smoothed count is at
// least `density_factor` x the mean over non-empty cells (and always the densest) are
// "dense"; 8-connected groups of dense cells are clusters; a sparse cell next to dense
// ones joins its most populated dense neighbour's cluster (a blob's thinning edge); a
// point belongs to the cluster of its cell, points elsewhere to none. Clusters with
// fewer than min_share x n points are dropped; at most max_clusters of the largest are kept.
// Labels: per cluster, the dims whose mean inside the cluster is highest relative to the
// whole set, as z = (mean_in - mean_all) / std_all (std over all labelled points).
#pragma once

#include <cstdint>
#include <vector>

namespace tagscape {

struct ClusterParams {
  int grid_cells = 40;          // per axis; >= 4
  double density_factor = 1.0;  // dense cell: smoothed count >= density_factor x mean of the non-empty cells
  double min_share = 0.02;      // smallest cluster, as a share of all points
  int max_clusters = 12;        // largest clusters kept
};

struct ClusterTag {
  int dim = 0;       // index into the tag space's dims
  double mean = 0;   // mean value inside the cluster
  double z = 0;      // (mean - mean over all points) / std over all points
};

struct LayoutCluster {
  float x = 0, y = 0;               // centre: mean position of its points, layout units
  int64_t count = 0;                // points
  std::vector<int64_t> members;     // point indices, ascending
  std::vector<ClusterTag> tags;     // label_clusters: top dims, highest z first
};

// xy: [n, 2] interleaved. Largest cluster first. Precondition: n >= 0, params valid.
std::vector<LayoutCluster> find_layout_clusters(const float* xy, int64_t n, const ClusterParams& params);

// Fills each cluster's `tags` with its `top` dims by z. values: [n, dims] row-major, the
// rows in the same order as the layout's points; rows with NaN (no tag vector for that
// point) are skipped. Precondition: top >= 1, dims >= 1.
void label_clusters(std::vector<LayoutCluster>& clusters, const float* values, int64_t n, int dims, int top);

}  // namespace tagscape
