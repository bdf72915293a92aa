// features/mel.h — the MusiCNN log-mel input, exactly as Essentia computes it.
//
// What goes in: mono float audio at 16 kHz (any amplitude; decoded PCM is in [-1, 1]).
// What comes out: mel frames [frames, 96] row-major float32, frame-major (frame i's 96
// bands are mel[i*96 .. i*96+95]), band 0 is the lowest frequency. This is the input of
// every model in ../shared/models (MusiCNN and VGG): they take patches [187, 96] of it.
//
// The recipe (ref: Essentia TensorflowPredictMusiCNN -> FrameCutter -> TensorflowInputMusiCNN,
// src/algorithms/spectral/tensorflowinputmusicnn.cpp):
//   1. Framing (FrameCutter, frameSize 512, hopSize 256, startFromZero=false): frame i covers
//      samples [-256 + 256 i, 256 + 256 i), zeros outside the signal. Frame i is *centred* on
//      sample 256 i, i.e. at time i * 16 ms. The last frame is the first one whose centre is at
//      or past the end of the signal, so a signal of n > 0 samples gives ceil(n / 256) + 1
//      frames, and 0 samples give 0 frames (see musicnn_frame_count).
//      Silent frames are kept as they are: Essentia's streaming FrameCutter would add -100 dB
//      noise to them (silentFrames="noise"); the reference pipeline (essentia.js, frames cut by
//      hand) does not. (Estimated effect of that noise: ~1e-4 at most in log10(1+1e4 x); not
//      measured.)
//   2. Windowing: symmetric Hann 0.5 - 0.5 cos(2 pi i / 511), *not* normalised
//      (TensorflowInputMusiCNN sets normalized=false), zero-phase rotation (does not change
//      the magnitude spectrum).
//   3. Spectrum: |FFT_512|, 257 bins 0..8000 Hz, 31.25 Hz apart.
//   4. MelBands: 96 triangular bands with edges equally spaced on the Slaney mel scale from
//      0 to 8000 Hz (warpingFormula=slaneyMel), triangles linear in Hz (weighting=linear),
//      each divided by its theoretical area (normalize=unit_tri), applied to the power
//      spectrum |X|^2 (type=power). Bin j belongs to band b if edge[b] <= 31.25 j <= edge[b+2].
//   5. log10(1 + 10000 * band)  (UnaryOperator shift=1 scale=10000, then log10).
// The window and filterbank are built in float exactly as Essentia (essentia.js) builds
// them, including its expf; steps 2-5 then run in double and round to float at the end.
// Against the essentia.js reference: max |diff| 4.5e-6, mean 8.8e-8 (tests/mel_test.cpp).
//
// Usage:
//   std::vector<float> mel = musicnn_mel(samples.data(), samples.size());   // one shot
//
//   MelStream stream;                      // or streaming, O(512) memory
//   std::vector<float> mel;
//   while (read chunk) stream.push(chunk, chunk_len, mel);   // appends complete frames
//   stream.finish(mel);                                        // the frames over the end
//
//   PatchOptions patches;                  // 187-frame segments (~3 s) for the models
//   for (int64_t k = 0; k < patch_count(frames, patches); k++) {
//     PatchSpan span = patch_span(frames, patches, k);        // frames and seconds
//     cut_patch(mel.data(), frames, patches, k, patch.data()); // [187, 96]
//   }
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "features/fft.h"

