#include "features/mel.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>

// The filterbank must round exactly like the reference (WebAssembly, which has no fused
// multiply-add): keep the compiler from contracting a*b+c into FMAs in this file.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace tagscape {

namespace {

constexpr int frame_size = MusicnnInput::frame_size;
constexpr int hop_size = MusicnnInput::hop_size;
constexpr int band_count = MusicnnInput::bands;

// exp for float as the reference build computes it. essentia.js was compiled with an
// Emscripten musl whose expf is the classic fdlibm/FreeBSD one (argument reduction by
// k ln2 with a split ln2, then a degree-2 rational approximation); it is not correctly
// rounded, and glibc's expf (which is) puts 5 of the 98 band edges one ulp away, which
// shows as up to 1e-5 errors in the affected bands (e.g. band 33). Only used for the 98
// band edges, so speed does not matter. Precondition: 0 <= x < 88 (no overflow handling).
float fdlibm_expf(float x) {
  assert(x >= 0.0f && x < 88.0f);
  const float ln2_hi = 6.9314575195e-01f;  // ln 2, upper bits: k * ln2_hi is exact
  const float ln2_lo = 1.4286067653e-06f;  // ln 2 - ln2_hi
  const float inv_ln2 = 1.4426950216e+00f;
  const float p1 = 1.6666625440e-1f, p2 = -2.7667332906e-3f;
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  float hi = 0.0f, lo = 0.0f;
  int k = 0;
  if (bits > 0x3eb17218u) {      // x > ln2 / 2: reduce to x - k ln2
    if (bits < 0x3f851592u) {    // x < 1.5 ln2
      hi = x - ln2_hi;
      lo = ln2_lo;
      k = 1;
    } else {
      k = int(inv_ln2 * x + 0.5f);
      const float kf = float(k);
      hi = x - kf * ln2_hi;
      lo = kf * ln2_lo;
    }
    x = hi - lo;
  }
  const float t = x * x;
  const float c = x - t * (p1 + t * p2);
  if (k == 0) return 1.0f - ((x * c) / (c - 2.0f) - x);
  const float y = 1.0f - ((lo - (x * c) / (2.0f - c)) - hi);
  const uint32_t scale_bits = 0x3f800000u + (uint32_t(k) << 23);  // 2^k
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return y * scale;
}

// Slaney's Auditory Toolbox mel scale: linear below 1 kHz, logarithmic above, in float as
// Essentia's Real. ref: Essentia essentiamath.h hz2melSlaney / mel2hzSlaney.
constexpr float slaney_min_log_hz = 1000.0f;
constexpr float slaney_lin_slope = 3.0f / 200.0f;             // mel per Hz below 1 kHz
constexpr float slaney_min_log_mel = 1000.0f * 3.0f / 200.0f;  // 15 mel

float slaney_log_step() { return float(std::log(6.4) / 27.0); }  // ln(6.4) / 27 per mel

float hz_to_mel_slaney(float hz) {
  if (hz < slaney_min_log_hz) return hz * slaney_lin_slope;
  return slaney_min_log_mel + std::log(hz / slaney_min_log_hz) / slaney_log_step();
}

float mel_to_hz_slaney(float mel) {
  if (mel < slaney_min_log_mel) return mel / slaney_lin_slope;
  return slaney_min_log_hz * fdlibm_expf((mel - slaney_min_log_mel) * slaney_log_step());
}

// Band edges: bands + 2 frequencies equally spaced in mel from 0 Hz to Nyquist, accumulated
// the way Essentia does (melFreq += increment). ref: Essentia MelBands::calculateFilterFrequencies.
std::vector<float> mel_band_edges_hz() {
  const float low_mel = hz_to_mel_slaney(0.0f);
  const float high_mel = hz_to_mel_slaney(MusicnnInput::sample_rate_hz / 2.0f);
  const float increment = (high_mel - low_mel) / (band_count + 1);
  std::vector<float> edges(band_count + 2);
  float mel = low_mel;
  for (float& edge : edges) {
    edge = mel_to_hz_slaney(mel);
    mel += increment;
  }
  return edges;
}

// Triangles linear in Hz (weighting=linear), divided by the theoretical triangle area
// (normalize=unit_tri). ref: Essentia TriangularBands::createFilters.
std::vector<MelBand> make_mel_bands() {
  const std::vector<float> edges = mel_band_edges_hz();
  const float bin_hz = (MusicnnInput::sample_rate_hz / 2.0f) / (MusicnnInput::spectrum_bins - 1);
  std::vector<MelBand> bands(band_count);
  for (int b = 0; b < band_count; b++) {
    const float low = edges[b], centre = edges[b + 1], high = edges[b + 2];
    const float rise = centre - low, fall = high - centre;
    const int first = int(std::ceil(low / bin_hz));
    const int last = int(std::floor(high / bin_hz));
    assert(last < MusicnnInput::spectrum_bins);
    const float area = (rise + fall) / 2.0f;
    MelBand& band = bands[b];
    band.first_bin = first;
    for (int j = first; j <= last; j++) {
      const float bin_freq = j * bin_hz;
      const float weight = bin_freq < centre ? (bin_freq - low) / rise : (high - bin_freq) / fall;
      band.weights.push_back(double(weight / area));
    }
  }
  return bands;
}

}  // namespace

