// projection/original.h — the "original axes" layout: two of the space's own dimensions
// as x and y (e.g. the taggram values of 'rock' and 'electronic').
//
//   int x = resolve_dim(space, "rock"), y = resolve_dim(space, "7");  // by name or index
//   Layout layout = run_original(points, {.dim_x = x, .dim_y = y, .log_scale = true});
#pragma once

#include <string>

#include "projection/points.h"
#include "store/store.h"

namespace tagscape {

// A dimension given by the user: a tag/dim name from space.dim_names (exact match first,
// then case-insensitive), or a 0-based index "0".."dims-1". Throws Error
// "space 'x' has no dimension 'foo' (names: rock, pop, ... ; or an index 0..49)".
int resolve_dim(const Space& space, const std::string& name_or_index);

struct OriginalParams {
  int dim_x = 0;           // 0 <= dim_x < dims
  int dim_y = 1;           // 0 <= dim_y < dims
  bool log_scale = false;  // coordinates log10(max(v, kLogFloor)); values < 0 are an Error
};

// Taggrams are sigmoid outputs in (0, 1) that may round to exactly 0 in float; the floor
// keeps those on the plot (at -6) instead of at -inf.
constexpr float kLogFloor = 1e-6f;

// coords[i] = (v[i][dim_x], v[i][dim_y]) (log10 when log_scale). Throws Error if a dim is
// out of range or, with log_scale, a value is negative (naming the dim and the value).
Layout run_original(const PointSet& points, const OriginalParams& params);

}  // namespace tagscape
