#include "features/mel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>

#include "common/npy.h"

using namespace tagscape;

namespace {

const std::string joram_dir = TAGSCAPE_SHARED_DIR "/reference/joram/";

std::vector<float> joram_audio() { return read_npy(joram_dir + "audio_16k_mono.npy").data; }

// Essentia's standard FrameCutter loop (frameSize 512, hopSize 256, startFromZero=false,
// validFrameThresholdRatio=0), written out independently of features/: frames start at
// -256 and advance by 256; no frame once the start is at/after the end; a frame that
// needs right zero padding is the last one if its centre is at or past the end.
// ref: essentia/src/algorithms/standard/framecutter.cpp FrameCutter::compute
int64_t essentia_frame_cutter_count(int64_t n) {
  if (n == 0) return 0;  // empty buffer: no frame
  int64_t start = -256;
  int64_t frames = 0;
  for (;;) {
    if (start >= n) break;
    frames++;
    const int64_t copied_end = std::min<int64_t>(start + 512, n);
    const bool right_padded = copied_end < start + 512;
    if (right_padded && start + 512 / 2 >= n) break;
    start += 256;
  }
  return frames;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0.0f;
  for (size_t i = 0; i < a.size(); i++) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST(MelReference, MatchesEssentiaOnJoram) {
  const std::vector<float> audio = joram_audio();
  const NpyArray reference = read_npy(joram_dir + "mel_musicnn.npy");
  ASSERT_EQ(reference.shape, (std::vector<int64_t>{1822, 96}));

  const std::vector<float> mel = musicnn_mel(audio.data(), audio.size());
  EXPECT_EQ(musicnn_frame_count(audio.size()), 1822);
  ASSERT_EQ(mel.size(), reference.data.size());

  const float worst = max_abs_diff(mel, reference.data);
  double sum = 0.0;
  for (size_t i = 0; i < mel.size(); i++) sum += std::abs(mel[i] - reference.data[i]);
  std::printf("mel vs essentia.js reference: max |diff| %.3g, mean |diff| %.3g over %zu values\n", worst,
              sum / mel.size(), mel.size());
  // Measured 4.5e-6 max, 8.8e-8 mean: float rounding in the reference's FFT. With
  // correctly rounded expf band edges (not the reference's fdlibm expf) these were 1.1e-5
  // and 1.7e-7, so the bounds below also guard the filterbank reproduction.
  EXPECT_LE(worst, 1e-5f);
  EXPECT_LE(sum / mel.size(), 1.5e-7);
}

TEST(MelStream, MatchesOneShotUnderRandomChunking) {
  const std::vector<float> audio = joram_audio();
  const std::vector<float> one_shot = musicnn_mel(audio.data(), audio.size());
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 6; trial++) {
    // Trial 0: one sample at a time; others: mixed tiny, frame-sized and huge chunks.
    const int max_chunk = trial == 0 ? 1 : (trial % 2 ? 700 : 40000);
    std::uniform_int_distribution<int> chunk_size(0, max_chunk);
    MelStream stream;
    std::vector<float> streamed;
    size_t at = 0;
    while (at < audio.size()) {
      const size_t take = std::min<size_t>(trial == 0 ? 1 : chunk_size(rng), audio.size() - at);
      stream.push(audio.data() + at, take, streamed);
      at += take;
      // Frames appear as soon as they are complete, not only at finish().
      EXPECT_EQ(stream.frames_emitted(), at < 256 ? 0 : int64_t((at - 256) / 256 + 1));
    }
    stream.finish(streamed);
    EXPECT_EQ(stream.samples_pushed(), int64_t(audio.size()));
    EXPECT_EQ(stream.frames_emitted(), 1822);
    ASSERT_EQ(streamed.size(), one_shot.size()) << "trial " << trial;
    EXPECT_EQ(std::memcmp(streamed.data(), one_shot.data(), one_shot.size() * sizeof(float)), 0)
        << "trial " << trial << " is not bit-identical to the one-shot mel";
  }
}

TEST(MelFrameCount, FollowsEssentiaFrameCutterRule) {
  const std::vector<int64_t> lengths = {0,   1,   2,   255, 256,  257,  300,   511,    512,
                                        513, 767, 768, 769, 1024, 1025, 16000, 465984, 465985};
  for (int64_t n : lengths) {
    const int64_t expected = essentia_frame_cutter_count(n);
    EXPECT_EQ(musicnn_frame_count(n), expected) << "n = " << n;
  }
  // Known values worked out by hand from the rule: 1 sample -> frames at -256 and 0.
  EXPECT_EQ(musicnn_frame_count(1), 2);
  EXPECT_EQ(musicnn_frame_count(512), 3);
  EXPECT_EQ(musicnn_frame_count(0), 0);
}

TEST(MelFrameCount, OneShotAndStreamProduceThatManyFrames) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  for (int64_t n : {0, 1, 255, 256, 257, 512, 513, 3000}) {
    std::vector<float> signal(n);
    for (float& s : signal) s = noise(rng);
    const std::vector<float> mel = musicnn_mel(signal.data(), n);
    EXPECT_EQ(int64_t(mel.size()), essentia_frame_cutter_count(n) * 96) << "n = " << n;
    MelStream stream;
    std::vector<float> streamed;
    stream.push(signal.data(), n, streamed);
    stream.finish(streamed);
    EXPECT_EQ(streamed, mel) << "n = " << n;
  }
}

