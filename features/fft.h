// features/fft.h — a small real-input FFT for the mel front end.
//
// Radix-2, double precision, one fixed power-of-two size per plan. A real signal of
// length N is transformed as an N/2-point complex FFT of the even/odd sample pairs plus
// one split pass (the standard "real FFT via half-size complex FFT" trick), so a
// 512-point frame costs one 256-point complex FFT.
//
//   RealFftPlan plan = make_real_fft_plan(512);
//   std::vector<double> re(257), im(257);
//   real_fft(plan, frame, re.data(), im.data());   // X[k] = sum_n x[n] e^{-2 pi i k n / N}
//
// Unnormalised forward transform; bins 0..N/2 inclusive (N/2+1 values).
#pragma once

#include <complex>
#include <vector>

namespace tagscape {

struct RealFftPlan {
  int size = 0;                                  // N, a power of two >= 4 (real input samples)
  std::vector<int> bit_reverse;                  // N/2 entries: permutation for the half-size FFT
  std::vector<std::complex<double>> twiddles;    // N/4 entries: e^{-2 pi i m / (N/2)}, m < N/4
  std::vector<std::complex<double>> split;       // N/2+1 entries: e^{-2 pi i k / N}, k <= N/2
};

// Precomputes tables for real transforms of `size` samples. Precondition: size is a
// power of two >= 4.
RealFftPlan make_real_fft_plan(int size);

// Forward FFT of `input` (plan.size reals). Writes plan.size/2+1 bins to re[] and im[].
// `scratch` must hold plan.size/2 complex values (reused to avoid allocation per call).
void real_fft(const RealFftPlan& plan, const double* input, double* re, double* im,
              std::complex<double>* scratch);

}  // namespace tagscape
