#include "projection/original.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace tagscape {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string dim_hint(const Space& space) {
  std::string hint;
  const size_t shown = std::min<size_t>(space.dim_names.size(), 12);
  for (size_t i = 0; i < shown; ++i) hint += (i ? ", " : "") + space.dim_names[i];
  if (shown < space.dim_names.size()) hint += ", ...";
  return (hint.empty() ? "unnamed" : "names: " + hint) + "; or an index 0.." + std::to_string(space.dims - 1);
}

}  // namespace

int resolve_dim(const Space& space, const std::string& name_or_index) {
  for (size_t i = 0; i < space.dim_names.size(); ++i)
    if (space.dim_names[i] == name_or_index) return static_cast<int>(i);
  for (size_t i = 0; i < space.dim_names.size(); ++i)
    if (lower(space.dim_names[i]) == lower(name_or_index)) return static_cast<int>(i);
  if (!name_or_index.empty() && name_or_index.size() < 10 &&
      std::all_of(name_or_index.begin(), name_or_index.end(), [](unsigned char c) { return std::isdigit(c); })) {
    const int index = std::stoi(name_or_index);
    if (index < space.dims) return index;
  }
  throw Error("space '" + space.name + "' has no dimension '" + name_or_index + "' (" + dim_hint(space) + ")");
}

Layout run_original(const PointSet& points, const OriginalParams& params) {
  for (int dim : {params.dim_x, params.dim_y})
    if (dim < 0 || dim >= points.dims)
      throw Error("dimension " + std::to_string(dim) + " is out of range (the space has " + std::to_string(points.dims) +
                  " dims)");
  Layout layout;
  layout.n = points.n;
  layout.out_dims = 2;
  layout.coords.resize(static_cast<size_t>(points.n * 2));
  for (int64_t i = 0; i < points.n; ++i)
    for (int axis = 0; axis < 2; ++axis) {
      const int dim = axis == 0 ? params.dim_x : params.dim_y;
      float value = points.values[static_cast<size_t>(i * points.dims + dim)];
      if (params.log_scale) {
        if (!(value >= 0))
          throw Error("log scale needs values >= 0, but dimension " + std::to_string(dim) + " has " +
                      std::to_string(value) + " (point " + std::to_string(i) + ")");
        value = std::log10(std::max(value, kLogFloor));
      }
      layout.coords[static_cast<size_t>(i * 2 + axis)] = value;
    }
  return layout;
}

}  // namespace tagscape
