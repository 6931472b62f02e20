// RedisStreamsProtocol: worker adverts and heartbeats, broadcast groups.
#include "protocol_impl.h"

namespace minion::transports {
Status RedisStreamsProtocol::Impl::JoinGroup(std::string_view agent_id, std::string_view group) {
  {
    std::lock_guard lock(subs_mu_);
    if (!subs_.count(agent_id))
      return NotFoundError("agent '" + std::string(agent_id) + "' is not subscribed");
  }
  MINION_ASSIGN_OR_RETURN(Reply r, Run({"SADD", GroupKey(group), std::string(agent_id)}));
  if (r.is_error()) return UnavailableError("redis SADD: " + r.str);
  return Status::Ok();
}

Status RedisStreamsProtocol::Impl::LeaveGroup(std::string_view agent_id, std::string_view group) {
  MINION_ASSIGN_OR_RETURN(Reply r, Run({"SREM", GroupKey(group), std::string(agent_id)}));
  if (r.is_error()) return UnavailableError("redis SREM: " + r.str);
  if (r.integer == 0) {
    return NotFoundError("agent '" + std::string(agent_id) + "' is not in group '" +
                         std::string(group) + "'");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> RedisStreamsProtocol::Impl::Members(std::string_view group) {
  MINION_ASSIGN_OR_RETURN(Reply r, Run({"SMEMBERS", GroupKey(group)}));
  if (r.is_error()) return UnavailableError("redis SMEMBERS: " + r.str);
  std::vector<std::string> out;
  for (const auto& m : r.elements) out.push_back(m.str);
  std::sort(out.begin(), out.end());
  return out;
}

Status RedisStreamsProtocol::Impl::Advertise(WorkerAdvert advert) {
  if (advert.id.empty()) return InvalidArgumentError("worker id must not be empty");
  if (advert.capabilities.empty())
    return InvalidArgumentError("worker '" + advert.id + "' has no capabilities");
  if (advert.host.empty()) advert.host = host_;
  if (advert.pid == 0) advert.pid = getpid();
  // The capability streams exist (meta, group) before anyone can see this advert, so a
  // coordinator that routes to it right away neither gets NotFound nor adds work ahead of
  // the group.
  {
    auto c = Take();
    if (!c.ok()) return c.status().WithContext("advertising worker '" + advert.id + "'");
    for (const auto& cap : advert.capabilities) {
      for (bool control : {false, true}) {
        StreamSpec spec;
        std::string id = CapabilityAgentId(cap);
        spec.key = KeyFor(control ? agents::WorkerControlId(id) : id);
        spec.meta_key = MetaKey(spec.key);
        spec.fanout = control;
        spec.capacity = control ? kFanoutCapacity : options_.default_capacity;
        std::string last;
        MINION_RETURN_IF_ERROR(
            Prepare(**c, spec, &last).WithContext("advertising worker '" + advert.id + "'"));
      }
    }
    Give(std::move(*c));
  }
  {
    std::lock_guard lock(adverts_mu_);
    adverts_[advert.id] = advert;
    if (!heartbeat_.joinable()) heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  }
  return Publish(advert);
}

Status RedisStreamsProtocol::Impl::Publish(WorkerAdvert advert) {
  advert.last_heartbeat_ms = NowMillis();
  {
    std::lock_guard lock(subs_mu_);
    if (auto it = subs_.find(advert.id); it != subs_.end()) {
      std::lock_guard slock(it->second->mu);
      advert.in_flight = static_cast<std::int64_t>(it->second->running);
    }
  }
  nlohmann::json j = {{"id", advert.id},
                      {"kind", advert.kind},
                      {"capabilities", advert.capabilities},
                      {"host", advert.host},
                      {"pid", advert.pid},
                      {"in_flight", advert.in_flight},
                      {"last_heartbeat_ms", advert.last_heartbeat_ms}};
  auto ttl = std::to_string((options_.heartbeat * 3).count());
  auto r =
      RunPipeline({{"SET", WorkerKey(advert.id),
                    j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "PX", ttl},
                   {"SADD", WorkersKey(), advert.id}});
  if (!r.ok()) return r.status().WithContext("registering worker '" + advert.id + "'");
  for (const auto& x : *r) {
    if (x.is_error()) return UnavailableError("registering worker '" + advert.id + "': " + x.str);
  }
  return Status::Ok();
}

void RedisStreamsProtocol::Impl::HeartbeatLoop() {
  bool failing = false;
  std::unique_lock lock(adverts_mu_);
  while (!heartbeat_stop_) {
    heartbeat_cv_.wait_for(lock, options_.heartbeat, [&] { return heartbeat_stop_; });
    if (heartbeat_stop_) break;
    std::vector<WorkerAdvert> adverts;
    for (const auto& [id, a] : adverts_) adverts.push_back(a);
    lock.unlock();
    for (const auto& a : adverts) {
      Status s = Publish(a);
      if (!s.ok() && !failing) Log("heartbeat: " + s.ToString());
      failing = !s.ok();
    }
    lock.lock();
  }
}

Status RedisStreamsProtocol::Impl::Withdraw(std::string_view id) {
  {
    std::lock_guard lock(adverts_mu_);
    if (!adverts_.erase(std::string(id)))
      return NotFoundError("worker '" + std::string(id) + "' is not advertised");
  }
  auto r = RunPipeline({{"DEL", WorkerKey(id)}, {"SREM", WorkersKey(), std::string(id)}});
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<WorkerAdvert>> RedisStreamsProtocol::Impl::ListWorkers() {
  MINION_ASSIGN_OR_RETURN(Reply ids, Run({"SMEMBERS", WorkersKey()}));
  if (ids.is_error()) return UnavailableError("redis SMEMBERS " + WorkersKey() + ": " + ids.str);
  std::vector<WorkerAdvert> out;
  if (ids.elements.empty()) return out;
  std::vector<std::string> mget = {"MGET"};
  for (const auto& id : ids.elements) mget.push_back(WorkerKey(id.str));
  MINION_ASSIGN_OR_RETURN(Reply values, Run(mget));
  if (values.is_error()) return UnavailableError("redis MGET: " + values.str);
  std::vector<std::string> gone = {"SREM", WorkersKey()};
  for (std::size_t i = 0; i < ids.elements.size() && i < values.elements.size(); ++i) {
    const Reply& v = values.elements[i];
    if (v.is_nil()) {
      gone.push_back(ids.elements[i].str);  // its registration expired: the worker is gone
      continue;
    }
    auto j = nlohmann::json::parse(v.str, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    WorkerAdvert a;
    a.id = j.value("id", ids.elements[i].str);
    a.kind = j.value("kind", "");
    if (auto c = j.find("capabilities"); c != j.end() && c->is_array()) {
      for (const auto& x : *c) {
        if (x.is_string()) a.capabilities.push_back(x.get<std::string>());
      }
    }
    a.host = j.value("host", "");
    a.pid = j.value("pid", std::int64_t{0});
    a.in_flight = j.value("in_flight", std::int64_t{0});
    a.last_heartbeat_ms = j.value("last_heartbeat_ms", std::int64_t{0});
    out.push_back(std::move(a));
  }
  if (gone.size() > 2) (void)Run(gone);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

}  // namespace minion::transports
