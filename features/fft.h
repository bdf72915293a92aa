// features/fft.h — a small real-input FFT for the mel front end.
//
// Radix-2, double precision, one fixed power-of-two size per plan. A real signal of
// length N is transformed as an N/2-point complex FFT of the even/odd sample pairs plus
// one split pass (the standard "real FFT via half-size complex FFT" trick), so a
// 512-point frame costs one 256-point complex FFT.
//
//   RealFftPlan plan = make_real_fft_plan(512);
//   std::vector<double> re(257), im(257);
//   RealFftScratch scratch;
//   real_fft(plan, frame, re.data(), im.data(), scratch);   // X[k] = sum_n x[n] e^{-2 pi i k n / N}
//
// Unnormalised forward transform; bins 0..N/2 inclusive (N/2+1 values).
#pragma once

#include <vector>

namespace tagscape {

struct RealFftPlan {
  int size = 0;                      // N, a power of two >= 4 (real input samples)
  std::vector<int> bit_reverse;      // N/2 entries: permutation for the half-size FFT
  // Twiddles of every butterfly stage laid out one stage after another, so the inner
  // loop reads them contiguously (and vectorises): the stage of length L (2, 4, .., N/2)
  // holds e^{-2 pi i j / L} for j < L/2, starting at offset L/2 - 1.
  std::vector<double> stage_cos, stage_sin;  // N/2 - 1 entries each
  std::vector<double> split_cos, split_sin;  // N/2 + 1 entries: e^{-2 pi i k / N}, k <= N/2
};

// Working memory for real_fft: the half-size complex signal as separate real/imaginary arrays.
struct RealFftScratch {
  std::vector<double> re, im;  // N/2 entries each
};

// Precomputes tables for real transforms of `size` samples. Precondition: size is a
// power of two >= 4.
RealFftPlan make_real_fft_plan(int size);

// Forward FFT of `input` (plan.size reals). Writes plan.size/2+1 bins to re[] and im[].
// `scratch` is resized on first use and reused, so repeated calls allocate nothing.
void real_fft(const RealFftPlan& plan, const double* input, double* re, double* im, RealFftScratch& scratch);

}  // namespace tagscape
