// RedisStreamsProtocol: subscriptions (reader roles, reads, reconnect, handling, ack, stop).
#include "protocol_impl.h"

#include <random>

namespace minion::transports {
thread_local const RedisStreamsProtocol::Impl::Subscription*
    RedisStreamsProtocol::Impl::tls_current_ = nullptr;
thread_local bool RedisStreamsProtocol::Impl::tls_send_failed_ = false;

Status RedisStreamsProtocol::Impl::Subscribe(std::string_view agent_id,
                                             agents::SubscribeOptions options,
                                             agents::MessageHandler handler) {
  if (agent_id.empty()) return InvalidArgumentError("agent id must not be empty");
  if (!handler)
    return InvalidArgumentError("handler for agent '" + std::string(agent_id) + "' is empty");
  if (!accepting_.load(std::memory_order_acquire)) return UnavailableError("protocol is shut down");
  auto sub = std::make_shared<Subscription>();
  sub->agent_id = std::string(agent_id);
  sub->consumer = options_.consumer + "/" + sub->agent_id;
  sub->types = TypeMask(options.types);
  sub->max_concurrency = std::max<std::size_t>(1, options.max_concurrency);
  sub->handler = std::move(handler);
  std::size_t capacity =
      options.mailbox_capacity ? options.mailbox_capacity : options_.default_capacity;
  auto own = std::make_unique<StreamSpec>();
  own->key = KeyFor(agent_id);
  own->meta_key = MetaKey(own->key);
  own->dead_key = DeadKey(own->key);
  own->types = sub->types;
  own->capacity = capacity;
  // A capability id subscribed directly, or its control id, behave like advertised ones.
  own->fanout = own->key.size() > 8 && own->key.compare(own->key.size() - 8, 8, ":control") == 0;
  if (own->fanout) own->capacity = kFanoutCapacity;
  sub->streams.push_back(std::move(own));
  {
    std::lock_guard lock(adverts_mu_);
    std::string_view base = agent_id;
    bool control = base.size() > kControlSuffix.size() &&
                   base.substr(base.size() - kControlSuffix.size()) == kControlSuffix;
    if (control) base = base.substr(0, base.size() - kControlSuffix.size());
    if (auto it = adverts_.find(std::string(base)); it != adverts_.end()) {
      for (const auto& cap : it->second.capabilities) {
        auto s = std::make_unique<StreamSpec>();
        std::string cap_id = CapabilityAgentId(cap);
        s->key = KeyFor(control ? agents::WorkerControlId(cap_id) : cap_id);
        s->meta_key = MetaKey(s->key);
        s->dead_key = DeadKey(s->key);
        s->fanout = control;
        s->types = sub->types;
        s->capacity = control ? kFanoutCapacity : options_.default_capacity;
        sub->streams.push_back(std::move(s));
      }
    }
  }
  // Create the streams, groups and meta now, so a send right after Subscribe returns finds them.
  auto c = Take();
  if (!c.ok()) return c.status().WithContext("subscribing '" + sub->agent_id + "'");
  for (const auto& s : sub->streams) {
    std::string last;
    Status prepared = Prepare(**c, *s, &last);
    if (!prepared.ok()) return prepared.WithContext("subscribing '" + sub->agent_id + "'");
  }
  Give(std::move(*c));
  {
    std::lock_guard lock(subs_mu_);
    if (!accepting_.load()) return UnavailableError("protocol is shut down");
    if (subs_.count(sub->agent_id)) {
      return Status(StatusCode::kAlreadyExists,
                    "agent '" + sub->agent_id + "' is already subscribed");
    }
    subs_[sub->agent_id] = sub;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& s : sub->streams) {
      auto r = std::make_unique<Reader>();
      r->spec = s.get();
      r->last_reclaim = now - options_.reclaim_idle;  // reclaim at once: a crash left entries
      r->last_touch = now;
      sub->readers.push_back(std::move(r));
    }
    for (std::size_t i = 0; i < sub->streams.size() + sub->max_concurrency; ++i) {
      sub->threads.emplace_back([this, sub] { Loop(sub); });
    }
  }
  return Status::Ok();
}

