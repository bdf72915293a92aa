#include "server/audio_segments.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "audio/decode.h"

namespace tagscape::server {

namespace {

void put_u32(std::string& out, uint32_t v) {
  const char bytes[4] = {char(v & 0xff), char(v >> 8 & 0xff), char(v >> 16 & 0xff), char(v >> 24 & 0xff)};
  out.append(bytes, 4);
}

void put_u16(std::string& out, uint16_t v) {
  const char bytes[2] = {char(v & 0xff), char(v >> 8 & 0xff)};
  out.append(bytes, 2);
}

}  // namespace

// ref: Microsoft RIFF WAVE, WAVE_FORMAT_PCM (format tag 1), canonical 44-byte header.
std::string encode_wav_pcm16(std::span<const float> samples, int sample_rate_hz) {
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 2);
  std::string out;
  out.reserve(kWavHeaderBytes + data_bytes);
  out.append("RIFF");
  put_u32(out, 36 + data_bytes);
  out.append("WAVEfmt ");
  put_u32(out, 16);                   // fmt chunk size
  put_u16(out, 1);                    // PCM
  put_u16(out, 1);                    // channels
  put_u32(out, sample_rate_hz);
  put_u32(out, sample_rate_hz * 2);   // byte rate
  put_u16(out, 2);                    // block align
  put_u16(out, 16);                   // bits per sample
  out.append("data");
  put_u32(out, data_bytes);
  out.resize(kWavHeaderBytes + data_bytes);
  char* data = out.data() + kWavHeaderBytes;
  for (size_t i = 0; i < samples.size(); ++i) {
    const float clipped = std::clamp(samples[i], -1.0f, 1.0f);
    const int16_t v = static_cast<int16_t>(std::lround(clipped * 32767.0f));
    data[2 * i] = char(v & 0xff);
    data[2 * i + 1] = char(uint16_t(v) >> 8);
  }
  return out;
}

size_t SegmentKeyHash::operator()(const SegmentKey& key) const {
  return std::hash<int64_t>()(key.track_id * 1000003 + key.segment) ^ std::hash<std::string>()(key.content_hash);
}

std::shared_ptr<const std::string> cache_find(SegmentCache& cache, const SegmentKey& key) {
  std::lock_guard lock(cache.mutex);
  auto found = cache.index.find(key);
  if (found == cache.index.end()) {
    ++cache.misses;
    return nullptr;
  }
  ++cache.hits;
  cache.lru.splice(cache.lru.begin(), cache.lru, found->second);
  return found->second->second;
}

void cache_insert(SegmentCache& cache, const SegmentKey& key, std::shared_ptr<const std::string> wav) {
  if (wav->size() > cache.budget_bytes) return;
  std::lock_guard lock(cache.mutex);
  if (auto found = cache.index.find(key); found != cache.index.end()) {
    cache.bytes -= found->second->second->size();
    cache.lru.erase(found->second);
    cache.index.erase(found);
  }
  cache.bytes += wav->size();
  cache.lru.emplace_front(key, std::move(wav));
  cache.index[key] = cache.lru.begin();
  while (cache.bytes > cache.budget_bytes) {
    const SegmentCache::Entry& oldest = cache.lru.back();
    cache.bytes -= oldest.second->size();
    cache.index.erase(oldest.first);
    cache.lru.pop_back();
  }
}

std::shared_ptr<const std::string> cached_segment_wav(SegmentCache& cache, const SegmentKey& key,
                                                      const std::string& path, double start_s, double end_s,
                                                      bool* was_cached) {
  if (auto wav = cache_find(cache, key)) {
    if (was_cached) *was_cached = true;
    return wav;
  }
  if (was_cached) *was_cached = false;
  const DecodedAudio audio = decode_audio_range(path, start_s, end_s);
  auto wav = std::make_shared<const std::string>(encode_wav_pcm16(audio.samples, kAnalysisSampleRateHz));
  cache_insert(cache, key, wav);
  return wav;
}

}  // namespace tagscape::server
