// store/content_hash.h — XXH64 of a file's bytes, the `content_hash` column of tracks.
//
// What is hashed: the WHOLE file, streamed in 1 MiB chunks. Not size + first/last MiB:
//   - a sampled hash misses edits in the middle of a file (a re-encode with the same
//     length, a spliced edit), and a wrong "unchanged" verdict silently keeps stale vectors;
//   - the analyser only hashes files whose size or mtime changed (or new files), and those
//     it decodes in full right after, so the extra read mostly comes from the page cache;
//   - XXH64 runs at several GB/s on one core, far above disk speed, so the read dominates.
// Consequence: a tag-only edit (ID3 title) changes the hash and triggers re-analysis.
//
// Why XXH64: fast, stable, non-cryptographic, 64 bits (collisions among 10^6 files
// are ~1e-7 likely), and it has published test vectors.
// ref: https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md (XXH64)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tagscape {

// Streaming XXH64 state. Usage: Xxh64State s = xxh64_begin(0); xxh64_update(s, ...)...; xxh64_digest(s).
struct Xxh64State {
  uint64_t total_bytes;      // bytes fed so far
  uint64_t lanes[4];         // the four accumulators v1..v4
  unsigned char buffer[32];  // pending bytes of an incomplete 32-byte stripe
  size_t buffered_bytes;     // 0..31
  uint64_t seed;
};

Xxh64State xxh64_begin(uint64_t seed);
void xxh64_update(Xxh64State& state, const void* data, size_t size_bytes);
uint64_t xxh64_digest(const Xxh64State& state);  // does not modify the state

// One-shot XXH64 of a buffer.
uint64_t xxh64(const void* data, size_t size_bytes, uint64_t seed = 0);

// XXH64 (seed 0) of the whole file, as 16 lowercase hex digits (the canonical
// big-endian display, as `xxhsum -H64` prints it). Throws Error naming the file if it
// cannot be opened or read.
std::string hash_file_content(const std::string& path);

// 16 lowercase hex digits of a 64-bit hash, most significant first.
std::string hash_to_hex(uint64_t hash);

}  // namespace tagscape