// Group and meta for `s` (idempotent; also after Redis lost them). For a fan-out stream,
// *last is where reading starts: the newest entry now.
Status RedisStreamsProtocol::Impl::Prepare(Connection& c, const StreamSpec& s, std::string* last) {
  std::vector<std::vector<std::string>> cmds;
  // From the start of the stream, not "$": acknowledged entries are deleted, so whatever the
  // stream holds is unprocessed work, including what a sender added before the group existed.
  cmds.push_back({"XGROUP", "CREATE", s.key, options_.group, "0", "MKSTREAM"});
  std::vector<std::string> meta = {"HSET",     s.meta_key,
                                   "capacity", std::to_string(s.capacity),
                                   "mode",     s.fanout ? "fanout" : "queue"};
  // A shared stream's type filter belongs to no single subscriber; leave it open.
  if (s.key.find(":{agent:") != std::string::npos) {
    meta.push_back("types");
    meta.push_back(std::to_string(s.types));
  }
  cmds.push_back(std::move(meta));
  if (s.fanout) cmds.push_back({"XREVRANGE", s.key, "+", "-", "COUNT", "1"});
  MINION_ASSIGN_OR_RETURN(auto replies, c.Pipeline(cmds));
  if (replies[0].is_error() && replies[0].str.rfind("BUSYGROUP", 0) != 0) {
    return UnavailableError("redis XGROUP CREATE " + s.key + ": " + replies[0].str);
  }
  if (replies[1].is_error())
    return UnavailableError("redis HSET " + s.meta_key + ": " + replies[1].str);
  if (s.fanout) {
    *last = "0-0";
    if (replies[2].is_array() && !replies[2].elements.empty() &&
        replies[2].elements[0].is_array() && !replies[2].elements[0].elements.empty()) {
      *last = replies[2].elements[0].elements[0].str;
    }
  }
  return Status::Ok();
}

// Waits `delay` or until the subscription stops or drains; false when it did.
bool RedisStreamsProtocol::Impl::Pause(Subscription& sub, std::chrono::milliseconds delay) {
  std::unique_lock lock(sub.mu);
  return !sub.slot_cv.wait_for(lock, delay, [&] { return sub.stop_reading || sub.draining; });
}

std::chrono::milliseconds RedisStreamsProtocol::Impl::Jittered(std::chrono::milliseconds base) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> d(0.5, 1.5);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng)));
}

// A free reader role of `sub`, or null. Caller holds sub.mu.
RedisStreamsProtocol::Impl::Reader* RedisStreamsProtocol::Impl::FreeReader(Subscription& sub) {
  if (sub.stop_reading) return nullptr;
  for (auto& r : sub.readers) {
    if (!r->reading && !r->done) return r.get();
  }
  return nullptr;
}

// Every thread of a subscription runs this: handle a queued entry, else read as a stream's
// reader (and then handle the oldest entry read, on this thread).
void RedisStreamsProtocol::Impl::Loop(std::shared_ptr<Subscription> sub) {
  std::unique_lock lock(sub->mu);
  for (;;) {
    Reader* role = nullptr;
    sub->work_cv.wait(lock, [&] {
      if (!sub->queue.empty() || sub->stop_handlers) return true;
      role = FreeReader(*sub);
      return role != nullptr;
    });
    if (!sub->queue.empty()) {
      Entry e = std::move(sub->queue.front());
      sub->queue.pop_front();
      sub->running++;
      lock.unlock();
      Handle(*sub, e);
      lock.lock();
      sub->running--;
      sub->in_use--;
      if (!e.stream->fanout) {
        auto it = sub->held.find(e.stream->key);
        if (it != sub->held.end()) it->second.erase(e.entry_id);
      }
      sub->slot_cv.notify_all();
      if (sub->in_use == 0) sub->idle_cv.notify_all();
      continue;
    }
    if (sub->stop_handlers) return;
    role->reading = true;
    lock.unlock();
    std::vector<Entry> got;
    const bool ended = ReadOnce(*sub, *role, &got);
    lock.lock();
    role->reading = false;
    if (ended) {
      role->done = true;
      sub->readers_cv.notify_all();
    }
    for (auto& e : got) {
      sub->in_use++;
      if (!e.stream->fanout) sub->held[e.stream->key].insert(e.entry_id);
      sub->queue.push_back(std::move(e));
    }
    // This thread takes the oldest queued entry on its next turn; wake one thread for each
    // other entry and one for the reader role it leaves.
    for (std::size_t i = 0; i < got.size(); ++i) sub->work_cv.notify_one();
  }
}

