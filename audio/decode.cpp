// audio/decode.cpp — FFmpeg demux + decode, libswresample mono mix + soxr resampling.
// See decode.h for the contract.
#include "audio/decode.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>

#include "common/error.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

namespace tagscape {
namespace {

// ---------------------------------------------------------------------------------
// FFmpeg logging: nothing goes to stderr; errors logged while a decode runs on this
// thread are collected for that decode's warnings. The callback is process-wide, the
// collector is per thread, so concurrent decodes keep their messages apart (decoders
// run with thread_count = 1, so they log on the calling thread).

struct LogCapture {
  std::vector<std::string> messages;  // first kMaxLoggedMessages error messages
  size_t dropped = 0;                 // further messages, counted only
};
constexpr size_t kMaxLoggedMessages = 5;
thread_local LogCapture* t_log_capture = nullptr;

void collect_ffmpeg_log(void* context, int level, const char* format, va_list args) {
  if (level > AV_LOG_ERROR || t_log_capture == nullptr) return;
  char text[512];
  std::vsnprintf(text, sizeof text, format, args);
  std::string message = text;
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
  if (message.empty()) return;
  const AVClass* av_class = context ? *static_cast<const AVClass**>(context) : nullptr;
  if (av_class && av_class->item_name) message = std::string(av_class->item_name(context)) + ": " + message;
  if (t_log_capture->messages.size() < kMaxLoggedMessages) {
    t_log_capture->messages.push_back("FFmpeg " + message);
  } else {
    t_log_capture->dropped++;
  }
}


}  // namespace

void route_ffmpeg_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_QUIET);  // for anything still using the default callback
    av_log_set_callback(collect_ffmpeg_log);
  });
}

namespace {

// Installs `capture` as this thread's collector for the lifetime of the guard.
struct LogCaptureGuard {
  explicit LogCaptureGuard(LogCapture* capture) : previous(t_log_capture) { t_log_capture = capture; }
  ~LogCaptureGuard() { t_log_capture = previous; }
  LogCapture* previous;
};

// ---------------------------------------------------------------------------------
// Owners of FFmpeg objects.

struct FormatCloser { void operator()(AVFormatContext* c) const { avformat_close_input(&c); } };
struct CodecFreer { void operator()(AVCodecContext* c) const { avcodec_free_context(&c); } };
struct PacketFreer { void operator()(AVPacket* p) const { av_packet_free(&p); } };
struct FrameFreer { void operator()(AVFrame* f) const { av_frame_free(&f); } };
struct SwrFreer { void operator()(SwrContext* s) const { swr_free(&s); } };
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFreer>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFreer>;
using FramePtr = std::unique_ptr<AVFrame, FrameFreer>;
using SwrPtr = std::unique_ptr<SwrContext, SwrFreer>;

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

[[noreturn]] void fail(const std::string& path, const std::string& cause) { throw Error(path + ": " + cause); }

std::string plural(int64_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f s", seconds);
  return text;
}

// ---------------------------------------------------------------------------------
// Opening: the filesystem checks come first because they give clearer causes than
// FFmpeg's errno texts (a directory opens fine as a file and only fails to probe).

void check_path_is_readable_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error == std::errc::permission_denied) fail(path, "permission denied");
  if (!fs::exists(status)) fail(path, "no such file");
  if (fs::is_directory(status)) fail(path, "is a directory, not a file");
  if (fs::is_regular_file(status) && fs::file_size(path, error) == 0 && !error) fail(path, "empty file (0 bytes)");
}

std::string describe_streams(const AVFormatContext& format) {
  std::string list;
  for (unsigned i = 0; i < format.nb_streams; ++i) {
    const AVCodecParameters& parameters = *format.streams[i]->codecpar;
    const char* type = av_get_media_type_string(parameters.codec_type);
    if (!list.empty()) list += ", ";
    list += type ? type : "unknown";
    if (parameters.codec_id != AV_CODEC_ID_NONE) list += std::string(" ") + avcodec_get_name(parameters.codec_id);
  }
  return list.empty() ? "none" : list;
}

