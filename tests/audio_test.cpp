// tests/audio_test.cpp — audio/decode.h against real files made by the ffmpeg CLI.
//
// Test files are generated at test time into a per-process temp dir, from the joram
// clip in ../shared and from lavfi sources (sine, aevalsrc). Expected values come from
// the signal definitions (a 1 kHz sine of amplitude 0.5, a click at sample 44100) and
// from the reference decode in ../shared/reference, never from our own output.
#include "audio/decode.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <thread>

#include "common/error.h"
#include "common/npy.h"

using namespace tagscape;
namespace fs = std::filesystem;

namespace {

const std::string kJoramMp3 = TAGSCAPE_SHARED_DIR "/audio/joram-moments_of_clarity-08-solipsism-59-88.mp3";
const std::string kJoramReference = TAGSCAPE_SHARED_DIR "/reference/joram/audio_16k_mono.npy";
constexpr int64_t kJoramSamples = 465984;  // length of the reference decode

// A temp dir for this test process, removed at exit.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("tagscape_audio_test_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

const fs::path& temp_dir() {
  static TempDir dir;
  return dir.path;
}

// Runs the ffmpeg CLI; returns false on failure.
bool run_ffmpeg(const std::string& arguments) {
  const std::string command = "ffmpeg -nostdin -v error -y " + arguments + " 2>&1";
  return std::system(command.c_str()) == 0;
}

// `name` in the temp dir, made once per process by `ffmpeg <input_arguments> <path>`.
std::string generated(const std::string& name, const std::string& input_arguments) {
  const fs::path path = temp_dir() / name;
  if (!fs::exists(path)) {
    if (!run_ffmpeg(input_arguments + " '" + path.string() + "'")) {
      throw std::runtime_error("ffmpeg could not make " + path.string());
    }
  }
  return path.string();
}

std::string from_joram(const std::string& name, const std::string& output_arguments) {
  return generated(name, "-i '" + kJoramMp3 + "' " + output_arguments);
}

// Synthetic sources: ffmpeg lavfi expressions.
std::string from_lavfi(const std::string& name, const std::string& source, const std::string& output_arguments) {
  return generated(name, "-f lavfi -i \"" + source + "\" " + output_arguments);
}

// The 44.1 kHz 1 kHz sine of amplitude 0.5, 3 s.
std::string sine_1k_44k(const std::string& name, const std::string& output_arguments) {
  return from_lavfi(name, "aevalsrc=0.5*sin(2*PI*1000*t):s=44100:d=3", output_arguments);
}

float max_abs_difference(std::span<const float> a, std::span<const float> b) {
  float largest = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  return largest;
}

// 10 log10(signal power / error power) of `test` against `reference`, over the common length.
double snr_db(std::span<const float> reference, std::span<const float> test) {
  double signal = 0, error = 0;
  for (size_t i = 0; i < std::min(reference.size(), test.size()); ++i) {
    signal += double(reference[i]) * reference[i];
    error += (double(test[i]) - reference[i]) * (double(test[i]) - reference[i]);
  }
  return 10 * std::log10(signal / std::max(error, 1e-30));
}

// Amplitude of the `frequency_hz` component of x[begin, end) (a DFT bin, 16 kHz).
double amplitude_at(std::span<const float> x, double frequency_hz, size_t begin, size_t end) {
  std::complex<double> sum = 0;
  for (size_t n = begin; n < end; ++n) {
    sum += double(x[n]) * std::polar(1.0, -2 * std::numbers::pi * frequency_hz * n / kAnalysisSampleRateHz);
  }
  return 2 * std::abs(sum) / double(end - begin);
}

size_t peak_index(std::span<const float> x) {
  return size_t(std::max_element(x.begin(), x.end(), [](float a, float b) { return std::abs(a) < std::abs(b); }) -
                x.begin());
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

std::vector<float> read_f32(const fs::path& path) {
  std::vector<float> samples(fs::file_size(path) / sizeof(float));
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(samples.data()),
                                             std::streamsize(samples.size() * sizeof(float)));
  return samples;
}

// The same decode made by the ffmpeg CLI: pan to the channel mean, then the reference
// resampler settings. An independent implementation of the whole chain for one file.
std::vector<float> ffmpeg_cli_decode(const std::string& path, int channels) {
  std::string mean = "pan=mono|c0=";
  for (int c = 0; c < channels; ++c) mean += (c ? "+" : "") + std::to_string(1.0 / channels) + "*c" + std::to_string(c);
  const fs::path output = temp_dir() / (fs::path(path).filename().string() + ".cli.f32");
  if (!run_ffmpeg("-i '" + path + "' -af '" + mean + ",aresample=16000:resampler=soxr:precision=28' -f f32le '" +
                  output.string() + "'")) {
    throw std::runtime_error("ffmpeg could not decode " + path);
  }
  return read_f32(output);
}

const std::vector<float>& joram_reference() {
  static const std::vector<float> samples = read_npy(kJoramReference).data;
  return samples;
}

}  // namespace

