// The whole engine on one file: decode -> mel -> MusiCNN, as `tagscape predict` runs it.
//
//   bench_engine INPUT [--threads N] [--model NAME] [--batch N] [--repeat R]
//
// Prints one `name value` figure a line: the machine's cores, real-time factor
// (seconds of audio per wall second, whole pipeline), the per-stage split, conv
// GFLOP/s and peak RSS. With --repeat R the file is analysed R times and the best
// run is reported (the first run also pays for planning and oneDNN JIT).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/error.h"
#include "common/openmp_env.h"
#include "model/pipeline.h"

using namespace tagscape;

int main(int argc, char** argv) {
  tagscape::use_passive_openmp_wait(argv);  // as tagscape itself (common/openmp_env.h)
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_engine INPUT [--threads N] [--model NAME] [--batch N] [--repeat R]\n");
    return 2;
  }
  std::string input = argv[1], model_name = "msd-musicnn-1";
  int threads = 2, batch = 8, repeat = 1;
  for (int k = 2; k + 1 < argc; k += 2) {
    const std::string flag = argv[k];
    if (flag == "--threads") threads = std::stoi(argv[k + 1]);
    else if (flag == "--model") model_name = argv[k + 1];
    else if (flag == "--batch") batch = std::stoi(argv[k + 1]);
    else if (flag == "--repeat") repeat = std::stoi(argv[k + 1]);
  }
  try {
    std::vector<model::ModelRunner> models;
    models.push_back(model::make_model_runner(model_name, {"taggrams"}, threads));
    // Rebuild with profiling on: conv time and FLOPs.
    models[0].executor = std::make_unique<model::Executor>(
        model::load_graph(models[0].info.directory), models[0].info.input_name, models[0].outputs,
        model::ExecutorOptions{.threads = threads, .profile = true});
    model::AnalysisOptions options;
    options.batch_patches = batch;
    double best_wall = 1e30;
    model::TrackAnalysis best;
    for (int r = 0; r < repeat; ++r) {
      const auto start = std::chrono::steady_clock::now();
      model::TrackAnalysis track = model::analyze_file(input, models, options);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (wall < best_wall) best_wall = wall, best = std::move(track);
    }
    const model::ExecutorProfile& profile = models[0].executor->profile();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const double audio_s = best.audio.decoded_duration_s;
    std::printf("cores %u\n", std::thread::hardware_concurrency());
    std::printf("threads %d\n", threads);
    std::printf("engine_model %s\n", model_name.c_str());
    std::printf("engine_audio_seconds %.2f\n", audio_s);
    std::printf("engine_segments %zu\n", best.segments.size());
    std::printf("engine_wall_seconds %.3f\n", best_wall);
    std::printf("engine_realtime_factor %.1f\n", audio_s / best_wall);
    std::printf("engine_decode_seconds %.3f\n", best.seconds.decode);
    std::printf("engine_mel_seconds %.3f\n", best.seconds.mel);
    std::printf("engine_model_seconds %.3f\n", best.seconds.model);
    std::printf("engine_model_realtime_factor %.1f\n", audio_s / best.seconds.model);
    std::printf("conv_gflops %.1f\n", profile.conv_flops / profile.conv_seconds / 1e9);
    std::printf("conv_share_of_model_time %.3f\n", profile.conv_seconds / (profile.conv_seconds + profile.other_seconds));
    std::printf("peak_rss_mb %.1f\n", usage.ru_maxrss / 1024.0);
  } catch (const Error& error) {
    std::fprintf(stderr, "bench_engine: %s\n", error.what());
    return 1;
  }
  return 0;
}
