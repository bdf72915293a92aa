// bench/mel_bench.cpp — speed of the MusiCNN log-mel front end (features/mel.h).
//
//   mel_bench [MINUTES] [REPEATS]
//
// Builds MINUTES (default 60) of 16 kHz audio by tiling the joram reference clip, then
// times musicnn_mel() and MelStream (4096-sample chunks) on one thread, best of REPEATS
// (default 3). Prints wall and CPU seconds per run and audio-seconds per CPU-second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "common/error.h"
#include "common/npy.h"
#include "features/mel.h"

#ifndef TAGSCAPE_SHARED_DIR
#define TAGSCAPE_SHARED_DIR TAGSCAPE_SOURCE_MODELS_DIR "/../../shared"
#endif

struct Timing {
  double wall_s;  // best wall-clock time of the repeats
  double cpu_s;   // best process CPU time of the repeats (robust on a shared machine)
};

template <typename Run>
static Timing best_seconds(int repeats, Run run) {
  Timing best{1e30, 1e30};
  for (int r = 0; r < repeats; r++) {
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    run();
    best.cpu_s = std::min(best.cpu_s, double(std::clock() - cpu_start) / CLOCKS_PER_SEC);
    best.wall_s = std::min(best.wall_s, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

int main(int argc, char** argv) {
  const double minutes = argc > 1 ? std::stod(argv[1]) : 60.0;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 3;
  try {
    const std::vector<float> clip =
        tagscape::read_npy(TAGSCAPE_SHARED_DIR "/reference/joram/audio_16k_mono.npy").data;
    const size_t total = size_t(minutes * 60.0 * tagscape::MusicnnInput::sample_rate_hz);
    std::vector<float> audio(total);
    for (size_t i = 0; i < total; i++) audio[i] = clip[i % clip.size()];
    const double audio_s = double(total) / tagscape::MusicnnInput::sample_rate_hz;

    size_t frames = 0;
    const Timing one_shot = best_seconds(repeats, [&] {
      frames = tagscape::musicnn_mel(audio.data(), audio.size()).size() / tagscape::MusicnnInput::bands;
    });
    const Timing streamed = best_seconds(repeats, [&] {
      tagscape::MelStream stream;
      std::vector<float> mel;
      mel.reserve(1 << 16);
      for (size_t at = 0; at < audio.size(); at += 4096) {
        stream.push(audio.data() + at, std::min<size_t>(4096, audio.size() - at), mel);
        if (mel.size() > (1 << 15)) mel.clear();  // a consumer would take the frames here
      }
      stream.finish(mel);
    });
    std::printf("audio_s %.0f frames %zu\n", audio_s, frames);
    std::printf("one_shot wall_s %.3f cpu_s %.3f (%.0fx real time, %.2f us/frame cpu)\n", one_shot.wall_s,
                one_shot.cpu_s, audio_s / one_shot.cpu_s, one_shot.cpu_s / frames * 1e6);
    std::printf("stream   wall_s %.3f cpu_s %.3f (%.0fx real time)\n", streamed.wall_s, streamed.cpu_s,
                audio_s / streamed.cpu_s);
  } catch (const tagscape::Error& error) {
    std::fprintf(stderr, "mel_bench: %s\n", error.what());
    return 1;
  }
  return 0;
}
