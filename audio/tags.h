// audio/tags.h — a file's tags (title, artist, ...) through TagLib.
//
// Reads ID3v1/v2, Vorbis comments, MP4 atoms, APE, ... — whatever TagLib's FileRef
// recognises (by extension). Never throws: a file TagLib cannot read, or one without
// tags, gives empty fields, and the caller falls back to the file name.
#pragma once

#include <string>

namespace tagscape {

struct AudioTags {
  std::string title, artist, album, genre;  // UTF-8, '' = unknown
  int year = 0;                             // 0 = unknown
  int track_number = 0;                     // 0 = unknown
};

AudioTags read_audio_tags(const std::string& path);

}  // namespace tagscape
