// common/error.h — the one error type the library throws.
//
// User and I/O errors (a missing file, a malformed model, bad audio) are thrown as
// tagscape::Error with a message that names the file and the cause, e.g.
//   "song.mp3: not an audio file (Invalid data found when processing input)".
// Programming errors (broken preconditions) are asserts. The library never calls exit().
#pragma once

#include <stdexcept>
#include <string>

namespace tagscape {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace tagscape
