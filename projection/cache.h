// projection/cache.h — computed layouts kept in the store, so re-opening a view is a read.
//
//   std::string key = projection_key(selection, "pca", "out_dims=2", 0);
//   if (auto hit = find_cached_layout(store, selection, key)) use(hit->layout);
//   else { ...compute...; put_cached_layout(store, selection, key, points, layout, seconds); }
//
// Key: (space, selection, granularity, method, params, seed) as canonical text, e.g.
//   "space=moods;tracks=all;granularity=segments|method=tsne|params=perplexity=30 ...|seed=1".
// Invalidation: an entry records the space's generation (store/projection_cache.h), which
// store triggers bump on every change of the space's vectors or of a track's status; an
// entry of an older generation is a miss and is deleted on lookup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "projection/points.h"
#include "projection/select.h"
#include "store/store.h"

namespace tagscape {

// `params` must be canonical (the same parameters always give the same text; list them in
// a fixed order with all defaults filled in).
std::string projection_key(const Selection& selection, const std::string& method, const std::string& params,
                           uint64_t seed);

struct CachedLayout {
  Layout layout;
  std::vector<int64_t> track_ids;      // [n] row -> track, as the PointSet it came from
  std::vector<int32_t> segment_index;  // [n] row -> segment, -1 for averages
  double compute_s = 0;                // wall seconds the original computation took
};

// The cached layout for `key` if it is current for the selection's space; nullopt if
// absent, stale, or the space does not exist.
std::optional<CachedLayout> find_cached_layout(Store& store, const Selection& selection, const std::string& key);

// Stores `layout` (rows as in `points`) under `key` at the space's current generation.
// Precondition: layout.n == points.n. Throws Error if the space does not exist.
void put_cached_layout(Store& store, const Selection& selection, const std::string& key, const PointSet& points,
                       const Layout& layout, double compute_s);

}  // namespace tagscape
