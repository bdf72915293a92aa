#include "server/static_files.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace tagscape::server {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxPathDepth = 8;
constexpr uintmax_t kMaxStaticFileBytes = 64u << 20;  // a Vite bundle is far smaller

bool has_index(const fs::path& dir) {
  std::error_code error;
  return !dir.empty() && fs::is_regular_file(dir / "index.html", error);
}

fs::path executable_dir() {
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path() : exe.parent_path();
}

bool safe_component(const std::string& part) {
  if (part.empty() || part[0] == '.') return false;
  for (char c : part)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

// "/a/b.js" -> {"a", "b.js"}; nullopt if any component is unsafe.
std::optional<std::vector<std::string>> split_url_path(const std::string& url_path) {
  if (url_path.empty() || url_path[0] != '/') return std::nullopt;
  std::vector<std::string> parts;
  size_t begin = 1;
  while (begin <= url_path.size()) {
    const size_t end = std::min(url_path.find('/', begin), url_path.size());
    parts.push_back(url_path.substr(begin, end - begin));
    begin = end + 1;
  }
  if (parts.size() == 1 && parts[0].empty()) return std::vector<std::string>{"index.html"};
  if (static_cast<int>(parts.size()) > kMaxPathDepth) return std::nullopt;
  for (const std::string& part : parts)
    if (!safe_component(part)) return std::nullopt;
  return parts;
}

}  // namespace

std::string find_web_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("TAGSCAPE_WEB_DIR"); env && *env) candidates.emplace_back(env);
  if (const fs::path exe = executable_dir(); !exe.empty()) {
    candidates.push_back(exe / ".." / "share" / "tagscape" / "web");
    candidates.push_back(exe / "web");
  }
#ifdef TAGSCAPE_SOURCE_DIR
  candidates.push_back(fs::path(TAGSCAPE_SOURCE_DIR) / "web" / "dist");
#endif
  for (const fs::path& dir : candidates) {
    std::error_code error;
    if (has_index(dir)) return fs::canonical(dir, error).string();
  }
  return "";
}

std::string content_type_for(const std::string& file_name) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".map", "application/json"}, {".svg", "image/svg+xml"},
      {".png", "image/png"}, {".jpg", "image/jpeg"}, {".ico", "image/x-icon"}, {".webp", "image/webp"},
      {".woff2", "font/woff2"}, {".woff", "font/woff"}, {".wasm", "application/wasm"}, {".txt", "text/plain; charset=utf-8"},
  };
  const std::string ext = fs::path(file_name).extension().string();
  for (const auto& [e, type] : kTypes)
    if (ext == e) return type;
  return "application/octet-stream";
}

std::optional<StaticFile> read_static_file(const std::string& web_dir, const std::string& url_path) {
  if (web_dir.empty()) return std::nullopt;
  const auto parts = split_url_path(url_path);
  if (!parts) return std::nullopt;
  fs::path file = web_dir;
  for (const std::string& part : *parts) file /= part;
  std::error_code error;
  const fs::path real = fs::canonical(file, error);
  if (error || !fs::is_regular_file(real, error)) return std::nullopt;
  const std::string root = fs::canonical(web_dir, error).string() + "/";
  if (error || real.string().compare(0, root.size(), root) != 0) return std::nullopt;  // symlink out
  const uintmax_t size = fs::file_size(real, error);
  if (error || size > kMaxStaticFileBytes) return std::nullopt;
  std::ifstream in(real, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return StaticFile{bytes.str(), content_type_for(parts->back()), parts->size() > 1 && (*parts)[0] == "assets"};
}

const char* const kFallbackPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tagscape</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>tagscape</h1>
<p>The server is running, but the web app is not built.</p>
<p>Build it with Node.js (npm) installed:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>or re-run <code>cmake --build build</code> once Node.js is installed (it builds <code>web/</code> when it finds npm),
or point <code>TAGSCAPE_WEB_DIR</code> at a built app. The API is available under <a href="/api/summary">/api/summary</a>.</p>
</body></html>
)";

}  // namespace tagscape::server
