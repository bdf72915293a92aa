// store/store.h — the collection file: one SQLite database that `tagscape analyze`
// writes and every later view (projections, web explorer, `tagscape info`) reads.
//
//   Store store = open_store("collection.tagscape");     // creates + migrates
//   int64_t taggrams = upsert_space(store, taggram_space);  // idempotent by name
//   std::optional<TrackState> known = lookup_track(store, path);
//   if (known && known->size_bytes == size && known->mtime_ns == mtime && has all spaces) skip;
//   commit_track(store, analysis);                         // one transaction per track
//   SpaceMatrix m = read_space(store, taggrams);           // [total_segments, dims] floats
//
// Connection settings: WAL journal (readers never block the writer and vice versa),
// synchronous=NORMAL (with WAL a committed transaction survives a process crash; only a
// power loss may drop the last commits, never corrupt), foreign_keys=ON, busy_timeout
// 5 s, cell_size_check=ON, defensive mode. A Store is one connection: use it from one
// thread at a time; open one Store per thread/process that needs one.
//
// Errors: every failure is a tagscape::Error whose message starts with the file path,
// e.g. "collection.tagscape: database is corrupt (database disk image is malformed)".
// SQLite itself never reads out of bounds on a corrupt file (SQLITE_CORRUPT), and every
// blob is size-checked before it is interpreted, so corrupt input is an Error, not a crash.
//
// FILE FORMAT (schema version 3; PRAGMA application_id = 0x54475343 'TGSC',
// PRAGMA user_version = schema version, page size 16 KiB). All blobs little-endian.
// Version 1 made meta..vectors; 2 added space_generations..knn_index_chunks (+ triggers);
// 3 added listening_answers.
//
//   table     column          type     meaning / invariant
//   --------  --------------  -------  ----------------------------------------------------
//   meta      key             TEXT PK  collection-level setting name
//             value           TEXT     its value (free text, JSON if structured)
//   tracks    id              INTEGER  rowid; stable across re-analysis of the same path
//             path            TEXT     absolute file path, UNIQUE
//             size_bytes      INTEGER  file size when analysed
//             mtime_ns        INTEGER  file modification time, ns since the Unix epoch
//             content_hash    TEXT     XXH64 of the whole file, 16 hex digits (content_hash.h)
//             title, artist,  TEXT     tags; '' = unknown
//             album, genre
//             year            INTEGER  0 = unknown
//             track_number    INTEGER  0 = unknown
//             duration_s      REAL     decoded audio duration, seconds
//             status          TEXT     'ok' | 'failed' | 'removed'
//             error           TEXT     why analysis failed ('' unless status = 'failed')
//             analysed_at     INTEGER  Unix seconds of the last commit/failure
//             segment_count   INTEGER  segments of the analysis (0 when failed)
//   segments  track_id        INTEGER  PK, -> tracks.id (ON DELETE CASCADE); row only if segment_count > 0
//             times           BLOB     float64 [segment_count, 2] = (start_s, end_s) per segment
//   spaces    id              INTEGER  rowid
//             name            TEXT     UNIQUE, e.g. 'msd-musicnn-1/taggrams', 'moods'
//             kind            TEXT     'taggrams' | 'embeddings' | 'moods' | 'imported'
//             model           TEXT     model id that produced it ('' for imported)
//             node            TEXT     graph layer/node name ('' if not a model output)
//             dims            INTEGER  > 0, values per segment
//             dim_names       TEXT     JSON array of `dims` strings, or [] if unnamed
//   vectors   track_id        INTEGER  -> tracks.id (ON DELETE CASCADE)  } PRIMARY KEY
//             space_id        INTEGER  -> spaces.id (ON DELETE CASCADE)  }
//             data            BLOB     float32 [tracks.segment_count, spaces.dims], row-major
//   index vectors_by_space(space_id, track_id) — bulk read of one space in track order.
//
//   schema 2 (store/projection_cache.h has the details):
//   space_generations  space_id  INTEGER  PK, -> spaces.id (ON DELETE CASCADE)
//                      generation INTEGER change counter of the space's vectors; no row = 0.
//                                         Bumped by triggers: vectors_insert/update/delete_
//                                         bumps_generation (that space), track_status_bumps_
//                                         generations (every space, on a status change)
//   projection_cache   key       TEXT PK  canonical projection request (projection/cache.h)
//                      space_id  INTEGER  -> spaces.id (ON DELETE CASCADE)
//                      generation INTEGER the space's generation when computed (stale after)
//                      n, out_dims INTEGER layout rows (>= 0), columns (> 0)
//                      coords    BLOB     float32 [n, out_dims]
//                      explained_variance, explained_variance_ratio  BLOB  float32 [out_dims] or empty
//                      track_ids BLOB     int64 [n];  segment_index BLOB int32 [n] (-1 = average)
//                      compute_s REAL     seconds it took;  created_at INTEGER Unix seconds
//   knn_indexes        (space_id, granularity, metric) PK  'segments'|'averages', 'cosine'|'euclidean'
//                      generation INTEGER space generation at build;  params TEXT build params
//                      n, dims   INTEGER  points (>= 0), values per point (> 0)
//                      track_ids, segment_index  BLOB  int64 [n], int32 [n]: row -> track/segment
//                      graph_bytes INTEGER, graph_xxh64 TEXT  size and XXH64 of the hnswlib bytes
//   knn_index_chunks   (space_id, granularity, metric, chunk) PK, -> knn_indexes (ON DELETE CASCADE)
//                      data      BLOB     hnswlib saveIndex bytes, 64 MiB pieces in chunk order
//
//   schema 3 (store/listening.h):
//   listening_answers  id        INTEGER  rowid, the answer id
//                      created_at INTEGER Unix seconds when stored
//                      listener  TEXT     free name given by the listener, '' = anonymous
//                      reference_track INTEGER  track id (no FK: answers outlive tracks)
//                      reference_segment INTEGER  >= 0, segment index within that track
//                      candidates TEXT    JSON [{"track":id,"segment":s,"spaces":["name",..]},..]
//                      chosen_index INTEGER >= 0, index into candidates of the one picked
//
// Size and speed (bench/store_bench, 2-core Zen 5, page cache warm): 1.34 MB per audio
// hour for taggrams(50) + embeddings(200) at 3 s segments (payload 1.20 MB; the rest is
// partly-filled 16 KiB overflow pages); commit_track 0.4-0.9 ms per 60-segment track;
// read_space of 1M segments x 200 dims (800 MB) 0.43 s; lookup_track ~12-22 us.
//
// Segment times are one blob per track rather than one row per segment: 100k tracks x
// ~80 segments would be 8M rows; as blobs reading them all is 100k row reads.
//
// Migrations: schema_migrations()[i] is the SQL that takes version i to i + 1. To change
// the schema append one string to the list in store.cpp (never edit an old one). A file
// whose version is newer than schema_migrations().size() is refused with an Error.
// Read-only connections cannot migrate, so they accept any version from
// oldest_read_only_schema_version() to the current one: the migrations after that version
// only ADD tables, and every reader of an added table treats a missing table as empty.
// A migration that changes or drops anything existing must raise that version to itself.
#pragma once

