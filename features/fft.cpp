#include "features/fft.h"

#include <cassert>
#include <cmath>
#include <numbers>

namespace tagscape {

RealFftPlan make_real_fft_plan(int size) {
  assert(size >= 4 && (size & (size - 1)) == 0);
  RealFftPlan plan;
  plan.size = size;
  const int half = size / 2;
  int bits = 0;
  while ((1 << bits) < half) bits++;
  plan.bit_reverse.resize(half);
  for (int i = 0; i < half; i++) {
    int reversed = 0;
    for (int b = 0; b < bits; b++) reversed |= ((i >> b) & 1) << (bits - 1 - b);
    plan.bit_reverse[i] = reversed;
  }
  for (int len = 2; len <= half; len *= 2) {
    for (int j = 0; j < len / 2; j++) {
      const double angle = -2.0 * std::numbers::pi * j / len;
      plan.stage_cos.push_back(std::cos(angle));
      plan.stage_sin.push_back(std::sin(angle));
    }
  }
  for (int k = 0; k <= half; k++) {
    const double angle = -2.0 * std::numbers::pi * k / size;
    plan.split_cos.push_back(std::cos(angle));
    plan.split_sin.push_back(std::sin(angle));
  }
  return plan;
}

// In-place iterative radix-2 decimation-in-time FFT of `half` values already in
// bit-reversed order, real and imaginary parts in separate arrays.
static void complex_fft_in_place(const RealFftPlan& plan, double* __restrict re, double* __restrict im) {
  const int half = plan.size / 2;
  for (int len = 2; len <= half; len *= 2) {
    const int span = len / 2;
    const double* __restrict wr = plan.stage_cos.data() + (span - 1);
    const double* __restrict wi = plan.stage_sin.data() + (span - 1);
    for (int start = 0; start < half; start += len) {
      double* __restrict ar = re + start;
      double* __restrict ai = im + start;
      double* __restrict br = re + start + span;
      double* __restrict bi = im + start + span;
      for (int j = 0; j < span; j++) {
        const double tr = br[j] * wr[j] - bi[j] * wi[j];
        const double ti = br[j] * wi[j] + bi[j] * wr[j];
        br[j] = ar[j] - tr;
        bi[j] = ai[j] - ti;
        ar[j] += tr;
        ai[j] += ti;
      }
    }
  }
}

void real_fft(const RealFftPlan& plan, const double* input, double* re, double* im, RealFftScratch& scratch) {
  const int half = plan.size / 2;
  scratch.re.resize(half);
  scratch.im.resize(half);
  double* zr = scratch.re.data();
  double* zi = scratch.im.data();
  // Pack even samples as real, odd samples as imaginary parts.
  for (int n = 0; n < half; n++) {
    zr[plan.bit_reverse[n]] = input[2 * n];
    zi[plan.bit_reverse[n]] = input[2 * n + 1];
  }
  complex_fft_in_place(plan, zr, zi);
  // Split: X[k] = E[k] + W^k O[k], with E/O the spectra of the even/odd samples,
  // E[k] = (Z[k] + conj Z[M-k]) / 2 and O[k] = -i (Z[k] - conj Z[M-k]) / 2, M = N/2.
  for (int k = 0; k <= half; k++) {
    const int a = k == half ? 0 : k;
    const int b = k == 0 ? 0 : half - k;
    const double er = 0.5 * (zr[a] + zr[b]);
    const double ei = 0.5 * (zi[a] - zi[b]);
    const double or_ = 0.5 * (zi[a] + zi[b]);
    const double oi = -0.5 * (zr[a] - zr[b]);
    re[k] = er + (or_ * plan.split_cos[k] - oi * plan.split_sin[k]);
    im[k] = ei + (or_ * plan.split_sin[k] + oi * plan.split_cos[k]);
  }
}

}  // namespace tagscape