// ---------------------------------------------------------------------------------
// The reference decode.

TEST(AudioReference, JoramMp3MatchesReferenceDecodeExactly) {
  const DecodedAudio audio = decode_audio(kJoramMp3);
  const std::vector<float>& reference = joram_reference();
  ASSERT_EQ(reference.size(), size_t(kJoramSamples));
  ASSERT_EQ(audio.samples.size(), reference.size());
  EXPECT_EQ(max_abs_difference(audio.samples, reference), 0.0f);
  EXPECT_EQ(audio.info.format_name, "mp3");
  EXPECT_EQ(audio.info.codec_name, "mp3");
  EXPECT_EQ(audio.info.source_sample_rate_hz, 16000);
  EXPECT_EQ(audio.info.source_channels, 1);
  EXPECT_NEAR(audio.info.container_duration_s, 29.156, 0.001);  // ffprobe's bitrate estimate
  EXPECT_DOUBLE_EQ(audio.info.decoded_duration_s, kJoramSamples / 16000.0);
  EXPECT_TRUE(audio.info.warnings.empty()) << joined(audio.info.warnings);
}

// ---------------------------------------------------------------------------------
// Formats: the joram clip re-encoded, decoded back and compared with the reference.

struct FormatCase {
  std::string file;
  std::string ffmpeg_output_arguments;
  std::string codec_name;
  int source_rate_hz;
  int channels;
  int64_t extra_samples_allowed;  // decoded length may exceed the source by up to this
  double min_snr_db;              // against the reference decode, sample-aligned
};

class AudioFormats : public testing::TestWithParam<FormatCase> {};

TEST_P(AudioFormats, DecodesJoramLikeTheFfmpegCliAndAlignedWithTheReference) {
  const FormatCase& format = GetParam();
  const std::string path = from_joram(format.file, format.ffmpeg_output_arguments);
  const DecodedAudio audio = decode_audio(path);
  EXPECT_EQ(audio.info.codec_name, format.codec_name);
  EXPECT_EQ(audio.info.source_sample_rate_hz, format.source_rate_hz);
  EXPECT_EQ(audio.info.source_channels, format.channels);
  EXPECT_TRUE(audio.info.warnings.empty()) << joined(audio.info.warnings);
  const int64_t length = int64_t(audio.samples.size());
  EXPECT_GE(length, kJoramSamples);
  EXPECT_LE(length, kJoramSamples + format.extra_samples_allowed);

  const std::vector<float> cli = ffmpeg_cli_decode(path, format.channels);
  EXPECT_EQ(audio.samples.size(), cli.size());
  EXPECT_LE(max_abs_difference(audio.samples, cli), 1e-6f);

  // Gapless trimming and delay-free resampling keep the signal sample-aligned with the
  // source; a shift of one sample costs the lossless 16 kHz files > 60 dB and the
  // 44.1 kHz round trips 4.5 dB (measured 10.7 dB at lag 0, 6.2 dB at lag ±1: the
  // round trip through two resamplers removes the band near 8 kHz).
  const double snr = snr_db(joram_reference(), audio.samples);
  EXPECT_GE(snr, format.min_snr_db);
  std::printf("%s: %lld samples (%+lld), SNR %.1f dB against the reference\n", format.file.c_str(),
              static_cast<long long>(length), static_cast<long long>(length - kJoramSamples), snr);
}