struct Input {
  FormatPtr format;
  CodecPtr codec;
  AVStream* stream = nullptr;  // the decoded audio stream, owned by `format`
};

Input open_input(const std::string& path) {
  check_path_is_readable_file(path);
  Input input;
  AVDictionary* options = nullptr;
  // Only local files: a path must never make FFmpeg open a URL or a pipe.
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  AVFormatContext* raw_format = nullptr;
  // "file:" keeps a name with a colon (e.g. "pipe:1") from selecting another protocol.
  int status = avformat_open_input(&raw_format, ("file:" + path).c_str(), nullptr, &options);
  av_dict_free(&options);
  if (status == AVERROR(ENOENT)) fail(path, "no such file");
  if (status == AVERROR(EACCES) || status == AVERROR(EPERM)) fail(path, "permission denied");
  if (status == AVERROR(EISDIR)) fail(path, "is a directory, not a file");
  if (status < 0) fail(path, "not an audio file (FFmpeg recognises no format in it: " + av_error_text(status) + ")");
  input.format.reset(raw_format);

  status = avformat_find_stream_info(input.format.get(), nullptr);
  if (status < 0) fail(path, "not an audio file (cannot read stream information: " + av_error_text(status) + ")");

  const AVCodec* decoder = nullptr;
  const int stream_index = av_find_best_stream(input.format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &decoder, 0);
  if (stream_index == AVERROR_STREAM_NOT_FOUND) {
    const bool has_audio = std::any_of(input.format->streams, input.format->streams + input.format->nb_streams,
                                       [](const AVStream* s) { return s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO; });
    // FFmpeg skips audio streams without channels or rate: what it probed was not audio.
    if (has_audio) fail(path, "not an audio file (no decodable audio stream; FFmpeg probed: " + describe_streams(*input.format) + ")");
    fail(path, "no audio stream (streams: " + describe_streams(*input.format) + ")");
  }
  if (stream_index < 0 || decoder == nullptr) {
    fail(path, "no decoder for its audio codec (streams: " + describe_streams(*input.format) + ")");
  }
  input.stream = input.format->streams[stream_index];
  for (unsigned i = 0; i < input.format->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index) input.format->streams[i]->discard = AVDISCARD_ALL;
  }

  input.codec.reset(avcodec_alloc_context3(decoder));
  if (!input.codec) throw std::bad_alloc();
  status = avcodec_parameters_to_context(input.codec.get(), input.stream->codecpar);
  if (status < 0) fail(path, "cannot configure the " + std::string(decoder->name) + " decoder: " + av_error_text(status));
  input.codec->pkt_timebase = input.stream->time_base;  // needed to trim encoder delay/padding
  input.codec->thread_count = 1;                        // keeps decoder logging on this thread
  status = avcodec_open2(input.codec.get(), decoder, nullptr);
  if (status < 0) fail(path, "cannot open the " + std::string(decoder->name) + " decoder: " + av_error_text(status));
  return input;
}

double container_duration_s(const Input& input) {
  if (input.stream->duration != AV_NOPTS_VALUE && input.stream->duration > 0) {
    return input.stream->duration * av_q2d(input.stream->time_base);
  }
  if (input.format->duration != AV_NOPTS_VALUE && input.format->duration > 0) {
    return input.format->duration / static_cast<double>(AV_TIME_BASE);
  }
  return -1;
}

// ---------------------------------------------------------------------------------
// Mono mix + resampling with libswresample. One SwrContext per input configuration;
// a stream that changes rate, format or layout mid-way (chained Ogg, spliced mp3)
// gets a fresh one after the old one is flushed.