int64_t musicnn_frame_count(int64_t sample_count) {
  assert(sample_count >= 0);
  if (sample_count == 0) return 0;
  return (sample_count + hop_size - 1) / hop_size + 1;
}

MelTables make_mel_tables() {
  MelTables tables;
  tables.fft = make_real_fft_plan(frame_size);
  // Symmetric Hann computed in double, stored as float (Essentia's Real).
  // ref: Essentia Windowing::hann, normalized=false in TensorflowInputMusiCNN.
  for (int i = 0; i < frame_size; i++)
    tables.window[i] = float(0.5 - 0.5 * std::cos((2.0 * std::numbers::pi * i) / (frame_size - 1.0)));
  tables.bands = make_mel_bands();
  return tables;
}

void mel_frame(const MelTables& tables, const float* frame, float* bands_out, MelScratch& scratch) {
  // Window in float as Essentia does, with the zero-phase rotation (second half first).
  constexpr int half = frame_size / 2;
  for (int i = 0; i < frame_size; i++) {
    const int source = (i + half) % frame_size;
    scratch.windowed[i] = double(frame[source] * tables.window[source]);
  }
  real_fft(tables.fft, scratch.windowed.data(), scratch.re.data(), scratch.im.data(), scratch.fft);
  for (int k = 0; k < MusicnnInput::spectrum_bins; k++)
    scratch.power[k] = scratch.re[k] * scratch.re[k] + scratch.im[k] * scratch.im[k];
  for (int b = 0; b < band_count; b++) {
    const MelBand& band = tables.bands[b];
    const double* power = scratch.power.data() + band.first_bin;
    double energy = 0.0;
    for (size_t j = 0; j < band.weights.size(); j++) energy += power[j] * band.weights[j];
    bands_out[b] = float(std::log10(1.0 + 10000.0 * energy));
  }
}

std::vector<float> musicnn_mel(const float* samples, int64_t sample_count) {
  assert(sample_count >= 0);
  const int64_t frames = musicnn_frame_count(sample_count);
  const MelTables tables = make_mel_tables();
  MelScratch scratch;
  std::vector<float> mel(frames * band_count);
  std::array<float, frame_size> padded;
  for (int64_t i = 0; i < frames; i++) {
    const int64_t start = MusicnnInput::first_frame_start + i * hop_size;
    const float* frame = samples + start;
    if (start < 0 || start + frame_size > sample_count) {
      // Zero padding at either end of the signal. ref: Essentia FrameCutter.
      padded.fill(0.0f);
      const int64_t from = std::max<int64_t>(start, 0);
      const int64_t to = std::min<int64_t>(start + frame_size, sample_count);
      if (to > from) std::memcpy(padded.data() + (from - start), samples + from, (to - from) * sizeof(float));
      frame = padded.data();
    }
    mel_frame(tables, frame, mel.data() + i * band_count, scratch);
  }
  return mel;
}

