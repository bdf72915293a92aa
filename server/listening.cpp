#include "server/listening.h"

#include "server/server_state.h"

namespace tagscape::server {

void register_listening_routes(Server& server) { (void)server; }

}  // namespace tagscape::server
