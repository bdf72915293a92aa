#include "store/projection_cache.h"

#include <cassert>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "common/error.h"
#include "store/content_hash.h"
#include "store/sqlite.h"

namespace tagscape {

using sqlite::Statement;
using sqlite::Transaction;

namespace {

// SQLite blobs are limited to 1e9 bytes by default; 64 MiB pieces stay far below it.
constexpr int64_t kChunkBytes = int64_t{64} << 20;

[[noreturn]] void throw_corrupt(const Store& store, const std::string& what) {
  throw Error(store.path + ": database is corrupt (" + what + ")");
}

// Copies blob column `column` into `out`, which must end up with exactly `count` elements.
template <typename T>
void read_blob(const Store& store, const Statement& statement, int column, int64_t count, std::vector<T>& out,
               const char* what) {
  const int bytes = sqlite3_column_bytes(statement.handle, column);
  const void* data = sqlite3_column_blob(statement.handle, column);
  if (count < 0 || int64_t{bytes} != count * static_cast<int64_t>(sizeof(T)))
    throw_corrupt(store, std::string(what) + " has " + std::to_string(bytes) + " bytes, expected " +
                             std::to_string(count * static_cast<int64_t>(sizeof(T))));
  out.resize(static_cast<size_t>(count));
  if (bytes > 0) std::memcpy(out.data(), data, static_cast<size_t>(bytes));
}

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, value);
  return text;
}

int64_t now_unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int64_t space_generation(Store& store, int64_t space_id) {
  Statement select(store, "SELECT generation FROM space_generations WHERE space_id = ?");
  select.bind(1, space_id);
  return select.step() ? select.int64(0) : 0;
}

std::vector<int64_t> space_track_ids(Store& store, int64_t space_id) {
  Statement select(store,
                   "SELECT v.track_id FROM vectors v JOIN tracks t ON t.id = v.track_id"
                   " WHERE v.space_id = ? AND t.status = 'ok' ORDER BY v.track_id");
  select.bind(1, space_id);
  std::vector<int64_t> ids;
  while (select.step()) ids.push_back(select.int64(0));
  return ids;
}

std::optional<CachedProjection> find_cached_projection(Store& store, const std::string& key, int64_t generation) {
  Statement select(store,
                   "SELECT space_id, generation, n, out_dims, coords, explained_variance, explained_variance_ratio,"
                   " track_ids, segment_index, compute_s FROM projection_cache WHERE key = ?");
  select.bind(1, key);
  if (!select.step()) return std::nullopt;
  if (select.int64(1) != generation) {
    select.reset();
    if (!store.read_only) {
      Statement erase(store, "DELETE FROM projection_cache WHERE key = ?");
      erase.bind(1, key);
      erase.step();
    }
    return std::nullopt;
  }
  CachedProjection entry;
  entry.key = key;
  entry.space_id = select.int64(0);
  entry.generation = generation;
  entry.n = select.int64(2);
  const int64_t out_dims = select.int64(3);
  if (entry.n < 0 || out_dims <= 0 || out_dims > 3) throw_corrupt(store, "projection_cache row with bad shape");
  entry.out_dims = static_cast<int>(out_dims);
  read_blob(store, select, 4, entry.n * out_dims, entry.coords, "projection_cache.coords");
  const int variance_bytes = sqlite3_column_bytes(select.handle, 5);
  read_blob(store, select, 5, variance_bytes == 0 ? 0 : out_dims, entry.explained_variance,
            "projection_cache.explained_variance");
  read_blob(store, select, 6, variance_bytes == 0 ? 0 : out_dims, entry.explained_variance_ratio,
            "projection_cache.explained_variance_ratio");
  read_blob(store, select, 7, entry.n, entry.track_ids, "projection_cache.track_ids");
  read_blob(store, select, 8, entry.n, entry.segment_index, "projection_cache.segment_index");
  entry.compute_s = select.real(9);
  return entry;
}

