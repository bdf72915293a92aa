// server/server_state.h — what the request handlers of `tagscape serve` share: the
// running Server (its connection pool, caches, locks) and the small helpers every endpoint
// uses. Internal to server/: handlers live in server.cpp (core API), curate.cpp (playlists,
// walks, axis explanations) and listening.cpp (listening test); each registers its routes.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "projection/knn_index.h"
#include "server/audio_segments.h"
#include "server/params.h"
#include "server/server.h"
#include "store/store.h"

namespace tagscape::server {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline constexpr size_t kTrackAudioCacheBytes = 48u << 20;  // ~8 whole tracks of 3 min at 16 kHz

// ---- per-thread store connections -------------------------------------------------

struct StorePool {
  std::string path;
  std::mutex mutex;
  std::vector<Store> idle;  // read-only connections not in use
};

// A connection borrowed from the pool for one request; returned on destruction.
struct BorrowedStore {
  StorePool& pool;
  Store store;
  explicit BorrowedStore(StorePool& pool) : pool(pool) {
    {
      std::lock_guard lock(pool.mutex);
      if (!pool.idle.empty()) {
        store = std::move(pool.idle.back());
        pool.idle.pop_back();
        return;
      }
    }
    store = open_store(pool.path, OpenMode::read_only);
  }
  ~BorrowedStore() {
    std::lock_guard lock(pool.mutex);
    pool.idle.push_back(std::move(store));
  }
};

// ---- track index: id -> track (with its path, which never leaves the server) ----------

struct TrackIndex {
  std::map<int64_t, Track> ok_tracks;  // status 'ok' only
  Clock::time_point loaded_at;
};

struct TrackIndexCache {
  std::mutex mutex;
  std::shared_ptr<const TrackIndex> current;
};

// All 'ok' tracks of the store.
std::shared_ptr<const TrackIndex> load_track_index(Store& store);


struct Server {
  ServerOptions options;
  std::string web_dir;
  httplib::Server http;
  StorePool stores;
  TrackIndexCache tracks;
  SegmentCache audio_cache;
  SegmentCache track_audio_cache{kTrackAudioCacheBytes};  // whole tracks: <audio> seeks with Range requests
  // Projections run on all cores (OpenMP/BLAS inside); running several at once on a small
  // machine makes every one slower (measured: 8 concurrent PCA requests, p99 1.6 s), so
  // they take turns.
  std::mutex compute_mutex;
  // Bumped by every t-SNE/UMAP request: a running one whose number is no longer current
  // stops at its next progress callback ("a newer request cancels an older one").
  std::atomic<uint64_t> iterative_generation{0};
  std::mutex knn_mutex;  // guards knn_indexes; held while an index is built
  struct KnnEntry {
    std::string tracks_version;  // the analysed tracks it was built over (count + last id)
    std::shared_ptr<const KnnIndex> index;
  };
  std::map<std::string, KnnEntry> knn_indexes;  // key: space|granularity|metric
  // Sampled trustworthiness of layouts already sent, by layout_fingerprint: a repeated points
  // request (reload, a second pane, another client) does not pay for it again. Cleared when
  // it holds kQualityCacheEntries.
  std::mutex quality_mutex;
  std::unordered_map<uint64_t, nlohmann::json> quality_cache;
  std::thread listener;
  std::promise<void> finished;          // set when listen_after_bind returns
  std::shared_future<void> done = finished.get_future().share();
  int port = 0;

  explicit Server(const ServerOptions& options) : options(options), audio_cache(options.audio_cache_bytes) {}
};

// The track index, reloaded when `force` or when `missing_id` is not in it (at most once a second).
std::shared_ptr<const TrackIndex> track_index(Server& server, Store& store, bool force = false,
                                              std::optional<int64_t> missing_id = std::nullopt);

// The 'ok' track with this id, or RequestError 404.
Track find_track(Server& server, Store& store, int64_t id);

// The named space, or RequestError 400 (no name) / 404 (unknown; the message lists the spaces).
Space find_space_or_404(Store& store, const std::optional<std::string>& name);

// An id from a path segment (0..INT32_MAX), or RequestError 400 naming it.
int64_t id_from_path(const std::string& name, const std::string& text);

void send_json(httplib::Response& res, const json& body, int status = 200);

std::string base_name(const std::string& path);  // file name of a path: never send paths to clients

json track_json(const Track& track);  // a track as /api/tracks lists it (server/API.md)

// The kNN index of a space over all analysed tracks (server.cpp): cached in the Server, loaded
// from or saved into the collection file, rebuilt when the analysed tracks change. Locks
// compute_mutex while building: do not call it holding that mutex.
std::shared_ptr<const KnnIndex> knn_index_for(Server& server, Store& store, const Space& space, Granularity granularity,
                                              Metric metric);

// Wraps a handler: RequestError -> its status + {"error"}; tagscape::Error -> 500.
template <typename Fn>
httplib::Server::Handler api(Server& server, Fn fn) {
  return [&server, fn](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(server, req, res);
    } catch (const RequestError& error) {
      send_json(res, {{"error", error.what()}}, error.status);
    } catch (const Error& error) {
      send_json(res, {{"error", error.what()}}, 500);
    }
  };
}

}  // namespace tagscape::server
