#include "audio/tags.h"

#include <taglib/fileref.h>
#include <taglib/tag.h>

namespace tagscape {

AudioTags read_audio_tags(const std::string& path) {
  AudioTags tags;
  try {
    TagLib::FileRef file(path.c_str(), /*readAudioProperties=*/false);
    if (file.isNull() || !file.tag()) return tags;
    const TagLib::Tag* tag = file.tag();
    tags.title = tag->title().to8Bit(true);
    tags.artist = tag->artist().to8Bit(true);
    tags.album = tag->album().to8Bit(true);
    tags.genre = tag->genre().to8Bit(true);
    tags.year = static_cast<int>(tag->year());
    tags.track_number = static_cast<int>(tag->track());
  } catch (...) {  // TagLib on a damaged file: tags are optional, never fatal
    return AudioTags{};
  }
  return tags;
}

}  // namespace tagscape