void put_cached_projection(Store& store, const CachedProjection& entry) {
  assert(entry.coords.size() == static_cast<size_t>(entry.n * entry.out_dims));
  assert(entry.track_ids.size() == static_cast<size_t>(entry.n));
  assert(entry.segment_index.size() == static_cast<size_t>(entry.n));
  Statement insert(store,
                   "INSERT OR REPLACE INTO projection_cache (key, space_id, generation, n, out_dims, coords,"
                   " explained_variance, explained_variance_ratio, track_ids, segment_index, compute_s, created_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, entry.key).bind(2, entry.space_id).bind(3, entry.generation).bind(4, entry.n).bind(5, entry.out_dims);
  insert.bind_blob(6, entry.coords.data(), static_cast<int64_t>(entry.coords.size() * sizeof(float)));
  insert.bind_blob(7, entry.explained_variance.data(),
                   static_cast<int64_t>(entry.explained_variance.size() * sizeof(float)));
  insert.bind_blob(8, entry.explained_variance_ratio.data(),
                   static_cast<int64_t>(entry.explained_variance_ratio.size() * sizeof(float)));
  insert.bind_blob(9, entry.track_ids.data(), static_cast<int64_t>(entry.track_ids.size() * sizeof(int64_t)));
  insert.bind_blob(10, entry.segment_index.data(), static_cast<int64_t>(entry.segment_index.size() * sizeof(int32_t)));
  insert.bind(11, entry.compute_s).bind(12, now_unix_s());
  insert.step();
}

int64_t delete_stale_projections(Store& store) {
  Statement erase(store,
                  "DELETE FROM projection_cache WHERE generation !="
                  " coalesce((SELECT g.generation FROM space_generations g WHERE g.space_id = projection_cache.space_id), 0)");
  erase.step();
  return sqlite3_changes64(store.db.get());
}

std::optional<StoredKnnIndex> load_knn_index(Store& store, int64_t space_id, const std::string& granularity,
                                             const std::string& metric) {
  Transaction snapshot(store, Transaction::read);  // header and chunks from the same commit
  Statement select(store,
                   "SELECT generation, params, n, dims, track_ids, segment_index, graph_bytes, graph_xxh64"
                   " FROM knn_indexes WHERE space_id = ? AND granularity = ? AND metric = ?");
  select.bind(1, space_id).bind(2, granularity).bind(3, metric);
  if (!select.step()) return std::nullopt;
  StoredKnnIndex index;
  index.space_id = space_id;
  index.granularity = granularity;
  index.metric = metric;
  index.generation = select.int64(0);
  index.params = select.text(1);
  index.n = select.int64(2);
  const int64_t dims = select.int64(3);
  if (index.n < 0 || dims <= 0 || dims > (1 << 20)) throw_corrupt(store, "knn_indexes row with bad shape");
  index.dims = static_cast<int>(dims);
  read_blob(store, select, 4, index.n, index.track_ids, "knn_indexes.track_ids");
  read_blob(store, select, 5, index.n, index.segment_index, "knn_indexes.segment_index");
  const int64_t graph_bytes = select.int64(6);
  const std::string expected_hash = select.text(7);
  if (graph_bytes < 0 || graph_bytes > (int64_t{1} << 40)) throw_corrupt(store, "knn_indexes.graph_bytes out of range");

  Statement chunks(store,
                   "SELECT chunk, data FROM knn_index_chunks WHERE space_id = ? AND granularity = ? AND metric = ?"
                   " ORDER BY chunk");
  chunks.bind(1, space_id).bind(2, granularity).bind(3, metric);
  index.graph.resize(static_cast<size_t>(graph_bytes));
  int64_t filled = 0;
  for (int64_t expected_chunk = 0; chunks.step(); ++expected_chunk) {
    const int bytes = sqlite3_column_bytes(chunks.handle, 1);
    if (chunks.int64(0) != expected_chunk || filled + bytes > graph_bytes)
      throw_corrupt(store, "knn_index_chunks do not add up to graph_bytes");
    if (bytes > 0) std::memcpy(index.graph.data() + filled, sqlite3_column_blob(chunks.handle, 1), static_cast<size_t>(bytes));
    filled += bytes;
  }
  if (filled != graph_bytes) throw_corrupt(store, "knn_index_chunks hold " + std::to_string(filled) + " of " +
                                                      std::to_string(graph_bytes) + " bytes");
  if (hex64(xxh64(index.graph.data(), index.graph.size())) != expected_hash)
    throw_corrupt(store, "knn index graph checksum mismatch");
  return index;
}

void save_knn_index(Store& store, const StoredKnnIndex& index) {
  assert(index.track_ids.size() == static_cast<size_t>(index.n));
  assert(index.segment_index.size() == static_cast<size_t>(index.n));
  Transaction transaction(store, Transaction::write);
  Statement erase(store, "DELETE FROM knn_indexes WHERE space_id = ? AND granularity = ? AND metric = ?");
  erase.bind(1, index.space_id).bind(2, index.granularity).bind(3, index.metric);
  erase.step();
  Statement insert(store,
                   "INSERT INTO knn_indexes (space_id, granularity, metric, generation, params, n, dims, track_ids,"
                   " segment_index, graph_bytes, graph_xxh64) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const std::string hash = hex64(xxh64(index.graph.data(), index.graph.size()));
  insert.bind(1, index.space_id).bind(2, index.granularity).bind(3, index.metric).bind(4, index.generation);
  insert.bind(5, index.params).bind(6, index.n).bind(7, index.dims);
  insert.bind_blob(8, index.track_ids.data(), static_cast<int64_t>(index.track_ids.size() * sizeof(int64_t)));
  insert.bind_blob(9, index.segment_index.data(), static_cast<int64_t>(index.segment_index.size() * sizeof(int32_t)));
  insert.bind(10, static_cast<int64_t>(index.graph.size())).bind(11, hash);
  insert.step();
  Statement chunk(store,
                  "INSERT INTO knn_index_chunks (space_id, granularity, metric, chunk, data) VALUES (?, ?, ?, ?, ?)");
  const int64_t total = static_cast<int64_t>(index.graph.size());
  for (int64_t offset = 0, number = 0; offset < total; offset += kChunkBytes, ++number) {
    chunk.reset();
    chunk.bind(1, index.space_id).bind(2, index.granularity).bind(3, index.metric).bind(4, number);
    chunk.bind_blob(5, index.graph.data() + offset, std::min(kChunkBytes, total - offset));
    chunk.step();
  }
  transaction.commit();
}

}  // namespace tagscape