// Length: lossless formats, Vorbis and Opus (granule positions + pre-skip) and LAME
// mp3 (LAME tag delay/padding) are gapless, so exact. AAC in mp4 from FFmpeg 5.1
// trims the priming via the edit list but keeps the last frame's padding: < 1024
// samples at the source rate. Resampled sources (44.1 kHz) may end on a fractional
// 16 kHz sample: +1. SNR bounds are measured values minus a margin: lossless s16
// 84 dB, flac 127 dB, lossy codecs 18–32 dB at these bitrates, 44.1 kHz round trips 10–10.7 dB.
INSTANTIATE_TEST_SUITE_P(
    Joram, AudioFormats,
    testing::Values(
        FormatCase{"j16.wav", "-c:a pcm_s16le", "pcm_s16le", 16000, 1, 0, 75},
        FormatCase{"j16.flac", "-c:a flac", "flac", 16000, 1, 0, 75},
        FormatCase{"j16.mp3", "-c:a libmp3lame -b:a 128k", "mp3", 16000, 1, 0, 20},
        FormatCase{"j16.ogg", "-c:a libvorbis", "vorbis", 16000, 1, 0, 15},
        FormatCase{"j48.opus", "-c:a libopus -b:a 96k", "opus", 48000, 1, 0, 25},
        FormatCase{"j16.m4a", "-c:a aac -b:a 128k", "aac", 16000, 1, 1024, 25},
        FormatCase{"j44s16.wav", "-ar 44100 -ac 2 -c:a pcm_s16le", "pcm_s16le", 44100, 2, 1, 9},
        FormatCase{"j44f32.wav", "-ar 44100 -ac 2 -c:a pcm_f32le", "pcm_f32le", 44100, 2, 1, 9},
        FormatCase{"j44.mp3", "-ar 44100 -ac 2 -c:a libmp3lame -b:a 192k", "mp3", 44100, 2, 1, 9},
        FormatCase{"j44.m4a", "-ar 44100 -ac 2 -c:a aac -b:a 192k", "aac", 44100, 2, 1024 * 16000 / 44100 + 1, 9}),
    [](const testing::TestParamInfo<FormatCase>& info) {
      std::string name = info.param.file;
      std::replace(name.begin(), name.end(), '.', '_');
      return name;
    });

// A minimal ProTracker module: one pattern of 64 rows, a square-wave sample played at
// Amiga period 428 in row 0. Tracker formats reach FFmpeg through libopenmpt.
std::string write_tracker_module(const std::string& name) {
  std::string module(20, '\0');
  module.replace(0, 13, "tagscape test");
  auto append_u16_be = [&](int value) { module += char(value >> 8), module += char(value & 0xFF); };
  for (int sample = 0; sample < 31; ++sample) {
    module += std::string(22, '\0');                  // name
    append_u16_be(sample == 0 ? 16 : 0);              // length in words
    module += '\0';                                  // finetune
    module += char(sample == 0 ? 64 : 0);             // volume
    append_u16_be(0);                                 // loop start in words
    append_u16_be(sample == 0 ? 16 : 1);              // loop length in words
  }
  module += char(1);                                  // song length: one order
  module += char(127);
  module += std::string(128, '\0');                   // order table: pattern 0
  module += "M.K.";
  std::string pattern(1024, '\0');                    // 64 rows x 4 channels x 4 bytes
  const int period = 428, sample = 1;
  pattern[0] = char((sample & 0xF0) | (period >> 8));
  pattern[1] = char(period & 0xFF);
  pattern[2] = char((sample & 0x0F) << 4);
  module += pattern;
  module += std::string(16, char(100)) + std::string(16, char(-100));  // signed 8-bit square, 32 samples
  const fs::path path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << module;
  return path.string();
}

TEST(AudioTracker, ProTrackerModuleDecodesThroughLibopenmpt) {
  const DecodedAudio audio = decode_audio(write_tracker_module("square.mod"));
  EXPECT_EQ(audio.info.format_name, "libopenmpt");
  EXPECT_EQ(audio.info.source_sample_rate_hz, 48000);  // libopenmpt renders at 48 kHz stereo
  EXPECT_EQ(audio.info.source_channels, 2);
  // 64 rows at speed 6, 125 BPM: 64 * 6 * 0.02 s = 7.68 s (libopenmpt renders ~0.1 s more).
  EXPECT_NEAR(audio.info.container_duration_s, 7.68, 1e-3);
  EXPECT_NEAR(audio.info.decoded_duration_s, 7.68, 0.2);
  // The 32-sample loop at period 428: PAL clock 7093789.2 / (2 * 428) / 32 = 258.98 Hz.
  const double fundamental = amplitude_at(audio.samples, 258.98, 16000, 32000);
  EXPECT_GT(fundamental, 0.02);
  EXPECT_GT(fundamental, 5 * amplitude_at(audio.samples, 300, 16000, 32000));
}

