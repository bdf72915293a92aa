// server/server.h — `tagscape serve`: the web app at "/" and the HTTP API under "/api/"
// (the contract is server/API.md), over one collection file, with cpp-httplib.
//
//   ServerOptions options{.db_path = "collection.tagscape"};
//   if (auto problem = check_server_options(options)) fail(*problem);
//   std::unique_ptr<Server> server = start_server(options);   // bound and listening
//   std::printf("http://127.0.0.1:%d/\n", server_port(*server));
//   wait_server(*server);                                      // or stop_server(*server)
//
// Safety: binds 127.0.0.1 by default; a non-loopback host needs a token, and then every
// /api request must carry `Authorization: Bearer TOKEN` or `?token=TOKEN` (401 otherwise).
// Requests name tracks by id, never by path, so nothing outside the collection's own files
// and the web app directory is ever opened. Every parameter is validated (400 JSON naming
// it); request bodies are refused above kMaxRequestBodyBytes (only POST
// /api/listening/answers takes one: JSON, each field validated, 400 naming it);
// responses are bounded (points: kMaxPoints, whole-track audio: kMaxWholeTrackSeconds).
// Every response carries kContentSecurityPolicy, X-Content-Type-Options: nosniff,
// X-Frame-Options: DENY and Referrer-Policy: no-referrer.
//
// Threads: httplib's pool (ServerOptions::threads workers) runs handlers concurrently;
// each handler borrows its own read-only SQLite connection from a small pool (a Store is
// one connection, one thread at a time). The collection may be written by `tagscape
// analyze` meanwhile (WAL: readers see the last committed state). The few writes (kNN
// indexes, listening answers) open a read-write connection per request; on a file this
// process may not write they fall back (kNN: built in memory) or answer 409 (answers).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace tagscape::server {

inline constexpr size_t kMaxRequestBodyBytes = 64 << 10;
inline constexpr double kMaxWholeTrackSeconds = 3600;  // GET /api/audio/{id}: 115 MB of 16 kHz WAV at most

// script-src needs 'unsafe-eval' only if the bundle compiles code at run time (regl does:
// its draw commands are generated with new Function) — see kScriptSrc in server.cpp.
extern const char* const kContentSecurityPolicy;

struct ServerOptions {
  std::string db_path = "collection.tagscape";  // the collection (opened read-only)
  std::string host = "127.0.0.1";               // address to bind
  int port = 8080;                              // 0: any free port (see server_port)
  std::string token;                            // required for a non-loopback host; "" = no auth
  std::string web_dir;                          // the built web app; "" = find_web_dir() (server/static_files.h)
  bool search_web_dir = true;                   // false: use web_dir as given ("" = the fallback page)
  size_t audio_cache_bytes = 64u << 20;         // segment WAV cache budget (~680 segments of 3 s)
  int threads = 8;                              // httplib worker threads (concurrent requests)
};

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

// Why these options must not be used, or nullopt: a non-loopback host without a token,
// a port outside 0..65535, threads < 1, a missing collection file.
std::optional<std::string> check_server_options(const ServerOptions& options);

// The auth rule: true when `token` is empty, or when the Authorization header is exactly
// "Bearer <token>" or the query token equals it (compared in constant time).
bool request_authorized(const std::string& token, const std::string& authorization_header,
                        const std::optional<std::string>& query_token);

struct Server;  // the running server (httplib::Server + state + listening thread)
struct ServerDeleter {
  void operator()(Server* server) const;  // stops and joins
};
using ServerHandle = std::unique_ptr<Server, ServerDeleter>;

// Opens the collection, binds host:port and starts listening on a background thread.
// Throws tagscape::Error when the collection cannot be opened or the address not bound
// ("127.0.0.1:8080: cannot listen (address in use?)"). Ignores SIGPIPE for the process:
// a client closing its connection mid-response must not kill the server.
ServerHandle start_server(const ServerOptions& options);

int server_port(const Server& server);                 // the bound port
const std::string& server_web_dir(const Server& server);  // "" when serving the fallback page
void wait_server(Server& server);  // blocks until stop_server (from another thread) or a fatal error
void stop_server(Server& server);  // stops accepting, lets handlers finish; idempotent

}  // namespace tagscape::server