// One turn of a stream's reader: wait for a free slot, keep the connection, touch what this
// consumer holds, reclaim, read. True when the reader is done (stopped, or drained).
bool RedisStreamsProtocol::Impl::ReadOnce(Subscription& sub, Reader& rd, std::vector<Entry>* got) {
  const StreamSpec* spec = rd.spec;
  const auto touch_every = std::max(options_.reclaim_idle / 3, std::chrono::milliseconds(1));
  const auto reclaim_every = std::max(options_.reclaim_idle / 2, std::chrono::milliseconds(1));
  bool draining;
  std::size_t free;
  {
    std::unique_lock lock(sub.mu);
    if (sub.stop_reading) return true;
    // Take no more than can run: what this consumer holds unstarted, others cannot reclaim.
    sub.slot_cv.wait_for(lock, options_.block,
                         [&] { return sub.stop_reading || sub.in_use < sub.max_concurrency; });
    if (sub.stop_reading) return true;
    draining = sub.draining;
    if (draining && std::chrono::steady_clock::now() >= sub.drain_deadline) return true;
    free = sub.in_use < sub.max_concurrency ? sub.max_concurrency - sub.in_use : 0;
  }
  if (!rd.conn || rd.conn->broken()) {
    if (rd.conn) reconnects_.fetch_add(1, std::memory_order_relaxed);
    rd.conn.reset();
    auto opened = Connection::Open(options_.endpoint, options_.connect_timeout);
    Status ready = opened.ok() ? Prepare(**opened, *spec, &rd.last_id) : opened.status();
    if (!ready.ok()) {
      if (!rd.logged_down) Log(ready.ToString() + "; retrying with backoff");
      rd.logged_down = true;
      if (draining) return true;
      if (!Pause(sub, Jittered(rd.backoff))) return true;
      rd.backoff = std::min(rd.backoff * 2, std::chrono::milliseconds(5000));
      return false;
    }
    if (rd.logged_down) Log("reconnected to " + options_.endpoint.Describe() + " for " + spec->key);
    rd.logged_down = false;
    rd.backoff = std::chrono::milliseconds(50);
    rd.conn = std::move(opened).value();
    rd.conn->SetTimeout(options_.block + options_.connect_timeout);
  }
  const auto now = std::chrono::steady_clock::now();
  if (!spec->fanout && now - rd.last_touch >= touch_every) {
    Touch(sub, *spec, *rd.conn);
    rd.last_touch = now;
  }
  if (free == 0) return false;
  Status s;
  if (spec->fanout) {
    s = ReadFanout(*rd.conn, *spec, free, draining, &rd.last_id, got);
  } else {
    if (now - rd.last_reclaim >= reclaim_every) {
      s = Reclaim(sub, *spec, *rd.conn, free, got);
      rd.last_reclaim = now;
    }
    if (s.ok() && got->empty()) s = ReadGroup(sub, *spec, *rd.conn, free, draining, got);
  }
  if (!s.ok()) {
    if (s.code() == StatusCode::kNotFound && rd.conn && !rd.conn->broken()) {
      // NOGROUP: Redis lost the stream or group (restarted without persistence, or a DEL).
      Status again = Prepare(*rd.conn, *spec, &rd.last_id);
      if (again.ok()) return false;
    }
    if (!rd.logged_down) Log("reading " + spec->key + ": " + s.ToString());
    rd.logged_down = true;
    if (rd.conn && !rd.conn->broken()) rd.conn.reset();
    if (draining) return true;
    if (!Pause(sub, Jittered(rd.backoff))) return true;
    rd.backoff = std::min(rd.backoff * 2, std::chrono::milliseconds(5000));
    return false;
  }
  return got->empty() && draining;
}

