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
  plan.twiddles.resize(half / 2);
  for (int m = 0; m < half / 2; m++) plan.twiddles[m] = std::polar(1.0, -2.0 * std::numbers::pi * m / half);
  plan.split.resize(half + 1);
  for (int k = 0; k <= half; k++) plan.split[k] = std::polar(1.0, -2.0 * std::numbers::pi * k / size);
  return plan;
}

// In-place iterative radix-2 decimation-in-time FFT of `half` values already in
// bit-reversed order.
static void complex_fft_in_place(const RealFftPlan& plan, std::complex<double>* z) {
  const int half = plan.size / 2;
  for (int len = 2; len <= half; len *= 2) {
    const int stride = half / len;  // twiddle index step for this stage
    const int span = len / 2;
    for (int start = 0; start < half; start += len) {
      for (int j = 0; j < span; j++) {
        const std::complex<double> w = plan.twiddles[j * stride];
        const std::complex<double> a = z[start + j];
        const std::complex<double> b = z[start + j + span];
        // Written out to avoid std::complex's NaN/Inf-checking multiply.
        const double br = b.real() * w.real() - b.imag() * w.imag();
        const double bi = b.real() * w.imag() + b.imag() * w.real();
        z[start + j] = {a.real() + br, a.imag() + bi};
        z[start + j + span] = {a.real() - br, a.imag() - bi};
      }
    }
  }
}

void real_fft(const RealFftPlan& plan, const double* input, double* re, double* im,
              std::complex<double>* scratch) {
  const int half = plan.size / 2;
  // Pack even samples as real, odd samples as imaginary parts.
  for (int n = 0; n < half; n++) scratch[plan.bit_reverse[n]] = {input[2 * n], input[2 * n + 1]};
  complex_fft_in_place(plan, scratch);
  // Split: X[k] = E[k] + W^k O[k], with E/O the spectra of the even/odd samples,
  // E[k] = (Z[k] + conj Z[M-k]) / 2 and O[k] = -i (Z[k] - conj Z[M-k]) / 2, M = N/2.
  for (int k = 0; k <= half; k++) {
    const std::complex<double> a = scratch[k % half];
    const std::complex<double> b = std::conj(scratch[(half - k) % half]);
    const double er = 0.5 * (a.real() + b.real());
    const double ei = 0.5 * (a.imag() + b.imag());
    const double or_ = 0.5 * (a.imag() - b.imag());
    const double oi = -0.5 * (a.real() - b.real());
    const std::complex<double> w = plan.split[k];
    re[k] = er + (or_ * w.real() - oi * w.imag());
    im[k] = ei + (or_ * w.imag() + oi * w.real());
  }
}

}  // namespace tagscape
