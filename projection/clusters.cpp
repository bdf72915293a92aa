#include "projection/clusters.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace tagscape {

namespace {

struct Box {
  float lo = 0, hi = 1;  // one axis, layout units
};

// 1st..99th percentile of one coordinate (the box outliers are clipped into).
Box percentile_box(const float* xy, int64_t n, int axis) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = xy[2 * i + axis];
  const size_t lo = static_cast<size_t>(0.01 * static_cast<double>(n - 1));
  const size_t hi = static_cast<size_t>(0.99 * static_cast<double>(n - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const float low = v[lo];
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(hi), v.end());
  const float high = v[hi];
  return {low, high > low ? high : low + 1};
}

int cell_of(float value, const Box& box, int cells) {
  const float t = (value - box.lo) / (box.hi - box.lo);
  return std::clamp(static_cast<int>(t * static_cast<float>(cells)), 0, cells - 1);
}

// Each cell's count summed with its 8 neighbours': density varies inside a t-SNE island
// from cell to cell, and unsmoothed thresholds cut one island into several pieces.
std::vector<int64_t> smoothed_counts(const std::vector<int64_t>& counts, int cells) {
  std::vector<int64_t> out(counts.size(), 0);
  for (int y = 0; y < cells; ++y)
    for (int x = 0; x < cells; ++x) {
      if (counts[static_cast<size_t>(y * cells + x)] == 0) continue;  // empty cells stay empty (gaps separate)
      int64_t sum = 0;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int nx = x + dx, ny = y + dy;
          if (nx >= 0 && ny >= 0 && nx < cells && ny < cells) sum += counts[static_cast<size_t>(ny * cells + nx)];
        }
      out[static_cast<size_t>(y * cells + x)] = sum;
    }
  return out;
}

// 8-connected components of dense cells: component id per cell, -1 for sparse ones.
std::vector<int> dense_components(const std::vector<int64_t>& counts, int cells, double density_factor) {
  int64_t total = 0, non_empty = 0, most = 0;
  for (int64_t c : counts) total += c, non_empty += c > 0, most = std::max(most, c);
  // The densest cell is always dense (one tight clump is a cluster too).
  const double threshold =
      non_empty ? std::min(density_factor * static_cast<double>(total) / static_cast<double>(non_empty), double(most)) : 1;
  std::vector<int> component(counts.size(), -1);
  int next = 0;
  std::vector<int> stack;
  for (size_t start = 0; start < counts.size(); ++start) {
    if (component[start] >= 0 || static_cast<double>(counts[start]) < threshold) continue;
    component[start] = next;
    stack.assign(1, static_cast<int>(start));
    while (!stack.empty()) {
      const int cell = stack.back();
      stack.pop_back();
      const int cx = cell % cells, cy = cell / cells;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          const int x = cx + dx, y = cy + dy;
          if (x < 0 || y < 0 || x >= cells || y >= cells) continue;
          const size_t other = static_cast<size_t>(y * cells + x);
          if (component[other] >= 0 || static_cast<double>(counts[other]) < threshold) continue;
          component[other] = next;
          stack.push_back(static_cast<int>(other));
        }
    }
    ++next;
  }
  return component;
}

// A cluster's edge: sparse non-empty cells next to a dense one join the component of their
// most populated dense neighbour (a blob's tail thins out below the density threshold).
void add_edge_cells(std::vector<int>& component, const std::vector<int64_t>& counts, int cells) {
  const std::vector<int> dense = component;
  for (int cell = 0; cell < cells * cells; ++cell) {
    if (dense[static_cast<size_t>(cell)] >= 0 || counts[static_cast<size_t>(cell)] == 0) continue;
    const int cx = cell % cells, cy = cell / cells;
    int64_t best_count = 0;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const int x = cx + dx, y = cy + dy;
        if (x < 0 || y < 0 || x >= cells || y >= cells) continue;
        const size_t other = static_cast<size_t>(y * cells + x);
        if (dense[other] >= 0 && counts[other] > best_count) {
          best_count = counts[other];
          component[static_cast<size_t>(cell)] = dense[other];
        }
      }
  }
}

}  // namespace