TEST(AudioTracker, RangeOfModuleEqualsSliceOfFullDecode) {
  // libopenmpt's seek would drop the note triggered in row 0; ranges must still match.
  const std::string path = write_tracker_module("square_range.mod");
  const DecodedAudio full = decode_audio(path);
  const DecodedAudio part = decode_audio_range(path, 2.5, 4.25);
  ASSERT_EQ(part.samples.size(), 28000u);
  EXPECT_EQ(max_abs_difference(part.samples, std::span(full.samples).subspan(40000, 28000)), 0.0f);
  EXPECT_GT(amplitude_at(part.samples, 258.98, 0, 16000), 0.02);
}

// A 16 kHz source is not filtered: s16 samples come out as exact multiples of 1/32768.
TEST(AudioResample, SixteenKilohertzS16PassesThroughUnfiltered) {
  const DecodedAudio audio = decode_audio(from_joram("j16.wav", "-c:a pcm_s16le"));
  ASSERT_EQ(audio.samples.size(), size_t(kJoramSamples));
  size_t off_grid = 0;
  for (float sample : audio.samples) off_grid += (sample * 32768.0f != std::round(sample * 32768.0f));
  EXPECT_EQ(off_grid, 0u);
  // ...and they are the reference quantised to 16 bits (ffmpeg rounds to nearest).
  EXPECT_LE(max_abs_difference(audio.samples, joram_reference()), 1.0f / 32768);
}

// ---------------------------------------------------------------------------------
// Mono mix.

TEST(AudioMix, LeftOnlyToneDecodesAtHalfAmplitude) {
  const std::string path = from_lavfi("left_only.wav", "aevalsrc=0.8*sin(2*PI*440*t)|0:s=44100:d=2", "-c:a pcm_f32le");
  const DecodedAudio audio = decode_audio(path);
  EXPECT_EQ(audio.info.source_channels, 2);
  ASSERT_EQ(audio.samples.size(), 32000u);
  // 440 Hz fits 22 whole periods in 0.05 s = 800 samples; measure over 1.5 s of steady state.
  EXPECT_NEAR(amplitude_at(audio.samples, 440, 4000, 28000), 0.4, 0.002);
}

TEST(AudioMix, SixChannelsMixAsTheirMean) {
  // A tone only in the LFE channel (4th of 5.1): FFmpeg's own downmix would drop or
  // weight it; the mean gives amplitude 0.6 / 6.
  const std::string path =
      from_lavfi("lfe_only.wav", "aevalsrc=0|0|0|0.6*sin(2*PI*440*t)|0|0:c=5.1:s=48000:d=2", "-c:a pcm_f32le");
  const DecodedAudio audio = decode_audio(path);
  EXPECT_EQ(audio.info.source_channels, 6);
  ASSERT_EQ(audio.samples.size(), 32000u);
  EXPECT_NEAR(amplitude_at(audio.samples, 440, 4000, 28000), 0.1, 0.001);
}

TEST(AudioMix, OppositeChannelsCancel) {
  const std::string path =
      from_lavfi("opposite.wav", "aevalsrc=0.5*sin(2*PI*440*t)|-0.5*sin(2*PI*440*t):s=44100:d=1", "-c:a pcm_f32le");
  const DecodedAudio audio = decode_audio(path);
  ASSERT_EQ(audio.samples.size(), 16000u);
  EXPECT_LT(*std::max_element(audio.samples.begin(), audio.samples.end()), 1e-6f);
}

// ---------------------------------------------------------------------------------
// Resampling 44.1 kHz -> 16 kHz.

TEST(AudioResample, SineKeepsFrequencyAndAmplitude) {
  const DecodedAudio audio = decode_audio(sine_1k_44k("sine1k.wav", "-c:a pcm_f32le"));
  ASSERT_EQ(audio.samples.size(), 48000u);
  EXPECT_EQ(audio.info.source_sample_rate_hz, 44100);
  // Amplitude of the 1 kHz bin, and next to nothing in the bins beside it.
  EXPECT_NEAR(amplitude_at(audio.samples, 1000, 8000, 40000), 0.5, 0.0015);
  EXPECT_LT(amplitude_at(audio.samples, 990, 8000, 40000), 0.001);
  EXPECT_LT(amplitude_at(audio.samples, 1010, 8000, 40000), 0.001);
  // Phase: the source is sin(2π·1000·t) from t = 0, so sample n must be 0.5·sin(2π·1000·n/16000).
  double largest_error = 0;
  for (size_t n = 100; n < 47900; ++n) {
    const double expected = 0.5 * std::sin(2 * std::numbers::pi * 1000 * double(n) / 16000);
    largest_error = std::max(largest_error, std::abs(audio.samples[n] - expected));
  }
  EXPECT_LT(largest_error, 0.002) << "a shift of one 16 kHz sample would give an error of 0.19";
}

