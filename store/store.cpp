#include "store/store.h"

#include <bit>
#include <cassert>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "store/sqlite.h"

namespace tagscape {

static_assert(std::endian::native == std::endian::little,
              "the collection stores little-endian floats and copies them as-is");

using sqlite::Statement;
using sqlite::Transaction;

namespace {

constexpr int64_t kApplicationId = 0x54475343;  // 'TGSC' in the SQLite header, offset 68
constexpr int kBusyTimeoutMs = 5000;
// 16 KiB pages: a 60-segment x 200-dim blob (48 KB) spans 3 overflow pages instead of 12,
// which halved the CPU time of read_space versus 4 KiB pages (bench/store_bench: 0.45 vs
// 0.93 s CPU per 1M x 200 read); 64 KiB pages wasted 30% of the file on partly-filled
// overflow pages. Must be set before the first table is created.
constexpr int kPageSizeBytes = 16384;

// Version i -> i + 1. Append only; never edit a step that has shipped.
const std::vector<std::string> kMigrations = {
    // 0 -> 1: the initial schema (see the file format table in store.h).
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE tracks ("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL UNIQUE,"
    "  size_bytes INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  content_hash TEXT NOT NULL,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  artist TEXT NOT NULL DEFAULT '',"
    "  album TEXT NOT NULL DEFAULT '',"
    "  genre TEXT NOT NULL DEFAULT '',"
    "  year INTEGER NOT NULL DEFAULT 0,"
    "  track_number INTEGER NOT NULL DEFAULT 0,"
    "  duration_s REAL NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'removed')),"
    "  error TEXT NOT NULL DEFAULT '',"
    "  analysed_at INTEGER NOT NULL,"
    "  segment_count INTEGER NOT NULL DEFAULT 0 CHECK (segment_count >= 0)"
    ");"
    "CREATE TABLE segments ("
    "  track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,"
    "  times BLOB NOT NULL"
    ");"
    "CREATE TABLE spaces ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('taggrams', 'embeddings', 'moods', 'imported')),"
    "  model TEXT NOT NULL DEFAULT '',"
    "  node TEXT NOT NULL DEFAULT '',"
    "  dims INTEGER NOT NULL CHECK (dims > 0),"
    "  dim_names TEXT NOT NULL DEFAULT '[]'"
    ");"
    "CREATE TABLE vectors ("
    "  track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,"
    "  space_id INTEGER NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (track_id, space_id)"
    ");"
    "CREATE INDEX vectors_by_space ON vectors(space_id, track_id);",
    // 1 -> 2: projection results cache and persisted kNN indexes (store/projection_cache.h).
    // space_generations counts changes to a space's vectors (and to track statuses, which
    // decide what read_space returns); cached results carry the generation they were
    // computed at and are stale when it moved on.
    "CREATE TABLE space_generations ("
    "  space_id INTEGER PRIMARY KEY REFERENCES spaces(id) ON DELETE CASCADE,"
    "  generation INTEGER NOT NULL"
    ");"
    "CREATE TRIGGER vectors_insert_bumps_generation AFTER INSERT ON vectors BEGIN"
    "  INSERT INTO space_generations (space_id, generation) VALUES (NEW.space_id, 1)"
    "  ON CONFLICT(space_id) DO UPDATE SET generation = generation + 1;"
    "END;"
    "CREATE TRIGGER vectors_update_bumps_generation AFTER UPDATE ON vectors BEGIN"
    "  INSERT INTO space_generations (space_id, generation) VALUES (NEW.space_id, 1)"
    "  ON CONFLICT(space_id) DO UPDATE SET generation = generation + 1;"
    "  INSERT INTO space_generations (space_id, generation) VALUES (OLD.space_id, 1)"
    "  ON CONFLICT(space_id) DO UPDATE SET generation = generation + 1;"
    "END;"
    "CREATE TRIGGER vectors_delete_bumps_generation AFTER DELETE ON vectors BEGIN"
    "  INSERT INTO space_generations (space_id, generation) VALUES (OLD.space_id, 1)"
    "  ON CONFLICT(space_id) DO UPDATE SET generation = generation + 1;"
    "END;"
    "CREATE TRIGGER track_status_bumps_generations AFTER UPDATE OF status ON tracks"
    "  WHEN OLD.status IS NOT NEW.status BEGIN"
    "  UPDATE space_generations SET generation = generation + 1;"
    "END;"
    "CREATE TABLE projection_cache ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  space_id INTEGER NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,"
    "  generation INTEGER NOT NULL,"
    "  n INTEGER NOT NULL CHECK (n >= 0),"
    "  out_dims INTEGER NOT NULL CHECK (out_dims > 0),"
    "  coords BLOB NOT NULL,"
    "  explained_variance BLOB NOT NULL,"
    "  explained_variance_ratio BLOB NOT NULL,"
    "  track_ids BLOB NOT NULL,"
    "  segment_index BLOB NOT NULL,"
    "  compute_s REAL NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE knn_indexes ("
    "  space_id INTEGER NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,"
    "  granularity TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  generation INTEGER NOT NULL,"
    "  params TEXT NOT NULL,"
    "  n INTEGER NOT NULL CHECK (n >= 0),"
    "  dims INTEGER NOT NULL CHECK (dims > 0),"
    "  track_ids BLOB NOT NULL,"
    "  segment_index BLOB NOT NULL,"
    "  graph_bytes INTEGER NOT NULL,"
    "  graph_xxh64 TEXT NOT NULL,"
    "  PRIMARY KEY (space_id, granularity, metric)"
    ");"
    "CREATE TABLE knn_index_chunks ("
    "  space_id INTEGER NOT NULL,"
    "  granularity TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  chunk INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (space_id, granularity, metric, chunk),"
    "  FOREIGN KEY (space_id, granularity, metric) REFERENCES knn_indexes(space_id, granularity, metric) ON DELETE CASCADE"
    ");",
    // 2 -> 3: listening-test answers (store/listening.h). Additive only (a new table), so
    // read-only connections still open version-2 files (kOldestReadOnlyVersion). No foreign
    // keys: answers are experimental data and must outlive a track's re-analysis or removal.
    "CREATE TABLE listening_answers ("
    "  id INTEGER PRIMARY KEY,"
    "  created_at INTEGER NOT NULL,"
    "  listener TEXT NOT NULL DEFAULT '',"
    "  reference_track INTEGER NOT NULL,"
    "  reference_segment INTEGER NOT NULL CHECK (reference_segment >= 0),"
    "  candidates TEXT NOT NULL,"
    "  chosen_index INTEGER NOT NULL CHECK (chosen_index >= 0)"
    ");",
};

// Read-only connections open files at this version or newer (and at most the current one).
// Every migration after it only adds tables, and each reader of such a table treats it as
// absent = empty, so e.g. `tagscape serve` keeps working on a file it may not write. Set it
// to the new current version when a migration changes or drops anything existing.
constexpr int kOldestReadOnlyVersion = 2;

int64_t now_unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- opening ---------------------------------------------------------------------

void migrate(Store& store, int64_t from_version) {
  for (int64_t version = from_version; version < current_schema_version(); ++version) {
    Transaction transaction(store, Transaction::write);
    // Another process may have migrated while we waited for the write lock.
    if (sqlite::pragma_int(store, "user_version") > version) continue;
    sqlite::exec(store, kMigrations[static_cast<size_t>(version)].c_str());
    sqlite::exec(store, ("PRAGMA user_version = " + std::to_string(version + 1)).c_str());
    sqlite::exec(store, ("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
    transaction.commit();
  }
}

void set_journal_mode_wal(Store& store) {
  Statement statement(store, "PRAGMA journal_mode = WAL");
  if (!statement.step() || statement.text(0) != "wal")
    throw Error(store.path + ": cannot switch the collection to WAL mode (is it on a network file system?)");
}

// Reads the root page of every table (and one row of each), so a file whose tables are
// destroyed fails here rather than at the first read deep inside an analysis.
void probe_tables(Store& store) {
  for (const char* sql : {"SELECT count(*) FROM spaces", "SELECT * FROM tracks LIMIT 1", "SELECT * FROM segments LIMIT 1",
                          "SELECT * FROM vectors LIMIT 1", "SELECT * FROM meta LIMIT 1"}) {
    Statement statement(store, sql);
    while (statement.step()) {
    }
  }
}

// ---- helpers ------------------------------------------------------------------------

SpaceKind parse_space_kind(const Store& store, const std::string& text) {
  for (SpaceKind kind : {SpaceKind::taggrams, SpaceKind::embeddings, SpaceKind::moods, SpaceKind::imported})
    if (text == space_kind_name(kind)) return kind;
  throw Error(store.path + ": database is corrupt (unknown space kind '" + text + "')");
}

TrackStatus parse_status(const Store& store, const std::string& text) {
  for (TrackStatus status : {TrackStatus::ok, TrackStatus::failed, TrackStatus::removed})
    if (text == track_status_name(status)) return status;
  throw Error(store.path + ": database is corrupt (unknown track status '" + text + "')");
}

std::vector<std::string> parse_dim_names(const Store& store, const std::string& name, const std::string& json_text) {
  const auto json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> names;
  if (!json.is_array()) throw Error(store.path + ": database is corrupt (dim_names of space '" + name + "' is not a JSON array)");
  for (const auto& item : json) {
    if (!item.is_string()) throw Error(store.path + ": database is corrupt (dim_names of space '" + name + "' holds a non-string)");
    names.push_back(item.get<std::string>());
  }
  return names;
}

constexpr const char* kSpaceColumns = "id, name, kind, model, node, dims, dim_names";

Space read_space_row(const Statement& row) {
  Space space;
  space.id = row.int64(0);
  space.name = row.text(1);
  space.kind = parse_space_kind(row.store, row.text(2));
  space.model = row.text(3);
  space.node = row.text(4);
  space.dims = static_cast<int>(row.int64(5));
  space.dim_names = parse_dim_names(row.store, space.name, row.text(6));
  if (space.dims <= 0 || (!space.dim_names.empty() && space.dim_names.size() != static_cast<size_t>(space.dims)))
    throw Error(row.store.path + ": database is corrupt (space '" + space.name + "' has inconsistent dims)");
  return space;
}

// Dims of a space, or an Error naming the space id if there is none.
int space_dims(Store& store, int64_t space_id) {
  Statement statement(store, "SELECT dims FROM spaces WHERE id = ?");
  statement.bind(1, space_id);
  if (!statement.step()) throw Error(store.path + ": no space with id " + std::to_string(space_id));
  return static_cast<int>(statement.int64(0));
}

// Inserts (or replaces) the vectors of one track, checking each size against its space.
void write_vectors(Store& store, int64_t track_id, const std::string& path, int segment_count,
                   std::span<const SpaceVectors> vectors) {
  Statement insert(store, "INSERT OR REPLACE INTO vectors (track_id, space_id, data) VALUES (?, ?, ?)");
  for (const SpaceVectors& space_vectors : vectors) {
    const int dims = space_dims(store, space_vectors.space_id);
    const size_t expected = static_cast<size_t>(segment_count) * static_cast<size_t>(dims);
    if (space_vectors.values.size() != expected)
      throw Error(store.path + ": " + path + ": space " + std::to_string(space_vectors.space_id) + " needs " +
                  std::to_string(segment_count) + " x " + std::to_string(dims) + " values, got " +
                  std::to_string(space_vectors.values.size()));
    insert.reset();
    insert.bind(1, track_id).bind(2, space_vectors.space_id);
    insert.bind_blob(3, space_vectors.values.data(), static_cast<int64_t>(expected * sizeof(float)));
    insert.step();
  }
}

void delete_analysis(Store& store, int64_t track_id) {
  Statement segments(store, "DELETE FROM segments WHERE track_id = ?");
  segments.bind(1, track_id).step();
  Statement vectors(store, "DELETE FROM vectors WHERE track_id = ?");
  vectors.bind(1, track_id).step();
}

// Inserts or updates the row of `file.path`, keeping its id. Returns the id.
int64_t upsert_track_row(Store& store, const FileIdentity& file, const TrackMetadata& metadata, double duration_s,
                         const char* status, const std::string& error, int segment_count) {
  Statement upsert(store,
                   "INSERT INTO tracks (path, size_bytes, mtime_ns, content_hash, title, artist, album, genre, year,"
                   "  track_number, duration_s, status, error, analysed_at, segment_count)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                   " ON CONFLICT (path) DO UPDATE SET size_bytes = ?2, mtime_ns = ?3, content_hash = ?4, title = ?5,"
                   "  artist = ?6, album = ?7, genre = ?8, year = ?9, track_number = ?10, duration_s = ?11,"
                   "  status = ?12, error = ?13, analysed_at = ?14, segment_count = ?15"
                   " RETURNING id");
  const std::string status_text = status;
  upsert.bind(1, file.path).bind(2, file.size_bytes).bind(3, file.mtime_ns).bind(4, file.content_hash);
  upsert.bind(5, metadata.title).bind(6, metadata.artist).bind(7, metadata.album).bind(8, metadata.genre);
  upsert.bind(9, metadata.year).bind(10, metadata.track_number).bind(11, duration_s);
  upsert.bind(12, status_text).bind(13, error).bind(14, now_unix_s()).bind(15, segment_count);
  if (!upsert.step()) throw Error(store.path + ": " + file.path + ": track row not written");
  const int64_t id = upsert.int64(0);
  while (upsert.step()) {
  }
  return id;
}

constexpr const char* kTrackColumns =
    "id, path, size_bytes, mtime_ns, content_hash, title, artist, album, genre, year, track_number,"
    " duration_s, status, error, analysed_at, segment_count";

Track read_track_row(const Statement& row) {
  Track track;
  track.id = row.int64(0);
  track.file = {row.text(1), row.int64(2), row.int64(3), row.text(4)};
  track.metadata = {row.text(5), row.text(6), row.text(7), row.text(8), static_cast<int>(row.int64(9)),
                    static_cast<int>(row.int64(10))};
  track.duration_s = row.real(11);
  track.status = parse_status(row.store, row.text(12));
  track.error = row.text(13);
  track.analysed_at = row.int64(14);
  track.segment_count = static_cast<int>(row.int64(15));
  return track;
}

[[noreturn]] void throw_corrupt_blob(const Store& store, const char* what, int64_t track_id, int64_t got_bytes,
                                     int64_t expected_bytes) {
  throw Error(store.path + ": database is corrupt (" + what + " of track " + std::to_string(track_id) + " has " +
              std::to_string(got_bytes) + " bytes, expected " + std::to_string(expected_bytes) + ")");
}

}  // namespace

// ---- lifecycle ----------------------------------------------------------------------

void SqliteCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

const std::vector<std::string>& schema_migrations() { return kMigrations; }
int current_schema_version() { return static_cast<int>(kMigrations.size()); }
int oldest_read_only_schema_version() { return kOldestReadOnlyVersion; }

Store open_store(const std::string& path, OpenMode mode) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  if (mode != OpenMode::create && !fs::exists(path, ignored)) throw Error(path + ": no such collection file");
  if (fs::is_directory(path, ignored)) throw Error(path + ": is a directory, not a collection file");

  const bool read_only = mode == OpenMode::read_only;
  int flags = SQLITE_OPEN_NOMUTEX;
  if (read_only) flags |= SQLITE_OPEN_READONLY;
  else flags |= SQLITE_OPEN_READWRITE | (mode == OpenMode::create ? SQLITE_OPEN_CREATE : 0);

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Store store{path, std::unique_ptr<sqlite3, SqliteCloser>(raw), read_only};
  if (rc != SQLITE_OK) sqlite::fail(store, rc);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite::exec(store, "PRAGMA cell_size_check = ON");

  // The first statements that read the file: a non-database fails here (SQLITE_NOTADB).
  const int64_t application_id = sqlite::pragma_int(store, "application_id");
  const int64_t version = sqlite::pragma_int(store, "user_version");
  int64_t schema_objects = 0;
  {
    Statement count(store, "SELECT count(*) FROM sqlite_schema");
    if (count.step()) schema_objects = count.int64(0);
  }
  const bool fresh = application_id == 0 && version == 0 && schema_objects == 0;
  if (!fresh && application_id != kApplicationId)
    throw Error(path + ": not a tagscape collection (an SQLite database of another application)");
  if (version > current_schema_version())
    throw Error(path + ": schema version " + std::to_string(version) + " is newer than this tagscape supports (" +
                std::to_string(current_schema_version()) + "); upgrade tagscape");
  if (read_only && fresh) throw Error(path + ": not a tagscape collection (empty database)");
  if (read_only && version < kOldestReadOnlyVersion)
    throw Error(path + ": schema version " + std::to_string(version) + " is older than this tagscape's (" +
                std::to_string(current_schema_version()) + "); open it read-write (tagscape analyze) to upgrade it");

  if (!read_only) {
    if (fresh) sqlite::exec(store, ("PRAGMA page_size = " + std::to_string(kPageSizeBytes)).c_str());
    set_journal_mode_wal(store);
    sqlite::exec(store, "PRAGMA synchronous = NORMAL");
  }
  sqlite::exec(store, "PRAGMA foreign_keys = ON");
  if (!read_only) migrate(store, version);
  probe_tables(store);
  return store;
}

void close_store(Store& store) { store.db.reset(); }

std::vector<std::string> check_integrity(Store& store) {
  Statement check(store, "PRAGMA integrity_check");
  std::vector<std::string> problems;
  while (check.step()) {
    std::string line = check.text(0);
    if (line != "ok") problems.push_back(std::move(line));
  }
  Statement foreign_keys(store, "PRAGMA foreign_key_check");
  while (foreign_keys.step())
    problems.push_back("foreign key violation in " + foreign_keys.text(0) + " row " + std::to_string(foreign_keys.int64(1)));
  return problems;
}

// ---- spaces ---------------------------------------------------------------------------

const char* space_kind_name(SpaceKind kind) {
  switch (kind) {
    case SpaceKind::taggrams: return "taggrams";
    case SpaceKind::embeddings: return "embeddings";
    case SpaceKind::moods: return "moods";
    case SpaceKind::imported: return "imported";
  }
  return "imported";
}

int64_t upsert_space(Store& store, const Space& space) {
  assert(space.dims > 0);
  assert(space.dim_names.empty() || space.dim_names.size() == static_cast<size_t>(space.dims));
  Transaction transaction(store, Transaction::write);
  const std::string kind = space_kind_name(space.kind);
  const std::string dim_names = nlohmann::json(space.dim_names).dump();
  int64_t id = 0;
  if (std::optional<Space> existing = find_space(store, space.name)) {
    if (existing->dims != space.dims)
      throw Error(store.path + ": space '" + space.name + "' already exists with " + std::to_string(existing->dims) +
                  " dims, not " + std::to_string(space.dims));
    Statement update(store, "UPDATE spaces SET kind = ?, model = ?, node = ?, dim_names = ? WHERE id = ?");
    update.bind(1, kind).bind(2, space.model).bind(3, space.node).bind(4, dim_names).bind(5, existing->id).step();
    id = existing->id;
  } else {
    Statement insert(store, "INSERT INTO spaces (name, kind, model, node, dims, dim_names) VALUES (?, ?, ?, ?, ?, ?)");
    insert.bind(1, space.name).bind(2, kind).bind(3, space.model).bind(4, space.node).bind(5, space.dims);
    insert.bind(6, dim_names).step();
    id = sqlite3_last_insert_rowid(store.db.get());
  }
  transaction.commit();
  return id;
}

std::vector<Space> list_spaces(Store& store) {
  Statement select(store, (std::string("SELECT ") + kSpaceColumns + " FROM spaces ORDER BY id").c_str());
  std::vector<Space> spaces;
  while (select.step()) spaces.push_back(read_space_row(select));
  return spaces;
}

std::optional<Space> find_space(Store& store, const std::string& name) {
  Statement select(store, (std::string("SELECT ") + kSpaceColumns + " FROM spaces WHERE name = ?").c_str());
  select.bind(1, name);
  if (!select.step()) return std::nullopt;
  return read_space_row(select);
}

// ---- writing tracks ---------------------------------------------------------------------

int64_t commit_track(Store& store, const TrackAnalysis& analysis) {
  assert(analysis.segments.size() < (1u << 30));
  const int segment_count = static_cast<int>(analysis.segments.size());
  Transaction transaction(store, Transaction::write);
  const int64_t id = upsert_track_row(store, analysis.file, analysis.metadata, analysis.duration_s, "ok", "", segment_count);
  delete_analysis(store, id);
  if (segment_count > 0) {
    static_assert(sizeof(Segment) == 2 * sizeof(double), "Segment is stored as raw float64 pairs");
    Statement insert(store, "INSERT INTO segments (track_id, times) VALUES (?, ?)");
    insert.bind(1, id).bind_blob(2, analysis.segments.data(), static_cast<int64_t>(segment_count * sizeof(Segment)));
    insert.step();
  }
  write_vectors(store, id, analysis.file.path, segment_count, analysis.vectors);
  transaction.commit();
  return id;
}

void add_track_vectors(Store& store, int64_t track_id, std::span<const SpaceVectors> vectors) {
  Transaction transaction(store, Transaction::write);
  Statement select(store, "SELECT path, status, segment_count FROM tracks WHERE id = ?");
  select.bind(1, track_id);
  if (!select.step()) throw Error(store.path + ": no track with id " + std::to_string(track_id));
  const std::string path = select.text(0);
  if (select.text(1) != "ok") throw Error(store.path + ": " + path + ": cannot add vectors to a track that is " + select.text(1));
  write_vectors(store, track_id, path, static_cast<int>(select.int64(2)), vectors);
  transaction.commit();
}

int64_t mark_track_failed(Store& store, const FileIdentity& file, const std::string& error) {
  Transaction transaction(store, Transaction::write);
  const int64_t id = upsert_track_row(store, file, TrackMetadata{}, 0.0, "failed", error, 0);
  delete_analysis(store, id);
  transaction.commit();
  return id;
}

int64_t mark_tracks_removed(Store& store, std::span<const std::string> paths) {
  Transaction transaction(store, Transaction::write);
  Statement update(store, "UPDATE tracks SET status = 'removed' WHERE path = ? AND status != 'removed'");
  int64_t changed = 0;
  for (const std::string& path : paths) {
    update.reset();
    update.bind(1, path).step();
    changed += sqlite3_changes64(store.db.get());
  }
  transaction.commit();
  return changed;
}

void restore_removed_track(Store& store, int64_t track_id) {
  Statement update(store, "UPDATE tracks SET status = 'ok' WHERE id = ? AND status = 'removed' AND segment_count > 0");
  update.bind(1, track_id).step();
  if (sqlite3_changes64(store.db.get()) != 1)
    throw Error(store.path + ": track " + std::to_string(track_id) + " is not a removed track with an analysis");
}

// ---- incremental analysis ------------------------------------------------------------

const char* track_status_name(TrackStatus status) {
  switch (status) {
    case TrackStatus::ok: return "ok";
    case TrackStatus::failed: return "failed";
    case TrackStatus::removed: return "removed";
  }
  return "ok";
}

std::optional<TrackState> lookup_track(Store& store, const std::string& path) {
  Transaction snapshot(store, Transaction::read);
  Statement select(store, "SELECT id, size_bytes, mtime_ns, content_hash, status, segment_count FROM tracks WHERE path = ?");
  select.bind(1, path);
  if (!select.step()) return std::nullopt;
  TrackState state{select.int64(0), select.int64(1), select.int64(2), select.text(3), parse_status(store, select.text(4)),
                   static_cast<int>(select.int64(5)), {}};
  state.space_ids = track_space_ids(store, state.track_id);
  snapshot.commit();
  return state;
}

std::vector<int64_t> track_space_ids(Store& store, int64_t track_id) {
  Statement select(store, "SELECT space_id FROM vectors WHERE track_id = ? ORDER BY space_id");
  select.bind(1, track_id);
  std::vector<int64_t> ids;
  while (select.step()) ids.push_back(select.int64(0));
  return ids;
}

// ---- reading -------------------------------------------------------------------------

std::vector<Track> list_tracks(Store& store) {
  Statement select(store, (std::string("SELECT ") + kTrackColumns + " FROM tracks ORDER BY id").c_str());
  std::vector<Track> tracks;
  while (select.step()) tracks.push_back(read_track_row(select));
  return tracks;
}

std::vector<Segment> read_segments(Store& store, int64_t track_id) {
  Statement select(store,
                   "SELECT t.segment_count, s.times FROM tracks t LEFT JOIN segments s ON s.track_id = t.id WHERE t.id = ?");
  select.bind(1, track_id);
  if (!select.step()) throw Error(store.path + ": no track with id " + std::to_string(track_id));
  const int64_t count = select.int64(0);
  const void* bytes = sqlite3_column_blob(select.handle, 1);
  const int64_t size_bytes = sqlite3_column_bytes(select.handle, 1);
  const int64_t expected_bytes = count * static_cast<int64_t>(sizeof(Segment));
  if (count < 0 || size_bytes != expected_bytes) throw_corrupt_blob(store, "segment times", track_id, size_bytes, expected_bytes);
  std::vector<Segment> segments(static_cast<size_t>(count));
  if (count > 0) std::memcpy(segments.data(), bytes, static_cast<size_t>(expected_bytes));
  return segments;
}

TrackVectors read_track_vectors(Store& store, int64_t track_id, int64_t space_id) {
  Statement select(store,
                   "SELECT t.segment_count, s.dims, v.data FROM vectors v JOIN tracks t ON t.id = v.track_id"
                   " JOIN spaces s ON s.id = v.space_id WHERE v.track_id = ? AND v.space_id = ?");
  select.bind(1, track_id).bind(2, space_id);
  if (!select.step())
    throw Error(store.path + ": track " + std::to_string(track_id) + " has no vectors in space " + std::to_string(space_id));
  TrackVectors vectors{static_cast<int>(select.int64(0)), static_cast<int>(select.int64(1)), {}};
  const void* bytes = sqlite3_column_blob(select.handle, 2);
  const int64_t size_bytes = sqlite3_column_bytes(select.handle, 2);
  const int64_t expected_bytes = int64_t{vectors.segments} * vectors.dims * static_cast<int64_t>(sizeof(float));
  if (vectors.segments < 0 || size_bytes != expected_bytes) throw_corrupt_blob(store, "vectors", track_id, size_bytes, expected_bytes);
  vectors.values.resize(static_cast<size_t>(expected_bytes) / sizeof(float));
  if (expected_bytes > 0) std::memcpy(vectors.values.data(), bytes, static_cast<size_t>(expected_bytes));
  return vectors;
}

SpaceMatrix read_space(Store& store, int64_t space_id) {
  Transaction snapshot(store, Transaction::read);  // both passes see the same commit
  SpaceMatrix matrix;
  matrix.dims = space_dims(store, space_id);
  const int64_t row_bytes = int64_t{matrix.dims} * static_cast<int64_t>(sizeof(float));

  // Pass 1: which rows, how big — length() reads the record header, not the blob.
  struct Entry {
    int64_t rowid;
    int64_t size_bytes;
  };
  std::vector<Entry> entries;
  matrix.segment_offsets.push_back(0);
  {
    Statement select(store,
                     "SELECT v.rowid, v.track_id, t.segment_count, length(v.data) FROM vectors v"
                     " JOIN tracks t ON t.id = v.track_id WHERE v.space_id = ? AND t.status = 'ok' ORDER BY v.track_id");
    select.bind(1, space_id);
    while (select.step()) {
      const int64_t track_id = select.int64(1);
      const int64_t segments = select.int64(2);
      const int64_t size_bytes = select.int64(3);
      if (segments < 0 || size_bytes != segments * row_bytes)
        throw_corrupt_blob(store, "vectors", track_id, size_bytes, segments * row_bytes);
      entries.push_back({select.int64(0), size_bytes});
      matrix.track_ids.push_back(track_id);
      matrix.segment_offsets.push_back(matrix.segment_offsets.back() + segments);
    }
  }

  // Pass 2: copy each blob straight into the matrix (no intermediate buffer).
  matrix.values.resize(static_cast<size_t>(matrix.segment_offsets.back() * matrix.dims));
  sqlite3_blob* blob = nullptr;
  auto* out = reinterpret_cast<unsigned char*>(matrix.values.data());
  for (const Entry& entry : entries) {
    const int rc = blob ? sqlite3_blob_reopen(blob, entry.rowid)
                        : sqlite3_blob_open(store.db.get(), "main", "vectors", "data", entry.rowid, 0, &blob);
    if (rc != SQLITE_OK) {
      sqlite3_blob_close(blob);
      sqlite::fail(store, rc);
    }
    // The size was checked in pass 1 within the same snapshot; check again against the handle.
    if (sqlite3_blob_bytes(blob) != entry.size_bytes) {
      sqlite3_blob_close(blob);
      throw Error(store.path + ": database is corrupt (vectors row " + std::to_string(entry.rowid) + " changed size)");
    }
    const int read_rc = entry.size_bytes > 0 ? sqlite3_blob_read(blob, out, static_cast<int>(entry.size_bytes), 0) : SQLITE_OK;
    if (read_rc != SQLITE_OK) {
      sqlite3_blob_close(blob);
      sqlite::fail(store, read_rc);
    }
    out += entry.size_bytes;
  }
  sqlite3_blob_close(blob);
  snapshot.commit();
  return matrix;
}

// ---- summary ---------------------------------------------------------------------------

CollectionSummary summarize(Store& store) {
  Transaction snapshot(store, Transaction::read);
  CollectionSummary summary{};
  summary.schema_version = static_cast<int>(sqlite::pragma_int(store, "user_version"));
  {
    Statement counts(store,
                     "SELECT status, count(*), total(segment_count), total(duration_s) FROM tracks GROUP BY status");
    while (counts.step()) {
      const TrackStatus status = parse_status(store, counts.text(0));
      const int64_t count = counts.int64(1);
      if (status == TrackStatus::ok) {
        summary.tracks_ok = count;
        summary.segments = static_cast<int64_t>(counts.real(2));
        summary.total_duration_s = counts.real(3);
      } else if (status == TrackStatus::failed) {
        summary.tracks_failed = count;
      } else {
        summary.tracks_removed = count;
      }
    }
  }
  for (Space& space : list_spaces(store)) {
    Statement count(store,
                    "SELECT count(*) FROM vectors v JOIN tracks t ON t.id = v.track_id WHERE v.space_id = ? AND t.status = 'ok'");
    count.bind(1, space.id);
    const int64_t tracks = count.step() ? count.int64(0) : 0;
    summary.spaces.push_back({std::move(space), tracks});
  }
  Statement failures(store, "SELECT path, error FROM tracks WHERE status = 'failed' ORDER BY path");
  while (failures.step()) summary.failures.push_back({failures.text(0), failures.text(1)});
  snapshot.commit();
  return summary;
}

// ---- meta ---------------------------------------------------------------------------------

void set_meta(Store& store, const std::string& key, const std::string& value) {
  Statement upsert(store, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  upsert.bind(1, key).bind(2, value).step();
}

std::optional<std::string> get_meta(Store& store, const std::string& key) {
  Statement select(store, "SELECT value FROM meta WHERE key = ?");
  select.bind(1, key);
  if (!select.step()) return std::nullopt;
  return select.text(0);
}

}  // namespace tagscape
