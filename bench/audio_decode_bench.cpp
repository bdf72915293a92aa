// bench/audio_decode_bench.cpp — decode speed of audio/decode.h.
//
//   audio_decode_bench FILE [REPEATS] [--dump OUT.f32]
//
// Decodes FILE REPEATS times (default 3) with decode_audio_stream() and prints the
// audio seconds decoded per wall-clock second (best run). --dump writes the mono
// 16 kHz float32 signal as raw little-endian f32 (compare with ffmpeg -f f32le).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "audio/decode.h"
#include "common/error.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [REPEATS] [--dump OUT.f32]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  int repeats = 3;
  std::string dump_path;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
      dump_path = argv[++i];
    } else {
      repeats = std::stoi(argv[i]);
    }
  }
  try {
    double best_s = 1e30;
    tagscape::AudioInfo info;
    size_t largest_chunk = 0;
    for (int run = 0; run < repeats; ++run) {
      const auto start = std::chrono::steady_clock::now();
      info = tagscape::decode_audio_stream(path, [&](std::span<const float> chunk) {
        largest_chunk = std::max(largest_chunk, chunk.size());
      });
      best_s = std::min(best_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::printf("%s: %s %d Hz %d ch, container %.3f s, decoded %.3f s (%lld samples), largest chunk %zu\n",
                path.c_str(), info.codec_name.c_str(), info.source_sample_rate_hz, info.source_channels,
                info.container_duration_s, info.decoded_duration_s,
                static_cast<long long>(std::llround(info.decoded_duration_s * tagscape::kAnalysisSampleRateHz)),
                largest_chunk);
    std::printf("best of %d: %.3f s wall, %.1f s of audio per second\n", repeats, best_s,
                info.decoded_duration_s / best_s);
    for (const std::string& warning : info.warnings) std::printf("warning: %s\n", warning.c_str());
    if (!dump_path.empty()) {
      const tagscape::DecodedAudio audio = tagscape::decode_audio(path);
      std::FILE* file = std::fopen(dump_path.c_str(), "wb");
      if (!file) throw tagscape::Error(dump_path + ": cannot create file");
      std::fwrite(audio.samples.data(), sizeof(float), audio.samples.size(), file);
      std::fclose(file);
    }
  } catch (const tagscape::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