struct MonoResampler {
  SwrPtr swr;
  int in_rate_hz = 0;
  AVSampleFormat in_format = AV_SAMPLE_FMT_NONE;
  AVChannelLayout in_layout = {};
  std::vector<float> buffer;  // output of one swr_convert call, bounded by one frame's worth

  MonoResampler() = default;
  MonoResampler(const MonoResampler&) = delete;
  MonoResampler& operator=(const MonoResampler&) = delete;
  ~MonoResampler() { av_channel_layout_uninit(&in_layout); }

  bool matches(const AVFrame& frame) const {
    return swr && frame.sample_rate == in_rate_hz && frame.format == in_format &&
           av_channel_layout_compare(&frame.ch_layout, &in_layout) == 0;
  }
};

void configure_resampler(MonoResampler& resampler, const AVFrame& frame, const std::string& path) {
  resampler.swr.reset();
  av_channel_layout_uninit(&resampler.in_layout);
  av_channel_layout_copy(&resampler.in_layout, &frame.ch_layout);
  resampler.in_rate_hz = frame.sample_rate;
  resampler.in_format = static_cast<AVSampleFormat>(frame.format);
  const int channels = frame.ch_layout.nb_channels;
  if (channels <= 0 || frame.sample_rate <= 0) {
    fail(path, "not an audio file (decoded frame has " + std::to_string(channels) + " channels at " +
                   std::to_string(frame.sample_rate) + " Hz)");
  }
  // swr needs a layout with an order to build its matrix; an unspecified one is given the default.
  AVChannelLayout in_layout = {};
  if (frame.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
    av_channel_layout_default(&in_layout, channels);
  } else {
    av_channel_layout_copy(&in_layout, &frame.ch_layout);
  }
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  SwrContext* raw = nullptr;
  int status = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, kAnalysisSampleRateHz, &in_layout,
                                   resampler.in_format, frame.sample_rate, 0, nullptr);
  av_channel_layout_uninit(&in_layout);
  SwrPtr swr(raw);
  if (status < 0) fail(path, "cannot set up resampling: " + av_error_text(status));
  // ref: the reference decode, ffmpeg -af aresample=16000:resampler=soxr:precision=28.
  av_opt_set_int(swr.get(), "resampler", SWR_ENGINE_SOXR, 0);
  av_opt_set_double(swr.get(), "precision", 28, 0);
  if (channels > 1) {
    // ref: Essentia MonoMixer — the plain mean of all channels, not FFmpeg's downmix matrix.
    const std::vector<double> mean_row(channels, 1.0 / channels);
    status = swr_set_matrix(swr.get(), mean_row.data(), channels);
    if (status < 0) fail(path, "cannot set up the mono mix: " + av_error_text(status));
  }
  status = swr_init(swr.get());
  if (status < 0) fail(path, "cannot set up resampling: " + av_error_text(status));
  resampler.swr = std::move(swr);
}

// Pointers to the samples of `frame` from sample `offset` on, in swr_convert's layout.
std::vector<const uint8_t*> frame_sample_pointers(const AVFrame& frame, int offset) {
  const auto format = static_cast<AVSampleFormat>(frame.format);
  const int channels = frame.ch_layout.nb_channels;
  const int bytes = av_get_bytes_per_sample(format);
  std::vector<const uint8_t*> pointers;
  if (av_sample_fmt_is_planar(format)) {
    for (int c = 0; c < channels; ++c) pointers.push_back(frame.extended_data[c] + size_t(offset) * bytes);
  } else {
    pointers.push_back(frame.extended_data[0] + size_t(offset) * bytes * channels);
  }
  return pointers;
}

// ---------------------------------------------------------------------------------
// Output: counts produced samples on the 16 kHz grid and hands those inside the
// requested window to the sink in chunks of at most kMaxChunkSamples.

struct OutputCursor {
  const AudioChunkSink& sink;
  int64_t window_begin;     // first sample index to deliver
  int64_t window_end;       // one past the last; INT64_MAX for the whole file
  int64_t next_index = 0;   // index of the next sample the resampler produces
  int64_t delivered = 0;    // samples handed to the sink