TEST(AudioResample, MatchesFfmpegSoxrPrecision28) {
  // Mono input, so ffmpeg's channel handling does not enter: this checks the resampler setup.
  const std::string source = sine_1k_44k("sine1k_mono.flac", "-c:a flac");
  const fs::path expected_path = temp_dir() / "sine1k_mono.f32";
  ASSERT_TRUE(run_ffmpeg("-i '" + source + "' -af aresample=16000:resampler=soxr:precision=28 -f f32le '" +
                         expected_path.string() + "'"));
  const std::vector<float> expected = read_f32(expected_path);
  const DecodedAudio audio = decode_audio(source);
  ASSERT_EQ(audio.samples.size(), expected.size());
  EXPECT_LE(max_abs_difference(audio.samples, expected), 1e-6f);
}

// A one-sample click at 44.1 kHz sample `click_at` (time click_at / 44100 s) must peak
// at 16 kHz sample round(time * 16000): the resampler delay is compensated.
void expect_click_at_its_time(const std::string& path, int click_at, int tolerance_samples) {
  const DecodedAudio audio = decode_audio(path);
  const double expected = click_at * 16000.0 / 44100.0;
  EXPECT_NEAR(double(peak_index(audio.samples)), expected, tolerance_samples) << path;
}

TEST(AudioResample, ClickStaysAtItsTime) {
  // On a shared grid point (1.0 s = 16 kHz sample 16000) and off the grid (0.68 s).
  const char* click_1s = "aevalsrc=if(eq(n\\,44100)\\,0.9\\,0):s=44100:d=2";
  const char* click_off_grid = "aevalsrc=if(eq(n\\,30001)\\,0.9\\,0):s=44100:d=2";
  expect_click_at_its_time(from_lavfi("click_1s.wav", click_1s, "-c:a pcm_f32le"), 44100, 0);
  expect_click_at_its_time(from_lavfi("click_off.wav", click_off_grid, "-c:a pcm_f32le"), 30001, 1);
  // Through lossy codecs with encoder delay, which the decoder must remove.
  expect_click_at_its_time(from_lavfi("click_1s.mp3", click_1s, "-ac 2 -c:a libmp3lame -b:a 192k"), 44100, 2);
  expect_click_at_its_time(from_lavfi("click_1s.ogg", click_1s, "-c:a libvorbis"), 44100, 2);
  expect_click_at_its_time(from_lavfi("click_1s.opus", click_1s, "-c:a libopus -b:a 128k"), 44100, 2);
  expect_click_at_its_time(from_lavfi("click_1s.m4a", click_1s, "-c:a aac -b:a 192k"), 44100, 2);
}

// ---------------------------------------------------------------------------------
// Streaming.

TEST(AudioStreaming, DeliversTheSamplesOfTheWholeFileDecode) {
  const std::string path = from_joram("j44.mp3", "-ar 44100 -ac 2 -c:a libmp3lame -b:a 192k");
  std::vector<float> streamed;
  size_t chunks = 0;
  const AudioInfo info = decode_audio_stream(path, [&](std::span<const float> chunk) {
    EXPECT_GE(chunk.size(), 1u);
    EXPECT_LE(chunk.size(), kMaxChunkSamples);
    streamed.insert(streamed.end(), chunk.begin(), chunk.end());
    chunks++;
  });
  const DecodedAudio whole = decode_audio(path);
  EXPECT_EQ(streamed, whole.samples);
  EXPECT_GT(chunks, 100u);
  EXPECT_DOUBLE_EQ(info.decoded_duration_s, whole.samples.size() / 16000.0);
}

