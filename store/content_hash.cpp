#include "store/content_hash.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "common/error.h"

namespace tagscape {
namespace {

// ref: xxhash_spec.md, "XXH64 algorithm description".
constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

uint64_t rotl(uint64_t x, int bits) { return (x << bits) | (x >> (64 - bits)); }

// The spec reads lanes little-endian; memcpy is the defined-behaviour unaligned load.
uint64_t read_u64_le(const unsigned char* p) {
  static_assert(std::endian::native == std::endian::little, "tagscape assumes a little-endian host");
  uint64_t value;
  std::memcpy(&value, p, 8);
  return value;
}

uint32_t read_u32_le(const unsigned char* p) {
  uint32_t value;
  std::memcpy(&value, p, 4);
  return value;
}

uint64_t round(uint64_t accumulator, uint64_t lane) {
  accumulator += lane * kPrime2;
  accumulator = rotl(accumulator, 31);
  return accumulator * kPrime1;
}

uint64_t merge_round(uint64_t accumulator, uint64_t lane) {
  accumulator ^= round(0, lane);
  return accumulator * kPrime1 + kPrime4;
}

void consume_stripe(uint64_t lanes[4], const unsigned char* stripe) {
  for (int i = 0; i < 4; ++i) lanes[i] = round(lanes[i], read_u64_le(stripe + 8 * i));
}

}  // namespace

Xxh64State xxh64_begin(uint64_t seed) {
  Xxh64State state{};
  state.seed = seed;
  state.lanes[0] = seed + kPrime1 + kPrime2;
  state.lanes[1] = seed + kPrime2;
  state.lanes[2] = seed;
  state.lanes[3] = seed - kPrime1;
  return state;
}

void xxh64_update(Xxh64State& state, const void* data, size_t size_bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  const unsigned char* end = p + size_bytes;
  state.total_bytes += size_bytes;
  if (state.buffered_bytes + size_bytes < 32) {
    if (size_bytes > 0) std::memcpy(state.buffer + state.buffered_bytes, p, size_bytes);
    state.buffered_bytes += size_bytes;
    return;
  }
  if (state.buffered_bytes > 0) {
    const size_t fill = 32 - state.buffered_bytes;
    std::memcpy(state.buffer + state.buffered_bytes, p, fill);
    consume_stripe(state.lanes, state.buffer);
    p += fill;
    state.buffered_bytes = 0;
  }
  for (; p + 32 <= end; p += 32) consume_stripe(state.lanes, p);
  state.buffered_bytes = static_cast<size_t>(end - p);
  if (state.buffered_bytes > 0) std::memcpy(state.buffer, p, state.buffered_bytes);
}

uint64_t xxh64_digest(const Xxh64State& state) {
  uint64_t hash;
  if (state.total_bytes >= 32) {
    const uint64_t* v = state.lanes;
    hash = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (int i = 0; i < 4; ++i) hash = merge_round(hash, v[i]);
  } else {
    hash = state.seed + kPrime5;
  }
  hash += state.total_bytes;

  const unsigned char* p = state.buffer;
  const unsigned char* end = state.buffer + state.buffered_bytes;
  for (; p + 8 <= end; p += 8) {
    hash ^= round(0, read_u64_le(p));
    hash = rotl(hash, 27) * kPrime1 + kPrime4;
  }
  if (p + 4 <= end) {
    hash ^= uint64_t{read_u32_le(p)} * kPrime1;
    hash = rotl(hash, 23) * kPrime2 + kPrime3;
    p += 4;
  }
  for (; p < end; ++p) {
    hash ^= uint64_t{*p} * kPrime5;
    hash = rotl(hash, 11) * kPrime1;
  }
  // Avalanche.
  hash ^= hash >> 33;
  hash *= kPrime2;
  hash ^= hash >> 29;
  hash *= kPrime3;
  hash ^= hash >> 32;
  return hash;
}

uint64_t xxh64(const void* data, size_t size_bytes, uint64_t seed) {
  Xxh64State state = xxh64_begin(seed);
  xxh64_update(state, data, size_bytes);
  return xxh64_digest(state);
}

std::string hash_to_hex(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string hash_file_content(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw Error(path + ": cannot open for hashing (" + std::strerror(errno) + ")");
  constexpr size_t kChunkBytes = 1 << 20;
  std::vector<unsigned char> chunk(kChunkBytes);
  Xxh64State state = xxh64_begin(0);
  for (;;) {
    const size_t got = std::fread(chunk.data(), 1, kChunkBytes, file.get());
    xxh64_update(state, chunk.data(), got);
    if (got < kChunkBytes) break;
  }
  if (std::ferror(file.get())) throw Error(path + ": read error while hashing (" + std::strerror(errno) + ")");
  return hash_to_hex(xxh64_digest(state));
}

}  // namespace tagscape
