#pragma once
// `--transport` for the subcommands: empty means in-process; redis://... builds a
// RedisStreamsProtocol. MINION_TRANSPORT is the default when the flag is absent.

#include <memory>
#include <string>

#include "minion/common/status.h"
#include "minion/transports/redis_streams_protocol.h"

namespace minion::cli {

struct TransportFlags {
  std::string url;  // --transport, else MINION_TRANSPORT
  std::string key_namespace = "minion";
  int reclaim_idle_ms = 30000;
  int max_deliveries = 5;
};

// The URL to use: the flag, else MINION_TRANSPORT, else empty (in-process).
std::string TransportUrl(const TransportFlags& flags);
// InvalidArgument for a URL that is not redis://...; the options otherwise.
Result<transports::RedisStreamsOptions> RedisOptions(const TransportFlags& flags);

}  // namespace minion::cli
