#include "projection/cache.h"

#include <cassert>

#include "common/error.h"
#include "store/projection_cache.h"

namespace tagscape {

std::string projection_key(const Selection& selection, const std::string& method, const std::string& params,
                           uint64_t seed) {
  return selection_key(selection) + "|method=" + method + "|params=" + params + "|seed=" + std::to_string(seed);
}

std::optional<CachedLayout> find_cached_layout(Store& store, const Selection& selection, const std::string& key) {
  const std::optional<Space> space = find_space(store, selection.space);
  if (!space) return std::nullopt;
  std::optional<CachedProjection> entry = find_cached_projection(store, key, space_generation(store, space->id));
  if (!entry) return std::nullopt;
  CachedLayout cached;
  cached.layout.n = entry->n;
  cached.layout.out_dims = entry->out_dims;
  cached.layout.coords = std::move(entry->coords);
  cached.layout.explained_variance = std::move(entry->explained_variance);
  cached.layout.explained_variance_ratio = std::move(entry->explained_variance_ratio);
  cached.track_ids = std::move(entry->track_ids);
  cached.segment_index = std::move(entry->segment_index);
  cached.compute_s = entry->compute_s;
  return cached;
}

void put_cached_layout(Store& store, const Selection& selection, const std::string& key, const PointSet& points,
                       const Layout& layout, double compute_s) {
  assert(layout.n == points.n);
  const std::optional<Space> space = find_space(store, selection.space);
  if (!space) throw Error(store.path + ": no space '" + selection.space + "'");
  put_cached_projection(store, {.key = key,
                                .space_id = space->id,
                                .generation = space_generation(store, space->id),
                                .n = layout.n,
                                .out_dims = layout.out_dims,
                                .coords = layout.coords,
                                .explained_variance = layout.explained_variance,
                                .explained_variance_ratio = layout.explained_variance_ratio,
                                .track_ids = points.track_ids,
                                .segment_index = points.segment_index,
                                .compute_s = compute_s});
}

}  // namespace tagscape
