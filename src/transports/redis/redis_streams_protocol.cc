// RedisStreamsProtocol: endpoint URLs, the public facade, shutdown, stats. The rest of the
// implementation: protocol_impl.h lists the files.
#include "minion/transports/redis_streams_protocol.h"

#include <charconv>

#include "protocol_impl.h"

namespace minion::transports {

Result<RedisEndpoint> RedisEndpoint::Parse(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  constexpr std::string_view kUnixScheme = "unix://";
  const bool unix_socket = url.substr(0, kUnixScheme.size()) == kUnixScheme;
  if (!unix_socket && url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("transport URL must start with redis:// or unix:// (got scheme '" +
                                std::string(url.substr(0, url.find(':'))) + "')");
  }
  std::string_view rest = url.substr(unix_socket ? kUnixScheme.size() : kScheme.size());
  RedisEndpoint e;
  // The userinfo ends at the last '@' before the path (a socket path may itself contain '@').
  std::string_view authority = unix_socket ? rest.substr(0, rest.find('/')) : rest;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      e.user = std::string(userinfo.substr(0, colon));
      e.password = std::string(userinfo.substr(colon + 1));
    } else {
      e.password = std::string(userinfo);  // redis://secret@host: the password alone
    }
  }
  if (unix_socket) {
    std::string_view path = rest.substr(0, rest.find('?'));
    std::string_view query = rest.size() > path.size() ? rest.substr(path.size() + 1) : "";
    if (path.empty() || path[0] != '/')
      return InvalidArgumentError("unix:// transport URL needs an absolute socket path");
    e.unix_path = std::string(path);
    if (!query.empty()) {
      constexpr std::string_view kDb = "db=";
      std::string_view db = query.substr(0, kDb.size()) == kDb ? query.substr(kDb.size()) : "";
      auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), e.db);
      if (db.empty() || ec != std::errc() || ptr != db.data() + db.size() || e.db < 0) {
        return InvalidArgumentError("unix:// transport URL query '" + std::string(query) +
                                    "' is not db=<number>");
      }
    }
    return e;
  }
  std::string_view hostport = rest.substr(0, rest.find('/'));
  std::string_view path = rest.size() > hostport.size() ? rest.substr(hostport.size() + 1) : "";
  if (hostport.empty()) return InvalidArgumentError("transport URL has no host");
  if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = hostport.substr(colon + 1);
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p <= 0 || p > 65535) {
      return InvalidArgumentError("transport URL port '" + std::string(port) +
                                  "' is not a port number");
    }
    e.port = p;
    hostport = hostport.substr(0, colon);
  }
  e.host = std::string(hostport);
  if (e.host.empty()) return InvalidArgumentError("transport URL has no host");
  if (!path.empty()) {
    auto [ptr, ec] = std::from_chars(path.data(), path.data() + path.size(), e.db);
    if (ec != std::errc() || ptr != path.data() + path.size() || e.db < 0) {
      return InvalidArgumentError("transport URL database '" + std::string(path) +
                                  "' is not a number");
    }
  }
  return e;
}

