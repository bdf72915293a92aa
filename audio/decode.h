// audio/decode.h — any audio file FFmpeg reads -> mono float32 samples at 16 kHz.
//
// This is the first pipeline stage: features/ computes the mel spectrogram from the
// signal produced here. The output matches what the reference pipeline fed Essentia:
//
//   ffmpeg -i FILE -af aresample=16000:resampler=soxr:precision=28 -f f32le
//
// (../shared/reference/joram/audio_16k_mono.npy was made that way), except that
// several channels are mixed down as their mean (ref: Essentia MonoMixer), not with
// FFmpeg's -ac 1 matrix.
//
// What happens to a file:
//   1. The best audio stream (av_find_best_stream) is decoded; encoder delay and
//      padding that the container declares (mp3 LAME/Xing tag, mp4 edit list, Ogg
//      pre-skip) are removed by libavcodec, as the ffmpeg CLI does.
//   2. Channels are mixed to mono: sample = (c0 + c1 + ... + cN-1) / N.
//   3. libswresample converts to float and resamples to 16 kHz with the soxr engine at
//      precision 28. A 16 kHz source is not filtered at all: its samples pass through
//      (only converted to float, s16 / 32768). The resampler is flushed at the end, so
//      no tail is lost, and its delay is compensated: output sample i is the signal at
//      time i / 16000 s after the first decoded sample.
//   Samples are float32 with full scale ±1; lossy decoders can overshoot slightly and
//   values are not clipped (the reference is not clipped either).
//
// Streaming: decode_audio_stream() holds one packet, one decoded frame and one output
// buffer at a time, so memory does not grow with the file's length; every chunk it
// hands to the sink has at most kMaxChunkSamples samples.
//
// Errors: unusable input throws tagscape::Error naming the file and the cause:
//   "<path>: no such file", "<path>: is a directory, not a file",
//   "<path>: permission denied", "<path>: empty file (0 bytes)",
//   "<path>: not an audio file (...)", "<path>: no audio stream (streams: video)",
//   "<path>: no audio decoded (0 samples; ...)".
// A damaged but partly readable file (truncated, corrupt packets) decodes what is
// valid; how much was lost is reported in AudioInfo::warnings, nothing is printed.
//
// Threads: every call owns its FFmpeg contexts, so several threads may decode
// different files at once. The first call silences FFmpeg's own logging for the whole
// process (av_log_set_callback, once) and routes the messages of each decode to that
// decode's warnings instead.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace tagscape {

inline constexpr int kAnalysisSampleRateHz = 16000;  // the rate every model expects
inline constexpr size_t kMaxChunkSamples = 8192;     // largest chunk a sink receives

// What the source was and how decoding went.
struct AudioInfo {
  std::string format_name;              // FFmpeg demuxer name, e.g. "mp3", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", "libopenmpt"
  std::string codec_name;               // FFmpeg codec name of the source stream, e.g. "mp3", "vorbis", "pcm_s16le"
  int source_sample_rate_hz = 0;        // rate of the decoded source stream (first frame's rate)
  int source_channels = 0;              // channel count of the source stream, mixed down to 1
  double container_duration_s = -1;     // the container's duration estimate; -1 when it declares none
  double decoded_duration_s = 0;        // samples produced / 16000 (for a range: the range's samples)
  std::vector<std::string> warnings;    // data lost or doubtful; empty for a clean decode
};

// The whole signal of a file (or a range of it) and how it was decoded.
struct DecodedAudio {
  std::vector<float> samples;  // mono, 16 kHz, full scale ±1; samples[i] is at time i / 16000 s
  AudioInfo info;
};

// Receives consecutive pieces of the signal: 1 <= samples.size() <= kMaxChunkSamples.
// The span is only valid during the call. An exception thrown by the sink stops the
// decode and propagates to the caller.
using AudioChunkSink = std::function<void(std::span<const float> samples)>;

// Decodes the whole file, handing the mono 16 kHz signal to `sink` chunk by chunk.
// Throws Error on unusable input (see above), including a file that yields 0 samples.
AudioInfo decode_audio_stream(const std::string& path, const AudioChunkSink& sink);

// decode_audio_stream() collected into one vector.
DecodedAudio decode_audio(const std::string& path);

// Decodes only the samples with index in [round(start_s * 16000), round(end_s * 16000))
// of what decode_audio(path) would return, seeking instead of decoding from the start.
// The seek lands at least kSeekPrerollS before start_s, so that the decoder (mp3 bit
// reservoir, Opus pre-roll) and the resampler have settled by start_s; if the container
// cannot seek there, the file is decoded from its beginning. Samples are placed by the
// demuxer's timestamps after the seek. Measured against slicing decode_audio()
// (tests/audio_test.cpp, AudioRange): identical (max |Δ| = 0) for wav, flac, Vorbis,
// Opus, CBR and VBR (Xing) mp3, and AAC without PNS; AAC with perceptual noise
// substitution differs in the noise-filled bands, whose random fill depends on where
// decoding began (measured max |Δ| 0.11). Tracker modules are never seeked (the player
// would drop sounding notes); they are decoded from the start. A file whose timestamps
// jump (seen in an Opus file transcoded from Vorbis by FFmpeg: a 488-sample step) gets
// its range placed by the timestamps, while decode_audio() just concatenates samples.
// A range reaching past the end of the audio returns the samples that exist and a
// warning. Throws Error if !(0 <= start_s < end_s) or on unusable input.
DecodedAudio decode_audio_range(const std::string& path, double start_s, double end_s);

// decode_audio_range() handed to `sink` chunk by chunk.
AudioInfo decode_audio_range_stream(const std::string& path, double start_s, double end_s,
                                    const AudioChunkSink& sink);

inline constexpr double kSeekPrerollS = 1.0;  // decoded and discarded before a range's start

// Routes FFmpeg's logging away from stderr (once per process; every decode does it
// too). Call it before any other use of FFmpeg, e.g. probing files.
void route_ffmpeg_logging();

}  // namespace tagscape