  void push(const float* samples, int64_t count) {
    const int64_t begin = std::max(next_index, window_begin);
    const int64_t end = std::min(next_index + count, window_end);
    for (int64_t at = begin; at < end; at += kMaxChunkSamples) {
      const int64_t size = std::min<int64_t>(kMaxChunkSamples, end - at);
      sink(std::span<const float>(samples + (at - next_index), size_t(size)));
      delivered += size;
    }
    next_index += count;
  }
  bool done() const { return next_index >= window_end; }
};

void resample_into(MonoResampler& resampler, const uint8_t* const* in, int in_count, OutputCursor& out,
                   const std::string& path) {
  const int capacity = swr_get_out_samples(resampler.swr.get(), in_count);
  if (capacity <= 0) return;
  resampler.buffer.resize(size_t(capacity));
  uint8_t* out_planes[1] = {reinterpret_cast<uint8_t*>(resampler.buffer.data())};
  const int produced = swr_convert(resampler.swr.get(), out_planes, capacity,
                                   const_cast<const uint8_t**>(in), in_count);
  if (produced < 0) fail(path, "resampling failed: " + av_error_text(produced));
  out.push(resampler.buffer.data(), produced);
}

// Drains the resampler's filter tail (zero-padded past the end, as swr and ffmpeg do).
void flush_resampler(MonoResampler& resampler, OutputCursor& out, const std::string& path) {
  if (!resampler.swr) return;
  while (!out.done()) {
    const int64_t before = out.next_index;
    resample_into(resampler, nullptr, 0, out, path);
    if (out.next_index == before) break;
  }
}

// ---------------------------------------------------------------------------------
// The decode loop.

struct DecodeRequest {
  int64_t first_sample = 0;           // window on the 16 kHz output grid
  int64_t end_sample = INT64_MAX;
  bool is_range = false;              // a range was asked for (affects warnings and errors)
  bool seek = false;                  // seek before decoding instead of starting at 0
};

struct DecodeStats {
  int64_t corrupt_packets = 0;        // packets the decoder rejected
  double corrupt_duration_s = 0;      // their declared duration, where known
  std::string last_decode_error;      // FFmpeg's text for the last rejection
  std::string read_error;             // why demuxing stopped early, if it did
};

// After a seek, the decoded frames are placed by their timestamps, but a frame's pts is
// not always the position of its first output sample: FFmpeg's Vorbis frames after a
// long-to-short block switch carry a pts 448 samples ahead (measured on a 44.1 kHz
// file). So frames are held back until kAgreeingSteps consecutive steps pts[k+1] -
// pts[k] equal nb_samples[k]; those frames' pts are positions, and the first held frame
// is placed from them by counting samples back.
constexpr size_t kAgreeingSteps = 2;
constexpr size_t kMaxHeldFrames = 32;  // no agreement by then: decode from the start instead

struct HeldFrames {
  std::vector<FramePtr> frames;  // decoded after the seek, not yet resampled
  bool placed = false;           // the output position is known; frames flow straight through
  int64_t skip_samples = 0;      // source samples still to drop before resampling
};

// Position of a frame in source samples from the stream's start, from its pts.
int64_t source_position(const Input& input, const AVFrame& frame) {
  const int64_t origin = input.stream->start_time == AV_NOPTS_VALUE ? 0 : input.stream->start_time;
  return av_rescale_q_rnd(frame.best_effort_timestamp - origin, input.stream->time_base,
                          AVRational{1, frame.sample_rate}, AV_ROUND_NEAR_INF);
}

