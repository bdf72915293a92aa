// projection/select.h — which points a projection runs on: a space, a set of tracks, and
// a granularity, read from the store into a PointSet (projection/points.h).
//
//   Selection selection{.space = "msd-musicnn-1/embeddings", .track_count = 1000, .seed = 7,
//                       .granularity = Granularity::averages};
//   PointSet points = select_points(store, selection);
//
// Tracks: the 'ok' tracks with vectors in the space (those read_space returns). With
// track_count = -1 all of them; with N > 0 a uniform sample of N of them drawn with the
// seed (all if there are fewer), the same N for the same seed and collection. Rows are in
// track id order, and within a track in segment (time) order, so a trajectory is the run
// of rows with one track id.
#pragma once

#include <cstdint>
#include <string>

#include "projection/points.h"
#include "store/store.h"

namespace tagscape {

enum class Granularity {
  segments,  // one point per segment
  averages,  // one point per track: the mean of its segments, and their std for dot size
};

const char* granularity_name(Granularity granularity);  // "segments" | "averages"
// Parses "segments"/"averages"; throws Error "unknown granularity 'x' (segments|averages)".
Granularity parse_granularity(const std::string& text);

struct Selection {
  std::string space;                               // spaces.name
  int64_t track_count = -1;                        // -1: all tracks; else > 0
  uint64_t seed = 0;                               // picks the sample when track_count > 0
  Granularity granularity = Granularity::segments;
};

// Canonical text of a selection, e.g. "space=moods;tracks=all;granularity=segments"
// (the seed appears only when it matters: "tracks=1000;seed=7"). Part of cache keys.
std::string selection_key(const Selection& selection);

// Reads the selected points. Throws Error naming the file when the space does not exist
// ("collection.tagscape: no space 'x' (spaces: a, b)") or the selection is empty
// ("collection.tagscape: space 'x' has no analysed tracks"); track_count must be -1 or > 0
// (Error otherwise).
PointSet select_points(Store& store, const Selection& selection);

// Track ids of a seeded uniform sample of `count` of `ids` (all if count < 0 or
// count >= ids.size()), ascending. Deterministic: Fisher-Yates with SplitMix64.
std::vector<int64_t> sample_track_ids(std::vector<int64_t> ids, int64_t count, uint64_t seed);

// Collapses segment rows into one row per track: mean over its segments, and `std` =
// population std (ddof 0) of each dim, averaged over dims. Accumulates in double.
PointSet average_by_track(const PointSet& segments);

}  // namespace tagscape