std::vector<LayoutCluster> find_layout_clusters(const float* xy, int64_t n, const ClusterParams& params) {
  assert(n >= 0 && params.grid_cells >= 4 && params.max_clusters >= 0);
  if (n == 0) return {};
  const int cells = params.grid_cells;
  const Box bx = percentile_box(xy, n, 0), by = percentile_box(xy, n, 1);
  std::vector<int> point_cell(static_cast<size_t>(n));
  std::vector<int64_t> counts(static_cast<size_t>(cells * cells), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int cell = cell_of(xy[2 * i + 1], by, cells) * cells + cell_of(xy[2 * i], bx, cells);
    point_cell[static_cast<size_t>(i)] = cell;
    ++counts[static_cast<size_t>(cell)];
  }
  std::vector<int> component = dense_components(smoothed_counts(counts, cells), cells, params.density_factor);
  add_edge_cells(component, counts, cells);
  const int components = component.empty() ? 0 : 1 + *std::max_element(component.begin(), component.end());
  std::vector<LayoutCluster> clusters(static_cast<size_t>(std::max(components, 0)));
  for (int64_t i = 0; i < n; ++i) {
    const int c = component[static_cast<size_t>(point_cell[static_cast<size_t>(i)])];
    if (c >= 0) clusters[static_cast<size_t>(c)].members.push_back(i);
  }
  const auto min_count = static_cast<int64_t>(std::ceil(params.min_share * static_cast<double>(n)));
  std::erase_if(clusters, [&](const LayoutCluster& c) {
    return static_cast<int64_t>(c.members.size()) < std::max<int64_t>(min_count, 1);
  });
  for (LayoutCluster& c : clusters) {
    double sx = 0, sy = 0;
    for (int64_t i : c.members) sx += xy[2 * i], sy += xy[2 * i + 1];
    c.count = static_cast<int64_t>(c.members.size());
    c.x = static_cast<float>(sx / static_cast<double>(c.count));
    c.y = static_cast<float>(sy / static_cast<double>(c.count));
  }
  // Largest first; ties by the first member (stable, deterministic).
  std::sort(clusters.begin(), clusters.end(), [](const LayoutCluster& a, const LayoutCluster& b) {
    return a.count != b.count ? a.count > b.count : a.members.front() < b.members.front();
  });
  if (static_cast<int>(clusters.size()) > params.max_clusters) clusters.resize(static_cast<size_t>(params.max_clusters));
  return clusters;
}

void label_clusters(std::vector<LayoutCluster>& clusters, const float* values, int64_t n, int dims, int top) {
  assert(top >= 1 && dims >= 1);
  auto row_ok = [&](int64_t i) { return !std::isnan(values[i * dims]); };
  std::vector<double> mean(static_cast<size_t>(dims), 0), sq(static_cast<size_t>(dims), 0);
  int64_t labelled = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!row_ok(i)) continue;
    ++labelled;
    for (int d = 0; d < dims; ++d) mean[static_cast<size_t>(d)] += values[i * dims + d];
  }
  if (labelled == 0) return;
  for (double& m : mean) m /= static_cast<double>(labelled);
  for (int64_t i = 0; i < n; ++i) {
    if (!row_ok(i)) continue;
    for (int d = 0; d < dims; ++d) sq[static_cast<size_t>(d)] += std::pow(values[i * dims + d] - mean[static_cast<size_t>(d)], 2);
  }
  for (LayoutCluster& c : clusters) {
    std::vector<double> inside(static_cast<size_t>(dims), 0);
    int64_t count = 0;
    for (int64_t i : c.members) {
      if (!row_ok(i)) continue;
      ++count;
      for (int d = 0; d < dims; ++d) inside[static_cast<size_t>(d)] += values[i * dims + d];
    }
    c.tags.clear();
    if (count == 0) continue;
    std::vector<ClusterTag> all(static_cast<size_t>(dims));
    for (int d = 0; d < dims; ++d) {
      const double m = inside[static_cast<size_t>(d)] / static_cast<double>(count);
      const double sd = std::sqrt(sq[static_cast<size_t>(d)] / static_cast<double>(labelled));
      all[static_cast<size_t>(d)] = {d, m, sd > 0 ? (m - mean[static_cast<size_t>(d)]) / sd : 0};
    }
    const size_t keep = std::min(static_cast<size_t>(top), all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                      [](const ClusterTag& a, const ClusterTag& b) { return a.z != b.z ? a.z > b.z : a.dim < b.dim; });
    c.tags.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep));
  }
}

}  // namespace tagscape