std::string RedisEndpoint::Describe() const {
  if (!unix_path.empty()) return "unix://" + unix_path + "?db=" + std::to_string(db);
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

// ---------------------------------------------------------------------------------------------

Status RedisStreamsProtocol::Impl::Shutdown(std::chrono::milliseconds timeout) {
  std::lock_guard shutdown_lock(shutdown_mu_);
  if (shut_down_) return Status::Ok();
  accepting_.store(false, std::memory_order_seq_cst);
  // A send that passed its accepting_ check lands in Redis before the readers drain, so a
  // send that returned Ok is handled here (when its recipient is subscribed here).
  for (std::uint32_t n; (n = sends_in_flight_.load(std::memory_order_seq_cst)) != 0;) {
    sends_in_flight_.wait(n, std::memory_order_seq_cst);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<std::string, std::shared_ptr<Subscription>, std::less<>> subs;
  {
    std::lock_guard lock(subs_mu_);
    subs.swap(subs_);
  }
  bool drained = true;
  for (auto& [id, sub] : subs) Stop(sub, deadline, &drained);
  {
    std::unique_lock lock(adverts_mu_);
    heartbeat_stop_ = true;
    heartbeat_cv_.notify_all();
  }
  if (heartbeat_.joinable()) heartbeat_.join();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(adverts_mu_);
    for (const auto& [id, a] : adverts_) ids.push_back(id);
  }
  for (const auto& id : ids) (void)Withdraw(id);
  std::vector<std::shared_ptr<Subscription>> retired;
  {
    std::lock_guard lock(retired_mu_);
    retired.swap(retired_);
  }
  for (auto& sub : retired) {
    for (auto& t : sub->threads) {
      if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    }
  }
  {
    std::lock_guard lock(pool_mu_);
    pool_.clear();
  }
  shut_down_ = true;
  if (!drained)
    return DeadlineExceededError(
        "protocol shutdown left messages unhandled after the timeout "
        "(they stay pending in Redis for other consumers)");
  return Status::Ok();
}

RedisStreamsProtocol::Stats RedisStreamsProtocol::Impl::stats() const {
  return Stats{sent_.load(),       delivered_.load(),     redelivered_.load(),
               acked_.load(),      dead_lettered_.load(), rejected_full_.load(),
               reconnects_.load(), unparseable_.load(),   lost_attempts_.load()};
}

Status RedisStreamsProtocol::Impl::SendInternal(const trace::Context& parent, Message message) {
  return Send(facade_->policy_, parent, std::move(message));
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<RedisStreamsProtocol>> RedisStreamsProtocol::Connect(
    RedisStreamsOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  // Fail now, with a clear reason, rather than on the first send.
  MINION_ASSIGN_OR_RETURN(
      auto conn, Connection::Open(impl->options_.endpoint, impl->options_.connect_timeout));
  impl->Give(std::move(conn));
  std::unique_ptr<RedisStreamsProtocol> p(new RedisStreamsProtocol(std::move(impl)));
  return p;
}

RedisStreamsProtocol::RedisStreamsProtocol(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->facade_ = this;
}

RedisStreamsProtocol::~RedisStreamsProtocol() { (void)Shutdown(std::chrono::seconds(10)); }

std::string RedisStreamsProtocol::CapabilityAgentId(std::string_view capability) {
  return std::string(Impl::kCapabilityPrefix) + std::string(capability);
}

Status RedisStreamsProtocol::Send(const trace::Context& parent, Message message) {
  return impl_->Send(policy_, parent, std::move(message));
}

Status RedisStreamsProtocol::Broadcast(const trace::Context& parent, std::string_view group,
                                       Message message) {
  MINION_ASSIGN_OR_RETURN(auto members, impl_->Members(group));
  Status first;
  for (const auto& member : members) {
    if (member == message.from) continue;
    Message copy = message;
    copy.id.clear();
    copy.to = member;
    Status s = Send(parent, std::move(copy));
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Status RedisStreamsProtocol::Subscribe(std::string_view agent_id, agents::SubscribeOptions options,
                                       agents::MessageHandler handler) {
  return impl_->Subscribe(agent_id, std::move(options), std::move(handler));
}
Status RedisStreamsProtocol::Unsubscribe(std::string_view agent_id) {
  return impl_->Unsubscribe(agent_id);
}
Status RedisStreamsProtocol::JoinGroup(std::string_view a, std::string_view g) {
  return impl_->JoinGroup(a, g);
}
Status RedisStreamsProtocol::LeaveGroup(std::string_view a, std::string_view g) {
  return impl_->LeaveGroup(a, g);
}
Status RedisStreamsProtocol::Shutdown(std::chrono::milliseconds timeout) {
  return impl_->Shutdown(timeout);
}
Status RedisStreamsProtocol::Advertise(WorkerAdvert advert) {
  return impl_->Advertise(std::move(advert));
}
Status RedisStreamsProtocol::Withdraw(std::string_view id) { return impl_->Withdraw(id); }
Result<std::vector<WorkerAdvert>> RedisStreamsProtocol::ListWorkers() {
  return impl_->ListWorkers();
}
RedisStreamsProtocol::Stats RedisStreamsProtocol::stats() const { return impl_->stats(); }
std::string RedisStreamsProtocol::StreamKey(std::string_view agent_id) const {
  return impl_->KeyFor(agent_id);
}
std::string RedisStreamsProtocol::DeadLetterKey(std::string_view agent_id) const {
  return Impl::DeadKey(impl_->KeyFor(agent_id));
}

}  // namespace minion::transports