#include <cstdint>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct sqlite3;

namespace tagscape {

struct SqliteCloser {
  void operator()(sqlite3* db) const;
};

// An open collection. Move-only; closing happens in the destructor or close_store().
struct Store {
  std::string path;                           // as given to open_store; prefixes every error
  std::unique_ptr<sqlite3, SqliteCloser> db;  // the connection; null only after close_store
  bool read_only = false;                     // opened with OpenMode::read_only
};

enum class OpenMode {
  create,     // read-write; create the file if missing; migrate older schemas forward
  existing,   // read-write; the file must exist; migrate older schemas forward
  read_only,  // never writes; the file must exist, at oldest_read_only_schema_version()..current
};

// Opens (or creates) a collection file and brings its schema to the current version,
// each migration step in its own transaction. Throws Error naming the file when:
// it is missing (existing/read_only), not an SQLite database, an SQLite database of
// another application, corrupt (its tables unreadable), locked beyond the busy timeout,
// or its schema version is newer than this binary supports:
//   "<path>: schema version 7 is newer than this tagscape supports (3); upgrade tagscape".
// An empty (0-byte) file is treated as a new collection in create/existing mode.
Store open_store(const std::string& path, OpenMode mode = OpenMode::create);

// Closes the connection (checkpointing the WAL if it is the last one). Idempotent.
void close_store(Store& store);

// The migration list (index i takes version i to i+1) and the version this binary writes.
const std::vector<std::string>& schema_migrations();
int current_schema_version();
// The oldest version a read-only connection opens (see Migrations above); older files need
// one read-write open (e.g. `tagscape analyze`) to be upgraded.
int oldest_read_only_schema_version();

// Runs PRAGMA integrity_check over the whole file (slow: reads every page).
// Returns the problems found; empty means the file is intact.
std::vector<std::string> check_integrity(Store& store);

// ---- spaces ---------------------------------------------------------------------

enum class SpaceKind { taggrams, embeddings, moods, imported };

struct Space {
  int64_t id = 0;                      // assigned by the store; ignored by upsert_space
  std::string name;                    // unique key, e.g. "msd-musicnn-1/taggrams"
  SpaceKind kind = SpaceKind::imported;
  std::string model;                   // producing model id, '' if imported
  std::string node;                    // graph node name, '' if not a model output
  int dims = 0;                        // > 0, values per segment
  std::vector<std::string> dim_names;  // empty or exactly `dims` names (tags, mood names)
};

// Returns the id of the space called `space.name`, creating it if absent. Idempotent:
// an existing space with the same dims is updated to the given kind/model/node/dim_names
// and keeps its id. Throws Error if it exists with different dims (its vectors would no
// longer match). Precondition: dims > 0, dim_names empty or of size dims.
int64_t upsert_space(Store& store, const Space& space);

std::vector<Space> list_spaces(Store& store);                          // ordered by id
std::optional<Space> find_space(Store& store, const std::string& name);
const char* space_kind_name(SpaceKind kind);                          // "taggrams", ...

// ---- writing tracks ------------------------------------------------------------

struct FileIdentity {
  std::string path;          // absolute path, the track's unique key
  int64_t size_bytes = 0;    // st_size
  int64_t mtime_ns = 0;      // st_mtim, ns since the Unix epoch
  std::string content_hash;  // hash_file_content(path), 16 hex digits
};

struct TrackMetadata {
  std::string title, artist, album, genre;  // '' = unknown
  int year = 0;                             // 0 = unknown
  int track_number = 0;                     // 0 = unknown
};

struct Segment {
  double start_s;  // seconds from the start of the track
  double end_s;    // > start_s
};

// The vectors of one track in one space.
struct SpaceVectors {
  int64_t space_id;            // from upsert_space
  std::span<const float> values;  // [segments, dims] row-major; size = segments.size() * dims
};

struct TrackAnalysis {
  FileIdentity file;
  TrackMetadata metadata;
  double duration_s = 0;               // decoded duration, seconds
  std::vector<Segment> segments;       // in time order
  std::vector<SpaceVectors> vectors;   // any number of spaces, each at most once
};

// Writes a complete analysis of one file in ONE transaction: the track row (status 'ok',
// error '', analysed_at = now), its segment times, and its vectors; any previous
// segments/vectors of that path are deleted first, the track id is kept. A crash at any
// point leaves either the previous complete entry or this one. Returns the track id.
// Throws Error (and writes nothing) if a space id is unknown or a values span has the
// wrong size, naming the path and the space.
int64_t commit_track(Store& store, const TrackAnalysis& analysis);

// Adds (or replaces) a track's vectors in more spaces, in one transaction — for models
// added after the first analysis. values must have track.segment_count * dims floats.
// Throws Error if the track is missing, not 'ok', or a size does not match.
void add_track_vectors(Store& store, int64_t track_id, std::span<const SpaceVectors> vectors);

// Records that analysing `file` failed: status 'failed', the error text, the identity
// (so an unchanged file is not retried on every run), no segments, no vectors (any old
// analysis of that path is deleted — it described other content). Returns the track id.
int64_t mark_track_failed(Store& store, const FileIdentity& file, const std::string& error);

// Sets status 'removed' for these paths (files that no longer exist). Their vectors are
// kept, so a file that comes back unchanged can be restored without re-analysis; readers
// of vectors (read_space) skip removed tracks. Unknown paths are ignored. One transaction.
// Returns how many tracks changed status.
int64_t mark_tracks_removed(Store& store, std::span<const std::string> paths);

// Sets a 'removed' track back to 'ok' (its file is present again and unchanged).
// Throws Error if the track is not 'removed' or has no analysis.
void restore_removed_track(Store& store, int64_t track_id);

// ---- incremental analysis -------------------------------------------------------

enum class TrackStatus { ok, failed, removed };
const char* track_status_name(TrackStatus status);  // "ok", "failed", "removed"

struct TrackState {
  int64_t track_id;
  int64_t size_bytes;             // as stored at the last commit/failure
  int64_t mtime_ns;
  std::string content_hash;
  TrackStatus status;
  int segment_count;
  std::vector<int64_t> space_ids;  // spaces this track has vectors in, ascending
};

// What the store knows about a path, or nullopt if it was never seen. The analyser skips
// a file when size and mtime match (or the hash matches) and every wanted space is present.
std::optional<TrackState> lookup_track(Store& store, const std::string& path);

// Space ids the track has vectors in, ascending.
std::vector<int64_t> track_space_ids(Store& store, int64_t track_id);

// ---- reading ---------------------------------------------------------------------

struct Track {
  int64_t id;
  FileIdentity file;
  TrackMetadata metadata;
  double duration_s;
  TrackStatus status;
  std::string error;    // '' unless failed
  int64_t analysed_at;  // Unix seconds
  int segment_count;
};

// All tracks (every status), ordered by id.
std::vector<Track> list_tracks(Store& store);

// Segment times of a track in time order (empty for failed tracks). Throws Error if
// the stored blob does not hold exactly segment_count segments.
std::vector<Segment> read_segments(Store& store, int64_t track_id);

// A track's vectors in one space: values [segments, dims] row-major. Throws Error if
// the track has none in that space or the blob size is not segments*dims*4 bytes.
struct TrackVectors {
  int segments;
  int dims;
  std::vector<float> values;  // segments * dims
};
TrackVectors read_track_vectors(Store& store, int64_t track_id, int64_t space_id);

// One space for many tracks, as a single contiguous matrix for the projection engine.
// Rows of track i are values[segment_offsets[i]*dims, segment_offsets[i+1]*dims).
struct SpaceMatrix {
  int dims = 0;
  std::vector<int64_t> track_ids;        // ascending
  std::vector<int64_t> segment_offsets;  // size track_ids.size() + 1, [0] = 0, last = total rows
  std::vector<float> values;             // [total_segments, dims] row-major
};

// All 'ok' tracks that have vectors in `space_id`, in track id order. Each blob is
// size-checked (Error naming the track on mismatch) and copied straight into `values`.
SpaceMatrix read_space(Store& store, int64_t space_id);

// ---- summary for `tagscape info` --------------------------------------------------

struct SpaceSummary {
  Space space;
  int64_t tracks;  // 'ok' tracks with vectors in this space
};

struct TrackFailure {
  std::string path;
  std::string error;
};

struct CollectionSummary {
  int schema_version;
  int64_t tracks_ok, tracks_failed, tracks_removed;
  int64_t segments;         // over 'ok' tracks
  double total_duration_s;  // over 'ok' tracks
  std::vector<SpaceSummary> spaces;     // ordered by id
  std::vector<TrackFailure> failures;   // ordered by path
};

CollectionSummary summarize(Store& store);

// ---- collection-level settings ------------------------------------------------------

void set_meta(Store& store, const std::string& key, const std::string& value);
std::optional<std::string> get_meta(Store& store, const std::string& key);

}  // namespace tagscape