TEST(AudioStreaming, ChunkSizeDoesNotGrowWithFileLength) {
  // 10 s and 10 min of 44.1 kHz stereo: the largest chunk (and with it the decoder's
  // working buffers) is the same; only the count of chunks grows.
  const char* source = "sine=frequency=440:sample_rate=44100";
  const std::string short_file = from_lavfi("short.flac", std::string(source) + ":duration=10", "-ac 2 -c:a flac");
  const std::string long_file = from_lavfi("long.flac", std::string(source) + ":duration=600", "-ac 2 -c:a flac");
  auto largest_chunk = [](const std::string& path, int64_t& total) {
    size_t largest = 0;
    total = 0;
    decode_audio_stream(path, [&](std::span<const float> chunk) {
      largest = std::max(largest, chunk.size());
      total += int64_t(chunk.size());
    });
    return largest;
  };
  int64_t short_total = 0, long_total = 0;
  const size_t short_largest = largest_chunk(short_file, short_total);
  const size_t long_largest = largest_chunk(long_file, long_total);
  EXPECT_EQ(short_total, 10 * 16000);
  EXPECT_EQ(long_total, 600 * 16000);
  EXPECT_LE(long_largest, kMaxChunkSamples);
  EXPECT_EQ(long_largest, short_largest);
}

TEST(AudioStreaming, SinkExceptionStopsTheDecode) {
  size_t calls = 0;
  EXPECT_THROW(decode_audio_stream(kJoramMp3,
                                   [&](std::span<const float>) {
                                     if (++calls == 3) throw std::runtime_error("enough");
                                   }),
               std::runtime_error);
  EXPECT_EQ(calls, 3u);
}

// ---------------------------------------------------------------------------------
// Ranges: decode_audio_range must equal slicing decode_audio.

struct RangeCase {
  std::string file;
  std::string ffmpeg_output_arguments;
  float tolerance;  // max |Δ| against the slice of the full decode
};

class AudioRange : public testing::TestWithParam<RangeCase> {};

TEST_P(AudioRange, EqualsSliceOfFullDecode) {
  const RangeCase& range = GetParam();
  const std::string path = range.file.empty() ? kJoramMp3 : from_joram(range.file, range.ffmpeg_output_arguments);
  const DecodedAudio full = decode_audio(path);
  for (const auto& [start_s, end_s] : std::vector<std::pair<double, double>>{{0.3, 1.7}, {10.3, 12.7}, {21.23456, 21.5}}) {
    const DecodedAudio part = decode_audio_range(path, start_s, end_s);
    const size_t first = size_t(std::llround(start_s * 16000)), end = size_t(std::llround(end_s * 16000));
    ASSERT_EQ(part.samples.size(), end - first) << start_s;
    const std::span<const float> slice(full.samples.data() + first, end - first);
    const float difference = max_abs_difference(part.samples, slice);
    EXPECT_LE(difference, range.tolerance) << range.file << " [" << start_s << ", " << end_s << ")";
    EXPECT_TRUE(part.info.warnings.empty()) << joined(part.info.warnings);
    std::printf("%s [%g, %g): max |delta| %g\n", path.c_str(), start_s, end_s, difference);
  }
}

// Measured: max |Δ| = 0 for every case, mp3 included (FFmpeg 5.1's mp3 demuxer gives
// sample-exact timestamps after a seek on these files, and the 1 s pre-roll refills the
// bit reservoir, the MDCT overlap and the resampler's history). The tolerance of 1e-6
// leaves room for float rounding of a resampler started at another block phase.
INSTANTIATE_TEST_SUITE_P(
    Formats, AudioRange,
    testing::Values(RangeCase{"", "", 1e-6f},  // the joram mp3 (CBR, no Xing header)
                    RangeCase{"j16.wav", "-c:a pcm_s16le", 0},
                    RangeCase{"j16.flac", "-c:a flac", 0},
                    RangeCase{"j16.mp3", "-c:a libmp3lame -b:a 128k", 1e-6f},
                    RangeCase{"j16.ogg", "-c:a libvorbis", 1e-6f},
                    RangeCase{"j48.opus", "-c:a libopus -b:a 96k", 1e-6f},
                    // FFmpeg's AAC encoder uses perceptual noise substitution by default, which
                    // the decoder fills from a random generator whose state depends on where
                    // decoding began: with PNS, ranges differ in noise bands (measured max
                    // |Δ| 0.11), without it they are exact.
                    RangeCase{"j16_nopns.m4a", "-c:a aac -b:a 128k -aac_pns 0", 1e-6f},
                    RangeCase{"j44f32.wav", "-ar 44100 -ac 2 -c:a pcm_f32le", 1e-6f},
                    RangeCase{"j44.mp3", "-ar 44100 -ac 2 -c:a libmp3lame -b:a 192k", 1e-6f},
                    RangeCase{"j44vbr.mp3", "-ar 44100 -ac 2 -c:a libmp3lame -q:a 2", 1e-6f},
                    RangeCase{"j44.ogg", "-ar 44100 -ac 2 -c:a libvorbis", 1e-6f}),
    [](const testing::TestParamInfo<RangeCase>& info) {
      std::string name = info.param.file.empty() ? "joram_mp3" : info.param.file;
      std::replace(name.begin(), name.end(), '.', '_');
      return name;
    });

