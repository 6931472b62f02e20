#include "transport.h"

#include "minion/common/env.h"

namespace minion::cli {

std::string TransportUrl(const TransportFlags& flags) {
  if (!flags.url.empty()) return flags.url;
  return env::Get("MINION_TRANSPORT").value_or("");
}

Result<transports::RedisStreamsOptions> RedisOptions(const TransportFlags& flags) {
  MINION_ASSIGN_OR_RETURN(auto endpoint, transports::RedisEndpoint::Parse(TransportUrl(flags)));
  transports::RedisStreamsOptions o;
  o.endpoint = std::move(endpoint);
  o.key_namespace = flags.key_namespace;
  o.reclaim_idle = std::chrono::milliseconds(flags.reclaim_idle_ms);
  o.max_deliveries = flags.max_deliveries;
  return o;
}

}  // namespace minion::cli