TEST(MelFrame, SilenceIsZeroAndSinePeaksInItsBand) {
  const MelTables tables = make_mel_tables();
  MelScratch scratch;
  std::vector<float> frame(512, 0.0f), bands(96);
  mel_frame(tables, frame.data(), bands.data(), scratch);
  for (float b : bands) EXPECT_EQ(b, 0.0f);  // log10(1 + 0)

  // A 1 kHz sine peaks in the band whose centre is nearest 1 kHz. Slaney mel is linear
  // (15 mel per kHz) up to 1 kHz and the 98 edges span 0..~45.25 mel, so band b is centred
  // at (b + 1) * 45.245 / 97 mel; 15 mel is b + 1 = 32.16, band 31.
  for (int i = 0; i < 512; i++) frame[i] = 0.5f * std::sin(2.0 * std::numbers::pi * 1000.0 * i / 16000.0);
  mel_frame(tables, frame.data(), bands.data(), scratch);
  EXPECT_EQ(std::max_element(bands.begin(), bands.end()) - bands.begin(), 31);
  EXPECT_GT(bands[31], 1.0f);
  EXPECT_LT(bands[80], 0.1f);
}

TEST(MelPatches, DiscardModeCountsAndTimes) {
  const PatchOptions options;  // 187 frames, hop 187, discard
  EXPECT_EQ(patch_count(1822, options), 9);  // 1822 / 187 = 9.74: the reference's 9 patches
  EXPECT_EQ(patch_count(187 * 2, options), 2);
  EXPECT_EQ(patch_count(187 * 2 - 1, options), 1);
  EXPECT_EQ(patch_count(0, options), 0);

  const PatchSpan third = patch_span(1822, options, 2);
  EXPECT_EQ(third.start_frame, 374);
  EXPECT_EQ(third.real_frames, 187);
  EXPECT_DOUBLE_EQ(third.start_s, 374 * 0.016);  // 5.984 s
  EXPECT_DOUBLE_EQ(third.end_s, 561 * 0.016);    // 8.976 s: where the next segment starts
  EXPECT_DOUBLE_EQ(patch_span(1822, options, 3).start_s, third.end_s);

  PatchOptions overlapping = options;
  overlapping.patch_hop_frames = 93;  // Essentia TensorflowPredictMusiCNN's own default
  // Starts 0, 93, ..., 1581 (1581 + 187 = 1768 <= 1822; 1674 + 187 > 1822).
  EXPECT_EQ(patch_count(1822, overlapping), 18);
  EXPECT_EQ(patch_span(1822, overlapping, 17).start_frame, 1581);
}

TEST(MelPatches, RepeatModePadsTheLastPartialPatch) {
  PatchOptions options;
  options.last_patch = LastPatchMode::repeat;
  EXPECT_EQ(patch_count(1822, options), 10);
  EXPECT_EQ(patch_count(187 * 2, options), 2);  // nothing left over: no extra patch
  EXPECT_EQ(patch_count(0, options), 0);

  const PatchSpan last = patch_span(1822, options, 9);
  EXPECT_EQ(last.start_frame, 1683);
  EXPECT_EQ(last.real_frames, 1822 - 1683);
  EXPECT_DOUBLE_EQ(last.end_s, 1822 * 0.016);

  // Rows of the padded patch cycle through the remaining frames from the patch start.
  const int64_t frames = 200;
  std::vector<float> mel(frames * 96);
  for (size_t i = 0; i < mel.size(); i++) mel[i] = float(i);
  std::vector<float> patch(187 * 96);
  cut_patch(mel.data(), frames, options, 1, patch.data());  // 13 real frames: 187..199
  for (int row = 0; row < 187; row++)
    EXPECT_EQ(patch[row * 96 + 5], mel[(187 + row % 13) * 96 + 5]) << "row " << row;
}

TEST(MelPatches, ShortTrackGivesOnePatchOnlyInRepeatMode) {
  // 2 s of real audio: 32000 samples -> 126 frames < 187.
  const std::vector<float> audio = joram_audio();
  const int64_t n = 32000;
  const std::vector<float> mel = musicnn_mel(audio.data(), n);
  const int64_t frames = mel.size() / 96;
  EXPECT_EQ(frames, 126);

  PatchOptions options;
  EXPECT_EQ(patch_count(frames, options), 0);
  EXPECT_TRUE(cut_patches(mel.data(), frames, options).empty());

  options.last_patch = LastPatchMode::repeat;
  ASSERT_EQ(patch_count(frames, options), 1);
  const PatchSpan span = patch_span(frames, options, 0);
  EXPECT_EQ(span.start_frame, 0);
  EXPECT_EQ(span.real_frames, 126);
  EXPECT_DOUBLE_EQ(span.start_s, 0.0);
  const std::vector<float> patches = cut_patches(mel.data(), frames, options);
  ASSERT_EQ(patches.size(), size_t(187 * 96));
  // Row 126 wraps to frame 0, row 186 is frame 60.
  EXPECT_EQ(std::memcmp(&patches[126 * 96], &mel[0], 96 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(&patches[186 * 96], &mel[60 * 96], 96 * sizeof(float)), 0);
}

TEST(MelPatches, PatchesMatchReferenceMelSlices) {
  // Patch k of the reference-sized mel is rows [187 k, 187 k + 187): check against the
  // reference array directly, so patch cutting and frame order agree with the models' input.
  const NpyArray reference = read_npy(joram_dir + "mel_musicnn.npy");
  const std::vector<float> patches = cut_patches(reference.data.data(), 1822, PatchOptions{});
  ASSERT_EQ(patches.size(), size_t(9 * 187 * 96));
  EXPECT_EQ(std::memcmp(&patches[4 * 187 * 96], &reference.data[4 * 187 * 96], 187 * 96 * sizeof(float)), 0);
}