// Source position of held.frames[0], once kAgreeingSteps consecutive steps agree.
std::optional<int64_t> first_held_position(const Input& input, const HeldFrames& held) {
  const std::vector<FramePtr>& frames = held.frames;
  int64_t samples_before = 0;  // samples of frames[0..k)
  for (size_t k = 0; k + kAgreeingSteps < frames.size(); ++k) {
    bool agree = true;
    for (size_t j = k; j < k + kAgreeingSteps && agree; ++j) {
      agree = source_position(input, *frames[j + 1]) - source_position(input, *frames[j]) == frames[j]->nb_samples;
    }
    if (agree) return source_position(input, *frames[k]) - samples_before;
    samples_before += frames[k]->nb_samples;
  }
  return std::nullopt;
}

// Places the output so that resampling starts at a time on both the source's and the
// 16 kHz grid (multiples of 1 / gcd(rate, 16000) s): sets out.next_index and the
// source samples to skip. False if that time lies after the requested window start
// (the seek overshot).
bool place_output(int64_t first_source_sample, int rate_hz, int64_t window_begin, HeldFrames& held,
                  OutputCursor& out) {
  const int64_t common = std::gcd(int64_t(rate_hz), int64_t(kAnalysisSampleRateHz));
  const int64_t step = rate_hz / common;  // source samples per common grid step
  const int64_t skip = ((-first_source_sample) % step + step) % step;
  const int64_t output_index = (first_source_sample + skip) / step * (kAnalysisSampleRateHz / common);
  if (output_index > window_begin) return false;
  out.next_index = output_index;
  held.skip_samples = skip;
  return true;
}

// Tracker modules are rendered by a player (libopenmpt, libgme): seeking sets the song
// position but not the notes still sounding from earlier rows, so a range decoded after
// a seek can be silent where the whole-file decode is not. They are decoded from the
// start instead (they are short and cheap to render).
bool demuxer_seeks_to_exact_state(const AVFormatContext& format) {
  const std::string name = format.iformat->name;
  return name != "libopenmpt" && name != "libgme" && name != "libmodplug";
}

void count_corrupt_packet(DecodeStats& stats, const AVPacket* packet, const AVStream& stream, int error) {
  stats.corrupt_packets++;
  if (packet && packet->duration > 0) stats.corrupt_duration_s += packet->duration * av_q2d(stream.time_base);
  stats.last_decode_error = av_error_text(error);
}

