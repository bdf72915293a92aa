// server/listening.h — endpoints for the listening test: trials, stored answers, per-space agreement (issue 6).
// The contract is in server/API.md.
#pragma once

namespace tagscape::server {

struct Server;

// Adds this file's routes to server.http (called by register_routes before the /api 404 catch-all).
void register_listening_routes(Server& server);

}  // namespace tagscape::server
