// bench/audio_decode_bench.cpp — decode speed of audio/decode.h.
//
//   audio_decode_bench FILE [REPEATS] [--dump OUT.f32] [--range START_S END_S]
//
// Decodes FILE REPEATS times (default 3) with decode_audio_stream() and prints the
// audio seconds decoded per wall-clock second (best run). --dump writes the mono
// 16 kHz float32 signal as raw little-endian f32 (compare with ffmpeg -f f32le).
// --range also times decode_audio_range() for [START_S, END_S) (a hover segment).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
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
  double range_start_s = -1, range_end_s = -1;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
      dump_path = argv[++i];
    } else if (std::strcmp(argv[i], "--range") == 0 && i + 2 < argc) {
      range_start_s = std::stod(argv[++i]);
      range_end_s = std::stod(argv[++i]);
    } else {
      repeats = std::stoi(argv[i]);
    }
  }
  try {
    double best_s = 1e30, best_cpu_s = 1e30;  // wall clock; process CPU time (the machine is shared)
    tagscape::AudioInfo info;
    size_t largest_chunk = 0;
    for (int run = 0; run < repeats; ++run) {
      const auto start = std::chrono::steady_clock::now();
      const std::clock_t cpu_start = std::clock();
      info = tagscape::decode_audio_stream(path, [&](std::span<const float> chunk) {
        largest_chunk = std::max(largest_chunk, chunk.size());
      });
      best_s = std::min(best_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      best_cpu_s = std::min(best_cpu_s, double(std::clock() - cpu_start) / CLOCKS_PER_SEC);
    }
    std::printf("%s: %s %d Hz %d ch, container %.3f s, decoded %.3f s (%lld samples), largest chunk %zu\n",
                path.c_str(), info.codec_name.c_str(), info.source_sample_rate_hz, info.source_channels,
                info.container_duration_s, info.decoded_duration_s,
                static_cast<long long>(std::llround(info.decoded_duration_s * tagscape::kAnalysisSampleRateHz)),
                largest_chunk);
    std::printf("best of %d: %.3f s wall (%.1f s of audio per second), %.3f s CPU (%.1f s of audio per CPU second)\n",
                repeats, best_s, info.decoded_duration_s / best_s, best_cpu_s, info.decoded_duration_s / best_cpu_s);
    for (const std::string& warning : info.warnings) std::printf("warning: %s\n", warning.c_str());
    if (range_start_s >= 0) {
      double best_range_s = 1e30;
      size_t samples = 0;
      for (int run = 0; run < repeats; ++run) {
        const auto start = std::chrono::steady_clock::now();
        samples = tagscape::decode_audio_range(path, range_start_s, range_end_s).samples.size();
        best_range_s =
            std::min(best_range_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      std::printf("range [%g, %g) s: %zu samples in %.4f s (best of %d)\n", range_start_s, range_end_s, samples,
                  best_range_s, repeats);
    }
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