MelStream::MelStream() : tables_(make_mel_tables()) {
  // Frame 0 starts 256 samples before the signal: those are zeros.
  frame_.fill(0.0f);
  frame_fill_ = -MusicnnInput::first_frame_start;
}

void MelStream::emit_frame(std::vector<float>& mel_out) {
  const size_t at = mel_out.size();
  mel_out.resize(at + band_count);
  mel_frame(tables_, frame_.data(), mel_out.data() + at, scratch_);
  frames_emitted_++;
  // The next frame starts one hop later: keep the overlapping half.
  std::memmove(frame_.data(), frame_.data() + hop_size, (frame_size - hop_size) * sizeof(float));
  frame_fill_ -= hop_size;
}

void MelStream::push(const float* samples, int64_t count, std::vector<float>& mel_out) {
  assert(!finished_ && count >= 0);
  while (count > 0) {
    const int take = int(std::min<int64_t>(count, frame_size - frame_fill_));
    std::memcpy(frame_.data() + frame_fill_, samples, take * sizeof(float));
    frame_fill_ += take;
    samples += take;
    count -= take;
    samples_pushed_ += take;
    if (frame_fill_ == frame_size) emit_frame(mel_out);
  }
}

void MelStream::finish(std::vector<float>& mel_out) {
  assert(!finished_);
  finished_ = true;
  const int64_t total = musicnn_frame_count(samples_pushed_);
  while (frames_emitted_ < total) {
    // Zero padding past the end of the signal.
    std::fill(frame_.begin() + std::max(frame_fill_, 0), frame_.end(), 0.0f);
    frame_fill_ = frame_size;
    emit_frame(mel_out);
  }
}

// ---- Patches ----

int64_t patch_count(int64_t frame_count, const PatchOptions& options) {
  assert(frame_count >= 0);
  assert(options.patch_frames > 0);
  assert(options.patch_hop_frames > 0 && options.patch_hop_frames <= options.patch_frames);
  const int64_t full = frame_count < options.patch_frames
                           ? 0
                           : (frame_count - options.patch_frames) / options.patch_hop_frames + 1;
  if (options.last_patch == LastPatchMode::discard) return full;
  // Repeat mode: one more patch if frames remain at the next patch start.
  // ref: Essentia VectorRealToTensor, lastPatchMode=repeat.
  return full * options.patch_hop_frames < frame_count ? full + 1 : full;
}

PatchSpan patch_span(int64_t frame_count, const PatchOptions& options, int64_t k) {
  assert(k >= 0 && k < patch_count(frame_count, options));
  PatchSpan span;
  span.start_frame = k * options.patch_hop_frames;
  span.real_frames = int(std::min<int64_t>(options.patch_frames, frame_count - span.start_frame));
  span.start_s = span.start_frame * MusicnnInput::frame_hop_s;
  span.end_s = (span.start_frame + span.real_frames) * MusicnnInput::frame_hop_s;
  return span;
}

void cut_patch(const float* mel, int64_t frame_count, const PatchOptions& options, int64_t k,
               float* patch_out) {
  const PatchSpan span = patch_span(frame_count, options, k);
  for (int row = 0; row < options.patch_frames; row++) {
    const int64_t frame = span.start_frame + row % span.real_frames;
    std::memcpy(patch_out + int64_t(row) * band_count, mel + frame * band_count, band_count * sizeof(float));
  }
}

std::vector<float> cut_patches(const float* mel, int64_t frame_count, const PatchOptions& options) {
  const int64_t count = patch_count(frame_count, options);
  const int64_t patch_values = int64_t(options.patch_frames) * band_count;
  std::vector<float> patches(count * patch_values);
  for (int64_t k = 0; k < count; k++) cut_patch(mel, frame_count, options, k, patches.data() + k * patch_values);
  return patches;
}

}  // namespace tagscape
