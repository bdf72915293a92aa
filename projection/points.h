// projection/points.h — the plain input and output of every projection method.
//
//   PointSet points = select_points(store, request);   // projection/select.h
//   Layout layout = run_pca(points, {.out_dims = 2});   // projection/pca.h
//   // or run_original / run_tsne / run_umap: all take a PointSet, all return a Layout
//
// A PointSet is a dense float32 matrix [n, dims] plus, per row, where it came from
// (track id and segment index, or -1 when the row is a track average). A Layout is the
// projected coordinates [n, out_dims] in the SAME row order as the PointSet.
#pragma once

#include <cstdint>
#include <vector>

namespace tagscape {

struct PointSet {
  int64_t n = 0;                       // rows (points); >= 0
  int dims = 0;                        // values per row; > 0 when n > 0
  std::vector<float> values;           // [n, dims] row-major; size n * dims
  std::vector<int64_t> track_ids;      // size n; the store's tracks.id of each row
  std::vector<int32_t> segment_index;  // size n; segment within its track (time order), -1 for averages
  std::vector<float> std;              // averages: size n, per-track std over its segments averaged
                                       // over dims (population std, ddof 0); segments: empty
};

struct Layout {
  int64_t n = 0;                            // rows; equals the input PointSet's n
  int out_dims = 0;                         // 2 or 3 (original: 2)
  std::vector<float> coords;                // [n, out_dims] row-major, input row order
  std::vector<float> explained_variance;    // PCA/STD-PCA: variance along each component
                                            // (size out_dims, descending, ddof 1); else empty
  std::vector<float> explained_variance_ratio;  // PCA: explained_variance / total variance; else empty
};

}  // namespace tagscape