// Parses entries; a parsed one becomes an Entry, the rest stay pending for dead-lettering.
void RedisStreamsProtocol::Impl::Collect(const Reply& entries, const StreamSpec& spec,
                                         std::int64_t deliveries,
                                         const std::map<std::string, std::int64_t>* counts,
                                         std::vector<Entry>* out) {
  if (!entries.is_array()) return;
  std::string id;
  std::vector<std::string> fields;
  for (const auto& raw : entries.elements) {
    if (!EntryOf(raw, &id, &fields)) continue;
    auto parsed = redis::DecodeEntry(fields, options_.max_message_bytes);
    if (!parsed.ok()) {
      unparseable_.fetch_add(1, std::memory_order_relaxed);
      Log("entry " + id + " on " + spec.key + " is not a message (" + parsed.status().message() +
          "); leaving it for dead-lettering");
      continue;
    }
    Entry e;
    e.stream = &spec;
    e.entry_id = id;
    e.deliveries = deliveries;
    if (counts) {
      auto it = counts->find(id);
      if (it != counts->end()) e.deliveries = it->second;
    }
    e.message = std::move(parsed).value();
    out->push_back(std::move(e));
  }
}

Status RedisStreamsProtocol::Impl::ReplyError(const std::string& what, const Reply& r) {
  if (r.str.rfind("NOGROUP", 0) == 0) return NotFoundError(what + ": " + r.str);
  return UnavailableError(what + ": " + r.str);
}

Status RedisStreamsProtocol::Impl::ReadGroup(Subscription& sub, const StreamSpec& spec,
                                             Connection& conn, std::size_t count, bool draining,
                                             std::vector<Entry>* out) {
  std::vector<std::string> args = {"XREADGROUP", "GROUP", options_.group,
                                   sub.consumer, "COUNT", std::to_string(count)};
  if (!draining) {
    args.push_back("BLOCK");
    args.push_back(std::to_string(options_.block.count()));
  }
  args.insert(args.end(), {"STREAMS", spec.key, ">"});
  MINION_ASSIGN_OR_RETURN(Reply r, conn.Command(args));
  if (r.is_error()) return ReplyError("XREADGROUP " + spec.key, r);
  if (!r.is_array() || r.elements.empty()) return Status::Ok();  // timed out
  const Reply& stream = r.elements[0];
  if (stream.is_array() && stream.elements.size() == 2)
    Collect(stream.elements[1], spec, 1, nullptr, out);
  return Status::Ok();
}

Status RedisStreamsProtocol::Impl::ReadFanout(Connection& conn, const StreamSpec& spec,
                                              std::size_t count, bool draining,
                                              std::string* last_id, std::vector<Entry>* out) {
  std::vector<std::string> args = {"XREAD", "COUNT", std::to_string(count)};
  if (!draining) {
    args.push_back("BLOCK");
    args.push_back(std::to_string(options_.block.count()));
  }
  args.insert(args.end(), {"STREAMS", spec.key, last_id->empty() ? "$" : *last_id});
  MINION_ASSIGN_OR_RETURN(Reply r, conn.Command(args));
  if (r.is_error()) return ReplyError("XREAD " + spec.key, r);
  if (!r.is_array() || r.elements.empty()) return Status::Ok();
  const Reply& stream = r.elements[0];
  if (!stream.is_array() || stream.elements.size() != 2 || !stream.elements[1].is_array())
    return Status::Ok();
  const auto& entries = stream.elements[1].elements;
  if (!entries.empty() && entries.back().is_array() && !entries.back().elements.empty()) {
    *last_id = entries.back().elements[0].str;
  }
  Collect(stream.elements[1], spec, 1, nullptr, out);
  return Status::Ok();
}

// Keeps what this consumer is working on from being reclaimed: XCLAIM to itself resets the
// idle time without counting a delivery (JUSTID).
void RedisStreamsProtocol::Impl::Touch(Subscription& sub, const StreamSpec& spec,
                                       Connection& conn) {
  std::vector<std::string> args = {"XCLAIM", spec.key, options_.group, sub.consumer, "0"};
  {
    std::lock_guard lock(sub.mu);
    auto it = sub.held.find(spec.key);
    if (it == sub.held.end() || it->second.empty()) return;
    for (const auto& id : it->second) args.push_back(id);
  }
  args.push_back("JUSTID");
  (void)conn.Command(args);
}

