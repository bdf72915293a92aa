// server/static_files.h — the built web app (Vite output: index.html + assets/) served
// from a directory, never listing it and never leaving it.
//
// Where the app is found (first that holds an index.html):
//   1. $TAGSCAPE_WEB_DIR
//   2. <directory of the running binary>/../share/tagscape/web   (installed)
//   3. <directory of the running binary>/web                      (a build dir: server/web.cmake)
//   4. <source tree>/web/dist                                     (the front end's own build)
// If none does, "/" answers kFallbackPage: how to build the web app; the API still works.
//
// Request paths are resolved strictly: only [A-Za-z0-9._-] components, none starting with
// '.', no empty components, at most 8 deep; "/" means index.html. The resolved file must be
// a regular file whose canonical path lies inside the canonical web directory (a symlink
// out of it is refused). Anything else is "not found" — so /..%2f..%2fetc%2fpasswd (which
// httplib decodes to /../../etc/passwd before routing) and directory paths are 404.
#pragma once

#include <optional>
#include <string>

namespace tagscape::server {

// The web app directory by the search order above; "" if none has an index.html.
std::string find_web_dir();

struct StaticFile {
  std::string content;       // the file's bytes
  std::string content_type;  // from the extension, e.g. "text/javascript; charset=utf-8"
  bool immutable;            // a Vite asset with a content hash in its name (under assets/)
};

// The file a URL path names inside `web_dir`, or nullopt (not found / refused, see above).
// `url_path` is the already-decoded request path, starting with '/'.
std::optional<StaticFile> read_static_file(const std::string& web_dir, const std::string& url_path);

// Content-Type by file extension; "application/octet-stream" for unknown ones.
std::string content_type_for(const std::string& file_name);

// Served at "/" when no web app is built.
extern const char* const kFallbackPage;

}  // namespace tagscape::server
