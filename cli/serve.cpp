// `tagscape serve`: the web explorer and its HTTP API over a collection (server/server.h).
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/error.h"
#include "server/server.h"

extern char** environ;

namespace tagscape::cli {

namespace {

struct ServeOptions {
  server::ServerOptions server;
  bool open_browser = false;
};

// Best effort: a desktop opens the URL; on a headless machine nothing happens.
void open_in_browser(const std::string& url) {
  pid_t pid = 0;
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  if (posix_spawnp(&pid, "xdg-open", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    std::fprintf(stderr, "tagscape: could not run xdg-open; open %s yourself\n", url.c_str());
}

}  // namespace

int serve_until_stopped(const server::ServerOptions& server_options, bool open_browser) {
  const ServeOptions options{server_options, open_browser};
  if (const auto problem = server::check_server_options(options.server)) {
    std::fprintf(stderr, "tagscape serve: %s\n", problem->c_str());
    return 2;
  }
  if (!server::is_loopback_host(options.server.host))
    std::fprintf(stderr,
                 "tagscape serve: warning: listening on %s, reachable from other machines; every /api request "
                 "needs the token (traffic is plain HTTP, not encrypted)\n",
                 options.server.host.c_str());
  server::ServerHandle running = server::start_server(options.server);
  const std::string host = options.server.host.find(':') != std::string::npos ? "[" + options.server.host + "]"
                                                                             : options.server.host;
  std::string url = "http://" + host + ":" + std::to_string(server::server_port(*running)) + "/";
  if (!options.server.token.empty()) url += "?token=" + options.server.token;
  std::printf("tagscape: serving %s at %s\n", options.server.db_path.c_str(), url.c_str());
  if (server::server_web_dir(*running).empty())
    std::printf("tagscape: the web app is not built (see %s for how); the API works\n", url.c_str());
  std::printf("tagscape: press Ctrl-C to stop\n");
  std::fflush(stdout);
  if (options.open_browser) open_in_browser(url);
  server::wait_server(*running);
  return 0;
}

Command add_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* command = app.add_subcommand("serve", "Explore a collection in the browser (web app + HTTP API).");
  command->add_option("--db", options->server.db_path, "Collection file.")->capture_default_str();
  command->add_option("--host", options->server.host,
                      "Address to listen on; anything but loopback needs --token.")
      ->capture_default_str();
  command->add_option("--port", options->server.port, "Port (0: any free port).")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_flag("--open", options->open_browser, "Open the explorer in the default browser.");
  command->add_option("--token", options->server.token,
                      "Secret every /api request must carry (Authorization: Bearer T or ?token=T).");
  command->add_option("--web-dir", options->server.web_dir,
                      "Built web app to serve (default: TAGSCAPE_WEB_DIR, installed, build or source web/dist).");
  command->add_option("--threads", options->server.threads, "Concurrent request handlers.")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  return [options] { return serve_until_stopped(options->server, options->open_browser); };
}

}  // namespace tagscape::cli