// Runs one decode. Returns std::nullopt when a seek overshot the requested start
// (nothing has been delivered then), so the caller can decode from the beginning.
std::optional<AudioInfo> run_decode(const std::string& path, const DecodeRequest& request,
                                    const AudioChunkSink& sink) {
  route_ffmpeg_logging();
  LogCapture log;
  LogCaptureGuard log_guard(&log);

  Input input = open_input(path);
  AudioInfo info;
  info.format_name = input.format->iformat->name;
  info.codec_name = avcodec_get_name(input.stream->codecpar->codec_id);
  info.source_sample_rate_hz = input.codec->sample_rate;
  info.source_channels = input.codec->ch_layout.nb_channels;
  info.container_duration_s = container_duration_s(input);

  bool seeked = false;
  if (request.seek && demuxer_seeks_to_exact_state(*input.format)) {
    const double target_s = request.first_sample / double(kAnalysisSampleRateHz) - kSeekPrerollS;
    if (target_s > 0) {
      const int64_t origin = input.stream->start_time == AV_NOPTS_VALUE ? 0 : input.stream->start_time;
      const int64_t target = origin + av_rescale_q(int64_t(target_s * AV_TIME_BASE), AV_TIME_BASE_Q,
                                                   input.stream->time_base);
      seeked = avformat_seek_file(input.format.get(), input.stream->index, INT64_MIN, target, target, 0) >= 0;
    }
  }

  PacketPtr packet(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  if (!packet || !frame) throw std::bad_alloc();
  MonoResampler resampler;
  OutputCursor out{sink, request.first_sample, request.end_sample};
  DecodeStats stats;
  bool first_frame = true;
  HeldFrames held;
  held.placed = !seeked;

  // Mixes, resamples and delivers one frame, minus the samples still to skip.
  auto convert_frame = [&](const AVFrame& decoded) {
    if (!resampler.matches(decoded)) {
      flush_resampler(resampler, out, path);
      configure_resampler(resampler, decoded, path);
    }
    const int64_t skip = std::min<int64_t>(held.skip_samples, decoded.nb_samples);
    held.skip_samples -= skip;
    if (skip == decoded.nb_samples) return;
    const std::vector<const uint8_t*> in = frame_sample_pointers(decoded, int(skip));
    resample_into(resampler, in.data(), decoded.nb_samples - int(skip), out, path);
  };

  // Holds frames after a seek until they can be placed, then converts them.
  // False = restart without seeking.
  auto hold_frame = [&]() -> bool {
    if (frame->best_effort_timestamp == AV_NOPTS_VALUE) return false;
    if (!held.frames.empty() && frame->sample_rate != held.frames[0]->sample_rate) return false;
    held.frames.emplace_back(av_frame_clone(frame.get()));
    if (!held.frames.back()) throw std::bad_alloc();
    const std::optional<int64_t> position = first_held_position(input, held);
    if (!position) return held.frames.size() < kMaxHeldFrames;
    if (!place_output(*position, held.frames[0]->sample_rate, request.first_sample, held, out)) return false;
    held.placed = true;
    for (const FramePtr& waiting : held.frames) convert_frame(*waiting);
    held.frames.clear();
    return true;
  };

  // Feeds every frame the decoder has ready; false = restart without seeking.
  auto drain_decoder = [&]() -> bool {
    int errors_in_a_row = 0;  // bounded, so a decoder stuck in an error state cannot hang us
    while (!out.done()) {
      const int status = avcodec_receive_frame(input.codec.get(), frame.get());
      if (status == AVERROR(EAGAIN) || status == AVERROR_EOF) return true;
      if (status < 0) {
        count_corrupt_packet(stats, nullptr, *input.stream, status);
        if (++errors_in_a_row == 64) return true;
        continue;
      }
      errors_in_a_row = 0;
      if (first_frame) {
        first_frame = false;
        info.source_sample_rate_hz = frame->sample_rate;
        info.source_channels = frame->ch_layout.nb_channels;
      }
      if (held.placed) {
        convert_frame(*frame);
      } else if (!hold_frame()) {
        return false;
      }
      av_frame_unref(frame.get());
    }
    return true;
  };

  while (!out.done()) {
    const int status = av_read_frame(input.format.get(), packet.get());
    if (status == AVERROR_EOF) break;
    if (status < 0) {
      stats.read_error = av_error_text(status);
      break;
    }
    if (packet->stream_index == input.stream->index) {
      const int sent = avcodec_send_packet(input.codec.get(), packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) count_corrupt_packet(stats, packet.get(), *input.stream, sent);
      if (!drain_decoder()) return std::nullopt;
    }
    av_packet_unref(packet.get());
  }
  if (!out.done()) {
    avcodec_send_packet(input.codec.get(), nullptr);  // flush the decoder's delayed frames
    if (!drain_decoder()) return std::nullopt;
    if (!held.placed) return std::nullopt;  // too few frames after the seek to place them
    flush_resampler(resampler, out, path);
  }

  info.decoded_duration_s = out.delivered / double(kAnalysisSampleRateHz);
  const double decoded_end_s = out.next_index / double(kAnalysisSampleRateHz);

  if (!request.is_range && out.delivered == 0) {
    std::string cause = "no audio decoded (0 samples";
    if (stats.corrupt_packets > 0) {
      cause += "; " + plural(stats.corrupt_packets, "packet") + " failed to decode: " + stats.last_decode_error;
    } else if (!stats.read_error.empty()) {
      cause += "; read error: " + stats.read_error;
    }
    fail(path, cause + ")");
  }
  // A bitrate-based duration (mp3 without a Xing/VBRI header) is a guess, too rough to
  // call a shortfall a loss on its own.
  const bool duration_is_reliable = input.format->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE;
  const double shortfall_s = info.container_duration_s - decoded_end_s;
  const std::string shortfall = "decoded " + format_seconds(decoded_end_s) + " of the " +
                                format_seconds(info.container_duration_s) + " the container declares";
  if (stats.corrupt_packets > 0) {
    std::string warning = plural(stats.corrupt_packets, "corrupt packet") + " skipped";
    if (stats.corrupt_duration_s > 0) warning += " (" + format_seconds(stats.corrupt_duration_s) + " of audio)";
    warning += ": " + stats.last_decode_error;
    if (!request.is_range && info.container_duration_s > 0 && shortfall_s > 0) warning += "; " + shortfall;
    info.warnings.push_back(warning);
  }
  if (!stats.read_error.empty()) {
    info.warnings.push_back("reading stopped at " + format_seconds(decoded_end_s) + ": " + stats.read_error);
  }
  // Codec padding and priming differ from the declared duration by well under 0.25 s.
  const double tolerance_s = std::max(0.25, 0.01 * info.container_duration_s);
  if (!request.is_range && stats.corrupt_packets == 0 && duration_is_reliable && info.container_duration_s > 0 &&
      shortfall_s > tolerance_s) {
    info.warnings.push_back(shortfall + ": " + format_seconds(shortfall_s) + " missing (truncated file?)");
  }
  if (request.is_range && out.next_index < request.end_sample) {
    info.warnings.push_back("range ends after the audio, which ends at " + format_seconds(decoded_end_s) + ": " +
                            std::to_string(out.delivered) + " of " +
                            std::to_string(request.end_sample - request.first_sample) + " samples returned");
  }
  if (!info.warnings.empty()) {
    for (const std::string& message : log.messages) info.warnings.push_back(message);
    if (log.dropped > 0) info.warnings.push_back("(" + std::to_string(log.dropped) + " more FFmpeg errors)");
  }
  return info;
}

DecodeRequest range_request(const std::string& path, double start_s, double end_s) {
  if (!(start_s >= 0 && start_s < end_s) || !std::isfinite(end_s)) {
    fail(path, "invalid time range [" + std::to_string(start_s) + ", " + std::to_string(end_s) + ") s");
  }
  DecodeRequest request;
  request.first_sample = std::llround(start_s * kAnalysisSampleRateHz);
  request.end_sample = std::llround(end_s * kAnalysisSampleRateHz);
  request.is_range = true;
  request.seek = true;
  return request;
}

}  // namespace

AudioInfo decode_audio_stream(const std::string& path, const AudioChunkSink& sink) {
  return *run_decode(path, DecodeRequest{}, sink);  // without a seek there is no restart
}

DecodedAudio decode_audio(const std::string& path) {
  DecodedAudio audio;
  audio.info = decode_audio_stream(path, [&](std::span<const float> chunk) {
    audio.samples.insert(audio.samples.end(), chunk.begin(), chunk.end());
  });
  return audio;
}

AudioInfo decode_audio_range_stream(const std::string& path, double start_s, double end_s,
                                    const AudioChunkSink& sink) {
  DecodeRequest request = range_request(path, start_s, end_s);
  if (std::optional<AudioInfo> info = run_decode(path, request, sink)) return *info;
  request.seek = false;  // the seek overshot: decode from the beginning instead
  return *run_decode(path, request, sink);
}

DecodedAudio decode_audio_range(const std::string& path, double start_s, double end_s) {
  DecodedAudio audio;
  audio.info = decode_audio_range_stream(path, start_s, end_s, [&](std::span<const float> chunk) {
    audio.samples.insert(audio.samples.end(), chunk.begin(), chunk.end());
  });
  return audio;
}

}  // namespace tagscape
