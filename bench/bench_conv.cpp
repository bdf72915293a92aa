// Convolution backends on MusiCNN's and VGG's layers: oneDNN (what model/ uses) vs
// im2col + OpenBLAS sgemm (the classic alternative), same shapes, same threads.
//
//   bench_conv [--threads N] [--batch B]
//
// Prints one `name value` figure a line: GFLOP/s per layer and backend, and the
// ratio over the whole set. This is the measurement behind choosing oneDNN.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "common/thread_pool.h"
#include "model/ops.h"

extern "C" void openblas_set_num_threads(int num_threads);

using namespace tagscape;
using namespace tagscape::model;

namespace {

struct Layer {
  const char* name;
  Shape x, w;  // NHWC input (batch set at run time), HWIO filter
  Padding padding;
};

// im2col of output rows [first_row, first_row + rows) into col [rows * OW, KH * KW * C].
void im2col(const float* x, const Shape& xs, const Shape& ws, const Shape& ys, int64_t pad_top, int64_t pad_left,
            int64_t first_row, int64_t rows, float* col) {
  const int64_t height = xs[1], width = xs[2], channels = xs[3], kernel_h = ws[0], kernel_w = ws[1];
  const int64_t out_h = ys[1], out_w = ys[2], patch = kernel_h * kernel_w * channels;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = (first_row + r) / out_h, oh = (first_row + r) % out_h;
    for (int64_t ow = 0; ow < out_w; ++ow) {
      float* out = col + (r * out_w + ow) * patch;
      for (int64_t kh = 0; kh < kernel_h; ++kh)
        for (int64_t kw = 0; kw < kernel_w; ++kw, out += channels) {
          const int64_t ih = oh - pad_top + kh, iw = ow - pad_left + kw;
          if (ih < 0 || ih >= height || iw < 0 || iw >= width) std::memset(out, 0, channels * sizeof(float));
          else std::memcpy(out, x + ((n * height + ih) * width + iw) * channels, channels * sizeof(float));
        }
    }
  }
}

// im2col + sgemm in L2-sized row blocks spread over the pool, OpenBLAS single-threaded per block.
void conv_openblas(ThreadPool& pool, const Tensor& x, const Tensor& w, const Tensor& y, int64_t pad_top, int64_t pad_left,
                   std::vector<std::vector<float>>& scratch) {
  const int64_t out_w = y.shape[2], out_c = y.shape[3], patch = w.shape[0] * w.shape[1] * w.shape[2];
  const int64_t total_rows = y.shape[0] * y.shape[1];
  const int64_t block_rows = std::clamp<int64_t>((256 * 1024) / (out_w * patch), 1, total_rows);
  const int64_t blocks = (total_rows + block_rows - 1) / block_rows;
  for (auto& buffer : scratch) buffer.resize(block_rows * out_w * patch);
  pool.parallel_for(blocks, [&](int64_t begin, int64_t end, int worker) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t first = block * block_rows, rows = std::min(block_rows, total_rows - first);
      im2col(x.f32(), x.shape, w.shape, y.shape, pad_top, pad_left, first, rows, scratch[worker].data());
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows * out_w, out_c, patch, 1.0f, scratch[worker].data(),
                  patch, w.f32(), out_c, 0.0f, y.f32() + first * out_w * out_c, out_c);
    }
  });
}

template <typename Fn>
double best_seconds(Fn&& fn, int repeats) {
  fn();  // warm up (JIT, page faults)
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, batch = 8;
  for (int k = 1; k + 1 < argc; k += 2) {
    if (std::string(argv[k]) == "--threads") threads = std::stoi(argv[k + 1]);
    if (std::string(argv[k]) == "--batch") batch = std::stoi(argv[k + 1]);
  }
  const Layer layers[] = {
      {"musicnn_timbral_7x38", {0, 193, 96, 1}, {7, 38, 1, 204}, Padding::valid},
      {"musicnn_timbral_7x67", {0, 193, 96, 1}, {7, 67, 1, 204}, Padding::valid},
      {"musicnn_temporal_128x1", {0, 187, 96, 1}, {128, 1, 1, 51}, Padding::same},
      {"musicnn_midend_7x561", {0, 193, 561, 1}, {7, 561, 1, 64}, Padding::valid},
      {"vgg_conv2_3x3x128", {0, 92, 48, 128}, {3, 3, 128, 128}, Padding::same},
  };
  std::printf("cores %u\nthreads %d\nbatch %d\n", std::thread::hardware_concurrency(), threads, batch);
  ThreadPool pool(threads);
  openblas_set_num_threads(1);
  omp_set_num_threads(threads);
  std::vector<std::vector<float>> scratch(pool.size());
  double total_flops = 0, onednn_seconds = 0, openblas_seconds = 0;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (const Layer& layer : layers) {
    Shape xs = layer.x;
    xs[0] = batch;
    std::vector<float> x(element_count(xs)), w(element_count(layer.w));
    for (float& v : x) v = uniform(rng);
    for (float& v : w) v = uniform(rng);
    const bool same = layer.padding == Padding::same;
    const Shape ys = {batch, same ? xs[1] : xs[1] - layer.w[0] + 1, same ? xs[2] : xs[2] - layer.w[1] + 1, layer.w[3]};
    const int64_t pad_top = same ? (layer.w[0] - 1) / 2 : 0, pad_left = same ? (layer.w[1] - 1) / 2 : 0;
    std::vector<float> y(element_count(ys));
    const Tensor xt{DType::f32, xs, x.data()}, wt{DType::f32, layer.w, w.data()}, yt{DType::f32, ys, y.data()};
    Conv2DParams params;
    params.pad_top = pad_top, params.pad_left = pad_left;
    const auto kernel = prepare_conv(xt, wt, ys, params);
    const double flops = 2.0 * element_count(ys) * layer.w[0] * layer.w[1] * layer.w[2];
    const double onednn = best_seconds([&] { run_conv(*kernel, xt, yt); }, 3);
    const double openblas = best_seconds([&] { conv_openblas(pool, xt, wt, yt, pad_top, pad_left, scratch); }, 3);
    std::printf("%s_onednn_gflops %.1f\n", layer.name, flops / onednn / 1e9);
    std::printf("%s_openblas_gflops %.1f\n", layer.name, flops / openblas / 1e9);
    std::printf("%s_onednn_impl %s\n", layer.name, conv_implementation(*kernel));
    total_flops += flops, onednn_seconds += onednn, openblas_seconds += openblas;
  }
  std::printf("all_layers_onednn_gflops %.1f\n", total_flops / onednn_seconds / 1e9);
  std::printf("all_layers_openblas_gflops %.1f\n", total_flops / openblas_seconds / 1e9);
  std::printf("ratio_onednn_vs_openblas %.2f\n", openblas_seconds / onednn_seconds);
  return 0;
}