TEST(AudioRangeEdges, PastTheEndReturnsWhatExistsWithWarning) {
  const DecodedAudio part = decode_audio_range(kJoramMp3, 29.0, 31.0);
  EXPECT_EQ(part.samples.size(), size_t(kJoramSamples - 29 * 16000));
  ASSERT_EQ(part.info.warnings.size(), 1u);
  EXPECT_TRUE(contains(part.info.warnings[0], "range ends after the audio")) << part.info.warnings[0];
  const std::vector<float>& reference = joram_reference();
  EXPECT_EQ(max_abs_difference(part.samples, std::span(reference).subspan(29 * 16000)), 0.0f);
}

TEST(AudioRangeEdges, InvalidRangeIsAnErrorNamingTheFile) {
  for (const auto& [start_s, end_s] : std::vector<std::pair<double, double>>{{2, 1}, {-1, 1}, {1, 1}, {0, NAN}}) {
    try {
      decode_audio_range(kJoramMp3, start_s, end_s);
      ADD_FAILURE() << "expected an error for [" << start_s << ", " << end_s << ")";
    } catch (const Error& error) {
      EXPECT_TRUE(contains(error.what(), "joram-moments_of_clarity-08-solipsism-59-88.mp3: invalid time range"))
          << error.what();
    }
  }
}

// ---------------------------------------------------------------------------------
// Bad input: each case names the file and the cause.

struct BadInputCase {
  std::string name;
  std::function<std::string()> make_path;  // creates the file, returns its path
  std::string expected_cause;
};

std::string write_file(const std::string& name, const std::string& contents) {
  const fs::path path = temp_dir() / name;
  std::ofstream(path, std::ios::binary) << contents;
  return path.string();
}

class AudioBadInput : public testing::TestWithParam<BadInputCase> {};

TEST_P(AudioBadInput, ThrowsErrorNamingFileAndCause) {
  const std::string path = GetParam().make_path();
  try {
    decode_audio(path);
    FAIL() << "expected an error for " << path;
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_TRUE(contains(message, path + ": ")) << message;
    EXPECT_TRUE(contains(message, GetParam().expected_cause)) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AudioBadInput,
    testing::Values(
        BadInputCase{"missing", [] { return (temp_dir() / "missing.mp3").string(); }, "no such file"},
        BadInputCase{"directory",
                     [] {
                       fs::create_directories(temp_dir() / "folder.mp3");
                       return (temp_dir() / "folder.mp3").string();
                     },
                     "is a directory, not a file"},
        BadInputCase{"zero_bytes", [] { return write_file("zero.mp3", ""); }, "empty file (0 bytes)"},
        BadInputCase{"text_named_mp3", [] { return write_file("text.mp3", "just some text, not an mp3\n"); },
                     "not an audio file"},
        BadInputCase{"video_only",
                     [] { return generated("video.mp4", "-f lavfi -i testsrc=duration=1:size=64x48 -c:v mpeg4"); },
                     "no audio stream (streams: video mpeg4)"},
        BadInputCase{"subtitles_only",
                     [] { return write_file("subtitles.srt", "1\n00:00:01,000 --> 00:00:02,000\nhello\n\n"); },
                     "no audio stream (streams: subtitle subrip)"},
        BadInputCase{"zero_samples", [] { return generated("empty.wav", "-f lavfi -i anullsrc=r=44100 -t 0"); },
                     "no audio decoded (0 samples)"}),
    [](const testing::TestParamInfo<BadInputCase>& info) { return info.param.name; });

TEST(AudioBadInputPermissions, UnreadableFile) {
  const std::string path = from_joram("unreadable.wav", "-c:a pcm_s16le");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  if (access(path.c_str(), R_OK) == 0) {
    // root (as in our CI) reads files whatever their mode, so there is nothing to refuse.
    GTEST_SKIP() << "mode 000 does not stop this user from reading; the directory case covers open failures";
  }
  try {
    decode_audio(path);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(error.what(), path + ": permission denied")) << error.what();
  }
}

// ---------------------------------------------------------------------------------
// Damaged files decode what is valid and say what was lost.

