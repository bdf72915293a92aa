// server/audio_segments.h — the audio a hover plays: one segment of a track, cut from the
// original file, as a 16-bit PCM WAV, with a bounded cache of recent segments.
//
//   SegmentCache cache(64 << 20);
//   std::shared_ptr<const std::string> wav = cached_segment_wav(cache, key, path, start_s, end_s);
//
// Cutting: audio/decode.h decode_audio_range(path, start_s, end_s) seeks and decodes only
// that range (plus its 1 s pre-roll) to mono 16 kHz float, sample-exact to the full decode;
// measured 3-12 ms for a 3 s segment of an mp3. Encoding to WAV is a copy. 16 kHz mono is
// what the network heard, so the hover plays exactly the analysed signal.
//
// Cache: least recently used segments are dropped once the WAV bytes exceed the budget.
// Safe to use from many threads (one mutex, held only for map updates, never while
// decoding). Two threads missing the same key at once both decode it; the second insert
// replaces the first (same bytes) — cheaper than making waiters block on a decode.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

namespace tagscape::server {

inline constexpr int kWavHeaderBytes = 44;  // RIFF + fmt (16 bytes PCM) + data chunk headers

// RIFF/WAVE file: PCM 16-bit little-endian, 1 channel, `sample_rate_hz`. Samples are
// clipped to [-1, 1] and rounded (x * 32767). Size = 44 + 2 * samples.size() bytes.
std::string encode_wav_pcm16(std::span<const float> samples, int sample_rate_hz);

// Which segment of which content: the content hash makes a re-analysed, changed file a
// different key even though its track id stays.
struct SegmentKey {
  int64_t track_id;
  int segment;               // index into the track's segments
  std::string content_hash;  // tracks.content_hash
  bool operator==(const SegmentKey&) const = default;
};

struct SegmentKeyHash {
  size_t operator()(const SegmentKey& key) const;
};

struct SegmentCache {
  explicit SegmentCache(size_t budget_bytes) : budget_bytes(budget_bytes) {}

  using Entry = std::pair<SegmentKey, std::shared_ptr<const std::string>>;
  const size_t budget_bytes;  // upper bound on the sum of cached WAV sizes
  std::mutex mutex;           // guards everything below
  std::list<Entry> lru;       // most recently used first
  std::unordered_map<SegmentKey, std::list<Entry>::iterator, SegmentKeyHash> index;
  size_t bytes = 0;           // sum of cached WAV sizes, <= budget_bytes
  uint64_t hits = 0, misses = 0;
};

// The cached WAV for `key`, or null. Marks it most recently used.
std::shared_ptr<const std::string> cache_find(SegmentCache& cache, const SegmentKey& key);

// Inserts (or replaces) `wav`, then evicts least recently used entries until the budget
// holds. A WAV larger than the whole budget is not cached.
void cache_insert(SegmentCache& cache, const SegmentKey& key, std::shared_ptr<const std::string> wav);

// The segment [start_s, end_s) of `path` as WAV: from the cache, else decoded (outside the
// lock) and inserted. `was_cached` (if given) tells which. Throws tagscape::Error naming
// the file when it cannot be decoded (moved, deleted, corrupt since analysis).
std::shared_ptr<const std::string> cached_segment_wav(SegmentCache& cache, const SegmentKey& key,
                                                      const std::string& path, double start_s, double end_s,
                                                      bool* was_cached = nullptr);

}  // namespace tagscape::server
