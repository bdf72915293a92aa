#include "server/curate.h"

#include "server/server_state.h"

namespace tagscape::server {

void register_curate_routes(Server& server) { (void)server; }

}  // namespace tagscape::server
