#include "projection/select.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "common/error.h"
#include "store/projection_cache.h"

namespace tagscape {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias (rejection), so a sample does not depend on
// the standard library's distribution implementation.
uint64_t uniform_below(uint64_t& state, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t value;
  do value = splitmix64(state);
  while (value >= limit);
  return value % bound;
}

std::string space_names(Store& store) {
  std::string names;
  for (const Space& space : list_spaces(store)) names += (names.empty() ? "" : ", ") + space.name;
  return names.empty() ? "none" : names;
}

// Appends the rows of one track (values [segments, dims]) to `points`.
void append_track(PointSet& points, int64_t track_id, const float* values, int64_t segments) {
  points.values.insert(points.values.end(), values, values + segments * points.dims);
  for (int64_t s = 0; s < segments; ++s) {
    points.track_ids.push_back(track_id);
    points.segment_index.push_back(static_cast<int32_t>(s));
  }
  points.n += segments;
}

}  // namespace

const char* granularity_name(Granularity granularity) {
  return granularity == Granularity::segments ? "segments" : "averages";
}

Granularity parse_granularity(const std::string& text) {
  if (text == "segments") return Granularity::segments;
  if (text == "averages") return Granularity::averages;
  throw Error("unknown granularity '" + text + "' (segments|averages)");
}

std::string selection_key(const Selection& selection) {
  std::string key = "space=" + selection.space + ";tracks=";
  key += selection.track_count < 0 ? "all" : std::to_string(selection.track_count) + ";seed=" + std::to_string(selection.seed);
  return key + ";granularity=" + granularity_name(selection.granularity);
}

std::vector<int64_t> sample_track_ids(std::vector<int64_t> ids, int64_t count, uint64_t seed) {
  if (count >= 0 && count < static_cast<int64_t>(ids.size())) {
    uint64_t state = seed;
    for (int64_t i = 0; i < count; ++i) {  // partial Fisher-Yates: ids[0, count) is the sample
      const int64_t j = i + static_cast<int64_t>(uniform_below(state, ids.size() - static_cast<uint64_t>(i)));
      std::swap(ids[static_cast<size_t>(i)], ids[static_cast<size_t>(j)]);
    }
    ids.resize(static_cast<size_t>(count));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

PointSet average_by_track(const PointSet& segments) {
  assert(segments.std.empty());
  PointSet averages;
  averages.dims = segments.dims;
  const int dims = segments.dims;
  std::vector<double> sum(static_cast<size_t>(dims)), sum_sq(static_cast<size_t>(dims));
  for (int64_t begin = 0; begin < segments.n;) {
    int64_t end = begin;
    while (end < segments.n && segments.track_ids[static_cast<size_t>(end)] == segments.track_ids[static_cast<size_t>(begin)]) ++end;
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(sum_sq.begin(), sum_sq.end(), 0.0);
    for (int64_t row = begin; row < end; ++row) {
      const float* v = &segments.values[static_cast<size_t>(row * dims)];
      for (int d = 0; d < dims; ++d) {
        sum[static_cast<size_t>(d)] += v[d];
        sum_sq[static_cast<size_t>(d)] += double{v[d]} * v[d];
      }
    }
    const double count = static_cast<double>(end - begin);
    double std_total = 0;
    for (int d = 0; d < dims; ++d) {
      const double mean = sum[static_cast<size_t>(d)] / count;
      averages.values.push_back(static_cast<float>(mean));
      // Two-pass would be more exact; sums in double over a track's few hundred segments
      // of values in [-100, 100] lose nothing visible at float precision.
      std_total += std::sqrt(std::max(0.0, sum_sq[static_cast<size_t>(d)] / count - mean * mean));
    }
    averages.std.push_back(static_cast<float>(std_total / dims));
    averages.track_ids.push_back(segments.track_ids[static_cast<size_t>(begin)]);
    averages.segment_index.push_back(-1);
    ++averages.n;
    begin = end;
  }
  return averages;
}

PointSet select_points(Store& store, const Selection& selection) {
  if (selection.track_count == 0 || selection.track_count < -1)
    throw Error("--tracks must be a positive number or 'all', got " + std::to_string(selection.track_count));
  const std::optional<Space> space = find_space(store, selection.space);
  if (!space) throw Error(store.path + ": no space '" + selection.space + "' (spaces: " + space_names(store) + ")");

  PointSet points;
  points.dims = space->dims;
  const std::vector<int64_t> all_ids = space_track_ids(store, space->id);
  const std::vector<int64_t> ids = sample_track_ids(all_ids, selection.track_count, selection.seed);
  if (ids.empty()) throw Error(store.path + ": space '" + selection.space + "' has no analysed tracks");

  if (ids.size() * 4 >= all_ids.size()) {
    // A large share of the collection: one bulk read (0.43 s per 1M x 200) beats a
    // point lookup per track; keep the sampled tracks only.
    SpaceMatrix matrix = read_space(store, space->id);
    if (matrix.track_ids == ids) {  // every track: take the matrix as it is (no 2nd copy)
      points.values = std::move(matrix.values);
      points.n = matrix.segment_offsets.back();
      for (size_t t = 0; t < ids.size(); ++t)
        for (int64_t s = 0; s < matrix.segment_offsets[t + 1] - matrix.segment_offsets[t]; ++s) {
          points.track_ids.push_back(ids[t]);
          points.segment_index.push_back(static_cast<int32_t>(s));
        }
      matrix.track_ids.clear();
    }
    size_t next = matrix.track_ids.empty() ? ids.size() : 0;
    for (size_t t = 0; t < matrix.track_ids.size() && next < ids.size(); ++t) {
      if (matrix.track_ids[t] != ids[next]) continue;
      const int64_t begin = matrix.segment_offsets[t], end = matrix.segment_offsets[t + 1];
      append_track(points, ids[next], &matrix.values[static_cast<size_t>(begin * points.dims)], end - begin);
      ++next;
    }
  } else {
    for (int64_t id : ids) {
      const TrackVectors vectors = read_track_vectors(store, id, space->id);
      append_track(points, id, vectors.values.data(), vectors.segments);
    }
  }
  if (points.n == 0) throw Error(store.path + ": space '" + selection.space + "' has no analysed tracks");
  return selection.granularity == Granularity::averages ? average_by_track(points) : points;
}

}  // namespace tagscape
