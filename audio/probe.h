// audio/probe.h — is this file audio? For collection discovery.
//
// Files with a known, unambiguous audio extension are taken without opening them (a damaged one is
// then reported by the decoder with its cause). Files with a known non-audio extension
// (images, text, playlists, ...) are skipped. Anything else — no extension, an unusual
// one (lincity-ng's music files have none) — is probed by content: FFmpeg must open it
// and find an audio stream. Thread-safe.
#pragma once

#include <string>

namespace tagscape {

enum class AudioGuess {
  audio_extension,  // a known audio extension: analyse it
  audio_content,    // unknown extension, FFmpeg found an audio stream
  not_audio,        // a known non-audio extension, or probing found no audio
};

AudioGuess guess_audio_file(const std::string& path);

}  // namespace tagscape