// Runs the handler for `e` (when the subscription accepts its type), then acknowledges it.
void RedisStreamsProtocol::Impl::Handle(Subscription& sub, Entry& e) {
  const StreamSpec& spec = *e.stream;
  if (sub.types & (1u << static_cast<unsigned>(e.message.type))) {
    Message& m = e.message;
    m.metadata["messaging.system"] = "redis";
    m.metadata["messaging.destination.name"] = spec.key;
    m.metadata["messaging.operation.type"] = "process";
    m.metadata["messaging.message.id"] = e.entry_id;
    if (!spec.fanout) m.metadata["messaging.consumer.group.name"] = options_.group;
    if (e.deliveries > 1) {
      m.metadata["messaging.redis.message.delivery_count"] = std::to_string(e.deliveries);
      redelivered_.fetch_add(1, std::memory_order_relaxed);
    }
    trace::Context ctx = agents::ExtractMessageContext(m, options_.propagator);
    delivered_.fetch_add(1, std::memory_order_relaxed);
    tls_current_ = &sub;
    tls_send_failed_ = false;
    sub.handler(ctx, std::move(m));
    tls_current_ = nullptr;
  }
  if (tls_send_failed_) {
    // Redis went away while the handler sent (its reply): leave the entry pending, it is
    // delivered again once Redis is back, so the reply is not lost.
    tls_send_failed_ = false;
    Log("not acknowledging " + e.entry_id + " on " + spec.key +
        ": a message its handler sent was not written; it will be redelivered");
  } else if (!spec.fanout) {
    // Acknowledged only now: whatever the handler sent (its reply) is already in Redis.
    auto r = RunPipeline(
        {{"XACK", spec.key, options_.group, e.entry_id}, {"XDEL", spec.key, e.entry_id}});
    if (r.ok())
      acked_.fetch_add(1, std::memory_order_relaxed);
    else
      Log("acknowledging " + e.entry_id + " on " + spec.key +
          " failed (it will be redelivered): " + r.status().ToString());
  }
}

// Stops `sub`. drain_until: read what its streams hold and handle it before stopping.
void RedisStreamsProtocol::Impl::Stop(
    const std::shared_ptr<Subscription>& sub,
    std::optional<std::chrono::steady_clock::time_point> drain_until, bool* drained) {
  {
    std::unique_lock lock(sub->mu);
    if (drain_until) {
      sub->draining = true;
      sub->drain_deadline = *drain_until;
    } else {
      sub->stop_reading = true;
    }
    sub->slot_cv.notify_all();
    sub->work_cv.notify_all();
  }
  const bool self = tls_current_ == sub.get();
  if (drain_until) {
    std::unique_lock lock(sub->mu);
    // Readers end by themselves when draining (after a read that found nothing, or at the
    // deadline); then wait for the handlers to empty.
    sub->readers_cv.wait_until(lock, *drain_until, [&] {
      return std::all_of(sub->readers.begin(), sub->readers.end(),
                         [](const auto& r) { return r->done; });
    });
    sub->stop_reading = true;
    sub->slot_cv.notify_all();
    bool ok = sub->idle_cv.wait_until(lock, *drain_until,
                                      [&] { return sub->in_use <= (self ? 1u : 0u); });
    if (!ok && drained) *drained = false;
  }
  {
    std::lock_guard lock(sub->mu);
    sub->stop_reading = true;
    // Entries not started stay pending in Redis: another consumer reclaims them.
    sub->in_use -= sub->queue.size();
    sub->queue.clear();
    sub->stop_handlers = true;
    sub->work_cv.notify_all();
    sub->slot_cv.notify_all();
  }
  if (self) {
    std::lock_guard lock(retired_mu_);
    retired_.push_back(sub);  // joined by Shutdown: a thread cannot join itself
    return;
  }
  for (auto& t : sub->threads) {
    if (t.joinable()) t.join();
  }
}

Status RedisStreamsProtocol::Impl::Unsubscribe(std::string_view agent_id) {
  std::shared_ptr<Subscription> sub;
  {
    std::lock_guard lock(subs_mu_);
    auto it = subs_.find(agent_id);
    if (it == subs_.end())
      return NotFoundError("agent '" + std::string(agent_id) + "' is not subscribed");
    sub = std::move(it->second);
    subs_.erase(it);
  }
  Stop(sub, std::nullopt, nullptr);
  // The agent's own inbox goes with it (waiting messages are dropped, as in-process);
  // capability streams are shared and stay.
  const StreamSpec& own = *sub->streams.front();
  if (own.key.find(":{agent:") != std::string::npos) {
    (void)Run({"DEL", own.key, own.meta_key});
  }
  return Status::Ok();
}

}  // namespace minion::transports