namespace tagscape {

// The fixed analysis parameters MusiCNN (and the VGG baselines) were trained with.
// ref: jordipons/musicnn-training config_file.py, hard-coded in Essentia.
struct MusicnnInput {
  static constexpr int sample_rate_hz = 16000;    // input audio rate
  static constexpr int frame_size = 512;          // samples per analysis frame (32 ms)
  static constexpr int hop_size = 256;            // samples between frame starts (16 ms)
  static constexpr int first_frame_start = -256;  // sample where frame 0 starts (-frame_size/2)
  static constexpr int spectrum_bins = 257;       // frame_size / 2 + 1
  static constexpr int bands = 96;                // mel bands per frame
  static constexpr int patch_frames = 187;        // frames per model input patch (2.992 s)
  static constexpr double frame_hop_s = double(hop_size) / sample_rate_hz;  // 0.016 s
};

// Frames Essentia's FrameCutter (startFromZero=false, validFrameThresholdRatio=0) cuts from
// a signal of `sample_count` samples: 0 for an empty signal, else ceil(n / 256) + 1.
// Precondition: sample_count >= 0.
int64_t musicnn_frame_count(int64_t sample_count);

// One mel band: a triangle over FFT bins first_bin .. first_bin + weights.size() - 1.
struct MelBand {
  int first_bin;                // lowest FFT bin with a (possibly zero) weight
  std::vector<double> weights;  // per-bin weight, unit_tri normalised (1 / Hz)
};

// Everything precomputed for the per-frame transform (built once, read-only afterwards).
struct MelTables {
  RealFftPlan fft;                                        // 512-point real FFT
  std::array<float, MusicnnInput::frame_size> window;     // Hann, as Essentia's float window
  std::vector<MelBand> bands;                             // 96 bands, low to high
};

MelTables make_mel_tables();

// Per-call working memory for mel_frame (kept apart so MelTables stays const/shareable).
struct MelScratch {
  std::array<double, MusicnnInput::frame_size> windowed;                 // rotated, windowed frame
  RealFftScratch fft;                                                    // FFT work buffer
  std::array<double, MusicnnInput::spectrum_bins> re, im, power;         // spectrum
};

// The 96 log-mel values of one 512-sample frame (already cut and zero padded).
void mel_frame(const MelTables& tables, const float* frame, float* bands_out, MelScratch& scratch);

// The whole mel of a signal: returns [musicnn_frame_count(sample_count), 96] row-major.
// Precondition: sample_count >= 0 (samples may be null when it is 0).
std::vector<float> musicnn_mel(const float* samples, int64_t sample_count);

// Streaming mel: push samples in chunks of any size, get the same frames as musicnn_mel on
// the concatenated signal, bit for bit. Keeps only the current 512-sample frame, so memory
// does not grow with the signal. Not thread-safe; one stream per signal.
struct MelStream {
  MelStream();

  // Appends to `mel_out` (96 floats per frame) every frame that lies entirely in the
  // samples pushed so far. Precondition: not finished; count >= 0.
  void push(const float* samples, int64_t count, std::vector<float>& mel_out);

  // Appends the remaining frames (those reaching past the end of the signal, per the
  // FrameCutter rule) and ends the stream. Afterwards frames_emitted() ==
  // musicnn_frame_count(samples_pushed()).
  void finish(std::vector<float>& mel_out);

  int64_t samples_pushed() const { return samples_pushed_; }
  int64_t frames_emitted() const { return frames_emitted_; }

 private:
  void emit_frame(std::vector<float>& mel_out);

  MelTables tables_;
  MelScratch scratch_;
  std::array<float, MusicnnInput::frame_size> frame_;  // samples of the next frame to emit
  int frame_fill_;             // valid samples at the front of frame_ (0..512)
  int64_t samples_pushed_ = 0;
  int64_t frames_emitted_ = 0;
  bool finished_ = false;
};

// ---- Patches: the model input segments ----
//
// Patch k covers mel frames [k * patch_hop_frames, k * patch_hop_frames + patch_frames).
// Time: frame i is centred at i * 16 ms, so a patch starting at frame p is reported as the
// segment [p * 16 ms, (p + frames) * 16 ms): with the default non-overlapping 187-frame
// patches, segment k is [2.992 k, 2.992 (k+1)) s and segments tile the track. (The audio
// that actually feeds the patch spans 16 ms more on the left, because frame p starts
// 256 samples before its centre.)

enum class LastPatchMode {
  discard,  // drop the frames after the last full patch (Essentia lastPatchMode=discard)
  repeat,   // make one more patch from the m < patch_frames remaining frames, repeated
            // cyclically: row r = remaining frame r % m (Essentia lastPatchMode=repeat,
            // ref: VectorRealToTensor). A track shorter than one patch then gives 1 patch.
};

struct PatchOptions {
  int patch_frames = MusicnnInput::patch_frames;      // rows per patch, > 0
  int patch_hop_frames = MusicnnInput::patch_frames;  // frames between patch starts, 1..patch_frames
  LastPatchMode last_patch = LastPatchMode::discard;
};

struct PatchSpan {
  int64_t start_frame;  // first mel frame of the patch
  int real_frames;      // frames taken from the track (< patch_frames only for a repeated last patch)
  double start_s;       // start_frame * 0.016: centre of the first frame
  double end_s;         // (start_frame + real_frames) * 0.016
};

// Number of patches for `frame_count` mel frames. Precondition: frame_count >= 0.
int64_t patch_count(int64_t frame_count, const PatchOptions& options);

// Where patch k sits. Precondition: 0 <= k < patch_count(frame_count, options).
PatchSpan patch_span(int64_t frame_count, const PatchOptions& options, int64_t k);

// Copies patch k of `mel` [frame_count, 96] to `patch_out` [patch_frames, 96].
void cut_patch(const float* mel, int64_t frame_count, const PatchOptions& options, int64_t k,
               float* patch_out);

// All patches: [patch_count, patch_frames, 96] row-major.
std::vector<float> cut_patches(const float* mel, int64_t frame_count, const PatchOptions& options);

}  // namespace tagscape
