// store/projection_cache.h — what the projection engine keeps in the collection file:
// cached layouts, persisted kNN indexes, and the per-space generation counter that
// tells when either is stale. Schema version 2 (migration 1 -> 2 in store.cpp).
//
//   table              column                    meaning / invariant
//   -----------------  ------------------------  ----------------------------------------
//   space_generations  space_id PK               -> spaces.id
//                      generation                bumped (by triggers) on every insert/update/
//                                                delete of the space's vectors and on every
//                                                change of any track's status; a missing
//                                                row means generation 0
//   projection_cache   key PK                    canonical request text (projection/cache.h)
//                      space_id, generation      the space and its generation when computed
//                      n, out_dims               layout shape
//                      coords                    float32 [n, out_dims]
//                      explained_variance(_ratio) float32 [out_dims] or empty
//                      track_ids                 int64 [n]; segment_index int32 [n]
//                      compute_s, created_at     seconds it took; Unix seconds
//   knn_indexes        (space_id, granularity,   one hnswlib graph per space x granularity x
//                       metric) PK               metric ('segments'|'averages', 'cosine'|'euclidean')
//                      generation, params        space generation at build; build params text
//                      n, dims                   points, values per point
//                      track_ids, segment_index  int64 [n], int32 [n]: row -> track/segment
//                      graph_bytes, graph_xxh64  size and XXH64 (16 hex) of the hnswlib bytes
//   knn_index_chunks   (..., chunk) PK           the hnswlib saveIndex bytes in 64 MiB pieces
//                      data                      (SQLite blobs stop at 1 GB; 1M x 200 is ~1 GB)
//
// The graph bytes are checked against graph_xxh64 before hnswlib ever sees them, so a
// corrupt index is an Error (or a rebuild), not a crash inside hnswlib.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace tagscape {

// The space's change counter (0 if its vectors never changed since schema 2).
int64_t space_generation(Store& store, int64_t space_id);

// Ids of the 'ok' tracks that have vectors in the space, ascending (the tracks read_space
// would return), without reading the vectors.
std::vector<int64_t> space_track_ids(Store& store, int64_t space_id);

// ---- cached layouts -------------------------------------------------------------------

struct CachedProjection {
  std::string key;                              // canonical request text
  int64_t space_id = 0;
  int64_t generation = 0;                       // space_generation() when computed
  int64_t n = 0;                                // rows
  int out_dims = 0;                             // > 0
  std::vector<float> coords;                    // [n, out_dims]
  std::vector<float> explained_variance;        // [out_dims] or empty
  std::vector<float> explained_variance_ratio;  // [out_dims] or empty
  std::vector<int64_t> track_ids;               // [n]
  std::vector<int32_t> segment_index;           // [n], -1 for averages
  double compute_s = 0;                         // wall seconds the computation took
};

// The entry for `key` if it was computed at `generation`; an entry of another generation
// is deleted (it describes vectors that changed) and nullopt returned. Blob sizes are
// checked against n/out_dims (Error naming the file on mismatch).
std::optional<CachedProjection> find_cached_projection(Store& store, const std::string& key, int64_t generation);

// Inserts or replaces the entry. Precondition: sizes consistent with n and out_dims.
void put_cached_projection(Store& store, const CachedProjection& entry);

// Deletes every cached layout whose generation is not its space's current one. Returns
// how many rows went.
int64_t delete_stale_projections(Store& store);

// ---- persisted kNN indexes ------------------------------------------------------------

struct StoredKnnIndex {
  int64_t space_id = 0;
  std::string granularity;              // "segments" | "averages"
  std::string metric;                   // "cosine" | "euclidean"
  int64_t generation = 0;               // space_generation() when built
  std::string params;                   // build parameters, e.g. "M=16 ef_construction=200"
  int64_t n = 0;                        // points
  int dims = 0;                         // values per point
  std::vector<int64_t> track_ids;       // [n]
  std::vector<int32_t> segment_index;   // [n]
  std::vector<char> graph;              // hnswlib saveIndex bytes
};

// The stored index for (space, granularity, metric), or nullopt if none. Its generation
// is returned as stored: the caller compares it with space_generation(). Throws Error
// naming the file if sizes or the XXH64 of the graph do not match (corrupt).
std::optional<StoredKnnIndex> load_knn_index(Store& store, int64_t space_id, const std::string& granularity,
                                             const std::string& metric);

// Replaces the stored index for (space, granularity, metric) in one transaction.
void save_knn_index(Store& store, const StoredKnnIndex& index);

}  // namespace tagscape
