// server/curate.h — endpoints that turn the map into something to listen to or understand
// (issue 6). The full contract (parameters, bodies, errors) is in server/API.md; in short:
//
//   GET /api/playlist?tracks=3,7,9&format=m3u8|csv&paths=absolute|relative&counts=2,1,5
//       the tracks in the given order as an M3U8 or CSV download (the one endpoint that
//       sends file paths: a playlist is useless without them)
//   GET /api/walk?space=S&from=ID&goal=happy:1,vocals:-1&goal_space=G&steps=10&k=15&metric=cosine
//       a greedy walk over track averages: at each step the nearest of the k nearest
//       unvisited tracks whose goal score is strictly higher (JSON)
//   GET /api/scores?space=S&tracks=&seed=&granularity=&goal=...&goal_space=G
//       the goal score of every point /api/points returns for the same selection, same
//       row order (binary frame: score f32, track i32, segment i32)
//   GET /api/axes?space=S&tracks=&seed=&granularity=&method=pca|std-pca&x=0&y=1&tags=T&top=3
//       the tags most correlated (Pearson r) with PCA components x and y (JSON)
//
// Goal score of a point: sum over the goal's terms of weight x the point's value of that
// dim in the goal space (a segment's own row; for a track, the mean over its segments).
// Default goal/tag space: `moods` for the moods space, else "<model>/taggrams" of the
// space's model.
#pragma once

#include <optional>
#include <vector>

#include "projection/points.h"
#include "store/store.h"

namespace tagscape::server {

struct Server;

// The default tag space of `space` (see above), or nullopt when there is none.
std::optional<Space> default_tag_space(Store& store, const Space& space);

// The values of `tag_space` for every row of `points` (a row's own segment, or for an
// average row the mean of its track's segments): [points.n, tag_space.dims] row-major,
// NaN rows where the track has no vectors in that space.
std::vector<float> tag_values_of_points(Store& store, const Space& tag_space, const PointSet& points);

// Adds this file's routes to server.http (called by register_routes before the /api 404 catch-all).
void register_curate_routes(Server& server);

}  // namespace tagscape::server
