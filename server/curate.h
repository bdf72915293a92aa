// server/curate.h — endpoints for playlists (M3U8/CSV), tag/mood-guided walks, axis explanations (issue 6).
// The contract is in server/API.md.
#pragma once

namespace tagscape::server {

struct Server;

// Adds this file's routes to server.http (called by register_routes before the /api 404 catch-all).
void register_curate_routes(Server& server);

}  // namespace tagscape::server
