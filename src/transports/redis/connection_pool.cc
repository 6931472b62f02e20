// RedisStreamsProtocol: pooled connections for short commands, and Lua scripts by SHA.
#include "protocol_impl.h"

namespace minion::transports {
Result<std::unique_ptr<Connection>> RedisStreamsProtocol::Impl::Take() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  return Connection::Open(options_.endpoint, options_.connect_timeout);
}

void RedisStreamsProtocol::Impl::Give(std::unique_ptr<Connection> c) {
  if (!c || c->broken()) return;
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < 16) pool_.push_back(std::move(c));
}

// One command on a pooled connection; a connection that broke is replaced once, so a Redis
// that restarted is picked up by the next command.
Result<Reply> RedisStreamsProtocol::Impl::Run(const std::vector<std::string>& args) {
  for (int attempt = 0;; ++attempt) {
    auto c = Take();
    if (!c.ok()) return c.status();
    auto r = (*c)->Command(args);
    bool broken = (*c)->broken();
    Give(std::move(*c));
    if (r.ok() || !broken || attempt == 1) return r;
    reconnects_.fetch_add(1, std::memory_order_relaxed);
  }
}

Result<std::vector<Reply>> RedisStreamsProtocol::Impl::RunPipeline(
    const std::vector<std::vector<std::string>>& commands) {
  auto c = Take();
  if (!c.ok()) return c.status();
  auto r = (*c)->Pipeline(commands);
  Give(std::move(*c));
  return r;
}

// EVALSHA with the script loaded on first use; EVAL when Redis lost its script cache.
Result<Reply> RedisStreamsProtocol::Impl::Script(const char* script, std::string* sha,
                                                 std::vector<std::string> keys_and_args,
                                                 std::size_t nkeys) {
  std::string known;
  {
    std::lock_guard lock(pool_mu_);
    known = *sha;
  }
  if (known.empty()) {
    MINION_ASSIGN_OR_RETURN(Reply loaded, Run({"SCRIPT", "LOAD", script}));
    if (loaded.type != Reply::Type::kString)
      return InternalError("redis SCRIPT LOAD failed: " + loaded.str);
    known = loaded.str;
    std::lock_guard lock(pool_mu_);
    *sha = known;
  }
  std::vector<std::string> args = {"EVALSHA", known, std::to_string(nkeys)};
  args.insert(args.end(), std::make_move_iterator(keys_and_args.begin()),
              std::make_move_iterator(keys_and_args.end()));
  MINION_ASSIGN_OR_RETURN(Reply r, Run(args));
  if (r.is_error() && r.str.rfind("NOSCRIPT", 0) == 0) {
    args[0] = "EVAL";
    args[1] = script;
    return Run(args);
  }
  return r;
}

}  // namespace minion::transports