TEST(AudioDamaged, TruncatedMp3WarnsWithMissingDuration) {
  // libmp3lame writes a Xing header with the frame count, so the container knows the
  // full duration (29.2 s) even when most of the data is gone.
  const std::string whole = from_joram("j16.mp3", "-c:a libmp3lame -b:a 128k");
  const fs::path truncated = temp_dir() / "truncated.mp3";
  fs::copy_file(whole, truncated, fs::copy_options::overwrite_existing);
  fs::resize_file(truncated, fs::file_size(whole) * 4 / 10);
  const DecodedAudio audio = decode_audio(truncated.string());
  EXPECT_NEAR(audio.info.decoded_duration_s, 29.124 * 0.4, 0.5);
  ASSERT_FALSE(audio.info.warnings.empty());
  const std::string warnings = joined(audio.info.warnings);
  EXPECT_TRUE(contains(warnings, "the container declares")) << warnings;
  EXPECT_TRUE(contains(warnings, "missing (truncated file?)")) << warnings;
  // What was decoded is still the right audio, sample-aligned.
  EXPECT_GE(snr_db(std::span(joram_reference()).first(audio.samples.size() - 1152), audio.samples), 20);
}

TEST(AudioDamaged, CorruptPacketsAreSkippedAndCounted) {
  const std::string whole = from_joram("j16.mp3", "-c:a libmp3lame -b:a 128k");
  std::string bytes(fs::file_size(whole), '\0');
  std::ifstream(whole, std::ios::binary).read(bytes.data(), std::streamsize(bytes.size()));
  std::fill(bytes.begin() + 200000, bytes.begin() + 203000, '\0');  // ~0.2 s in the middle
  const std::string path = write_file("corrupt.mp3", bytes);
  const DecodedAudio audio = decode_audio(path);
  const std::string warnings = joined(audio.info.warnings);
  EXPECT_TRUE(contains(warnings, "corrupt packet")) << warnings;
  EXPECT_TRUE(contains(warnings, "the container declares")) << warnings;
  EXPECT_TRUE(contains(warnings, "FFmpeg mp3float: ")) << warnings;  // FFmpeg's own diagnosis, collected
  EXPECT_GT(audio.info.decoded_duration_s, 28.5);
  EXPECT_LT(audio.info.decoded_duration_s, 29.1);
}

TEST(AudioDamaged, FfmpegPrintsNothingToStderr) {
  const std::string whole = from_joram("j16.flac", "-c:a flac");
  std::string bytes(fs::file_size(whole), '\0');
  std::ifstream(whole, std::ios::binary).read(bytes.data(), std::streamsize(bytes.size()));
  std::fill(bytes.begin() + 100000, bytes.begin() + 101000, '\x55');
  const std::string path = write_file("corrupt.flac", bytes);
  testing::internal::CaptureStderr();
  const DecodedAudio audio = decode_audio(path);
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(printed, "");
  EXPECT_FALSE(audio.info.warnings.empty());
}

// ---------------------------------------------------------------------------------
// Threads: concurrent decodes are independent, warnings included.

TEST(AudioThreads, ConcurrentDecodesMatchSerialOnesAndKeepTheirWarnings) {
  const std::vector<std::string> paths = {
      kJoramMp3,
      from_joram("j16.ogg", "-c:a libvorbis"),
      from_joram("j44.mp3", "-ar 44100 -ac 2 -c:a libmp3lame -b:a 192k"),
      [] {
        const std::string whole = from_joram("j16.flac", "-c:a flac");
        std::string bytes(fs::file_size(whole), '\0');
        std::ifstream(whole, std::ios::binary).read(bytes.data(), std::streamsize(bytes.size()));
        std::fill(bytes.begin() + 100000, bytes.begin() + 101000, '\x55');
        return write_file("corrupt_threads.flac", bytes);
      }(),
  };
  std::vector<DecodedAudio> serial;
  for (const std::string& path : paths) serial.push_back(decode_audio(path));
  ASSERT_FALSE(serial[3].info.warnings.empty());
  for (int round = 0; round < 3; ++round) {
    std::vector<DecodedAudio> parallel(paths.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < paths.size(); ++i) {
      threads.emplace_back([&, i] { parallel[i] = decode_audio(paths[i]); });
    }
    for (std::thread& thread : threads) thread.join();
    for (size_t i = 0; i < paths.size(); ++i) {
      EXPECT_EQ(parallel[i].samples, serial[i].samples) << paths[i];
      EXPECT_EQ(parallel[i].info.warnings, serial[i].info.warnings) << paths[i];
    }
  }
}
