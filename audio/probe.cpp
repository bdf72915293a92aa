#include "audio/probe.h"

#include "audio/decode.h"

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <filesystem>
#include <set>

namespace tagscape {

namespace {

std::string lower_extension(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  return extension;
}

bool has_audio_stream(const std::string& path) {
  route_ffmpeg_logging();
  AVFormatContext* format = nullptr;
  if (avformat_open_input(&format, path.c_str(), nullptr, nullptr) < 0) return false;
  bool audio = avformat_find_stream_info(format, nullptr) >= 0 &&
               av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
  avformat_close_input(&format);
  return audio;
}

}  // namespace

AudioGuess guess_audio_file(const std::string& path) {
  static const std::set<std::string> audio = {
      ".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".wave", ".m4a", ".aac", ".mp4", ".m4b", ".wma",
      ".aif", ".aiff", ".aifc", ".ape", ".wv", ".mka", ".webm", ".spx", ".mpc", ".ac3", ".dts", ".caf",
      ".au", ".amr", ".xm", ".s3m", ".mptm", ".669", ".mtm", ".umx"};
  // Not listed, so probed by content: .mod and .it (tracker modules, but also Go/Fortran
  // modules and Vim's Italian tutor), .mid (FFmpeg has no MIDI synthesiser: skipped).
  static const std::set<std::string> not_audio = {
      ".txt", ".nfo", ".md", ".pdf", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".svg", ".ico",
      ".m3u", ".m3u8", ".pls", ".cue", ".log", ".json", ".xml", ".html", ".htm", ".db", ".ini", ".sfv",
      ".md5", ".sh", ".py", ".exe", ".dll", ".so", ".zip", ".tar", ".gz", ".7z", ".rar", ".iso",
      ".tagscape", ".tagscape-wal", ".tagscape-shm", ".npy", ".csv", ".c", ".h", ".cpp", ".js", ".css"};
  const std::string extension = lower_extension(path);
  if (audio.count(extension)) return AudioGuess::audio_extension;
  if (not_audio.count(extension)) return AudioGuess::not_audio;
  return has_audio_stream(path) ? AudioGuess::audio_content : AudioGuess::not_audio;
}

}  // namespace tagscape
