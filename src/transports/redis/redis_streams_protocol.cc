#include "minion/transports/redis_streams_protocol.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <deque>
#include <random>

#include "entry_codec.h"
#include "minion/agents/worker.h"
#include "minion/common/clock.h"
#include "minion/propagation/from_env.h"
#include "redis_connection.h"

namespace minion::transports {

using agents::Message;
using agents::MessageType;
using redis::Connection;
using redis::Reply;

namespace {

constexpr std::string_view kCapabilityPrefix = "capability:";
constexpr std::string_view kControlSuffix = "/control";
constexpr std::size_t kFanoutCapacity = 1024;

// KEYS[1] stream, KEYS[2] its meta hash. ARGV[1] the message type's bit, ARGV[2..] the fields.
// Checks and appends atomically: the recipient exists (its meta hash), accepts the type, and has
// room (queue mode; fan-out streams are trimmed instead).
constexpr const char* kSendScript = R"lua(
local meta = redis.call('HMGET', KEYS[2], 'capacity', 'types', 'mode')
if not meta[1] then return redis.error_reply('MINION_NOTFOUND') end
local mask = tonumber(meta[2])
if mask ~= nil and math.floor(mask / (2 ^ tonumber(ARGV[1]))) % 2 == 0 then
  return redis.error_reply('MINION_TYPE')
end
local cap = tonumber(meta[1])
if meta[3] == 'fanout' then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', unpack(ARGV, 2))
end
if redis.call('XLEN', KEYS[1]) >= cap then return redis.error_reply('MINION_FULL') end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
)lua";

// KEYS[1] stream, KEYS[2] dead-letter stream. ARGV: group, entry id, deliveries, reason, maxlen.
// Copies the entry with where it came from, then acknowledges and deletes it, atomically.
constexpr const char* kDeadLetterScript = R"lua(
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
local f = {'dead.stream', KEYS[1], 'dead.entry', ARGV[2], 'dead.deliveries', ARGV[3], 'dead.reason', ARGV[4]}
if e[1] then for _, v in ipairs(e[1][2]) do table.insert(f, v) end end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(f))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
)lua";

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::int64_t NowMillis() { return SystemClock().Now() / 1'000'000; }

std::uint32_t TypeMask(const std::vector<MessageType>& types) {
  if (types.empty()) return (1u << agents::kMessageTypeCount) - 1;
  std::uint32_t mask = 0;
  for (auto t : types) mask |= 1u << static_cast<unsigned>(t);
  return mask;
}

// Stream entry array [id, [f, v, f, v...]] -> (id, fields). False for a deleted entry (nil).
bool EntryOf(const Reply& r, std::string* id, std::vector<std::string>* fields) {
  if (!r.is_array() || r.elements.size() < 2 || r.elements[0].type != Reply::Type::kString)
    return false;
  *id = r.elements[0].str;
  fields->clear();
  if (!r.elements[1].is_array()) return true;  // entry without fields: still an entry
  for (const auto& f : r.elements[1].elements) fields->push_back(f.str);
  return true;
}

void Log(const std::string& line) { std::fprintf(stderr, "minion: redis: %s\n", line.c_str()); }

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<RedisEndpoint> RedisEndpoint::Parse(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("transport URL must start with redis:// (got scheme '" +
                                std::string(url.substr(0, url.find(':'))) + "')");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint e;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      e.user = std::string(userinfo.substr(0, colon));
      e.password = std::string(userinfo.substr(colon + 1));
    } else {
      e.password = std::string(userinfo);  // redis://secret@host: the password alone
    }
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
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

// ---------------------------------------------------------------------------------------------

class RedisStreamsProtocol::Impl {
 public:
  struct StreamSpec {
    std::string key;
    std::string meta_key;
    std::string dead_key;
    bool fanout = false;
    std::uint32_t types = 0;
    std::size_t capacity = 0;
  };

  struct Entry {
    const StreamSpec* stream = nullptr;
    std::string entry_id;
    std::int64_t deliveries = 1;
    Message message;
  };

  // One stream's read position and connection. Only the thread holding the reader role
  // (reading == true, set under Subscription::mu) touches the unguarded fields.
  struct Reader {
    const StreamSpec* spec = nullptr;
    std::unique_ptr<Connection> conn;
    std::string last_id;  // fan-out read position
    std::chrono::milliseconds backoff{50};
    std::chrono::steady_clock::time_point last_reclaim;
    std::chrono::steady_clock::time_point last_touch;
    bool logged_down = false;
    bool reading = false;  // guarded by Subscription::mu: a thread holds the role
    bool done = false;     // guarded by Subscription::mu: stopped, or drained
  };

  // Threads of a subscription are alike (leader/follower): a free thread takes the reader role
  // of a stream nobody reads, and when its read returns entries it runs the oldest one itself
  // while another thread takes the role over. The entry is not handed from a reader thread to
  // a handler thread, which on a loaded VM costs tens of microseconds of wake-up per message.
  // streams.size() + max_concurrency threads: at most max_concurrency run handlers (a reader
  // takes no more entries than there are free slots), so every stream keeps a reader.
  struct Subscription {
    std::string agent_id;
    std::string consumer;
    std::uint32_t types = 0;
    std::size_t max_concurrency = 1;
    agents::MessageHandler handler;
    std::vector<std::unique_ptr<StreamSpec>> streams;
    std::vector<std::unique_ptr<Reader>> readers;  // one per stream, fixed after Subscribe

    std::mutex mu;
    std::condition_variable work_cv;     // queue gained an entry, a reader role freed, or stop
    std::condition_variable slot_cv;     // a slot freed, or stop_reading / draining
    std::condition_variable idle_cv;     // queue and running both empty
    std::condition_variable readers_cv;  // a reader is done
    std::deque<Entry> queue;             // guarded by mu
    std::size_t in_use = 0;              // guarded by mu; queued + running
    std::size_t running = 0;             // guarded by mu
    std::map<std::string, std::set<std::string>> held;  // guarded by mu; stream -> entry ids
    bool stop_reading = false;                          // guarded by mu
    bool draining = false;  // guarded by mu: read what is there, then stop
    std::chrono::steady_clock::time_point drain_deadline;  // guarded by mu
    bool stop_handlers = false;                            // guarded by mu
    std::vector<std::thread> threads;                      // joined by the unsubscriber
  };

  explicit Impl(RedisStreamsOptions options)
      : options_(std::move(options)),
        tracer_(options_.tracer),
        host_(HostName()) {
    if (options_.consumer.empty()) options_.consumer = host_ + "-" + std::to_string(getpid());
    if (options_.max_deliveries < 1) options_.max_deliveries = 1;
    // A reader touches its entries between blocking reads; it must wake often enough to touch
    // them well within reclaim_idle.
    options_.block = std::min(options_.block, options_.reclaim_idle / 4);
    if (options_.block.count() < 1) options_.block = std::chrono::milliseconds(1);
  }

  ~Impl() { (void)Shutdown(std::chrono::seconds(10)); }

  // ---- keys ----
  std::string KeyFor(std::string_view agent_id) const {
    std::string_view id = agent_id;
    bool control = id.size() > kControlSuffix.size() &&
                   id.substr(id.size() - kControlSuffix.size()) == kControlSuffix;
    if (id.substr(0, kCapabilityPrefix.size()) == kCapabilityPrefix) {
      std::string_view cap = id.substr(kCapabilityPrefix.size());
      if (control) cap = cap.substr(0, cap.size() - kControlSuffix.size());
      return options_.key_namespace + ":{cap:" + std::string(cap) +
             "}:" + (control ? "control" : "tasks");
    }
    return options_.key_namespace + ":{agent:" + std::string(agent_id) + "}:inbox";
  }
  static std::string MetaKey(const std::string& stream) { return stream + ":meta"; }
  static std::string DeadKey(const std::string& stream) { return stream + ":dead"; }
  std::string WorkerKey(std::string_view id) const {
    return options_.key_namespace + ":{registry}:worker:" + std::string(id);
  }
  std::string WorkersKey() const { return options_.key_namespace + ":{registry}:workers"; }
  std::string GroupKey(std::string_view group) const {
    return options_.key_namespace + ":{group:" + std::string(group) + "}:members";
  }

  // ---- connection pool for short commands ----
  Result<std::unique_ptr<Connection>> Take() {
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
  void Give(std::unique_ptr<Connection> c) {
    if (!c || c->broken()) return;
    std::lock_guard lock(pool_mu_);
    if (pool_.size() < 16) pool_.push_back(std::move(c));
  }
  // One command on a pooled connection; a connection that broke is replaced once, so a Redis
  // that restarted is picked up by the next command.
  Result<Reply> Run(const std::vector<std::string>& args) {
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
  Result<std::vector<Reply>> RunPipeline(const std::vector<std::vector<std::string>>& commands) {
    auto c = Take();
    if (!c.ok()) return c.status();
    auto r = (*c)->Pipeline(commands);
    Give(std::move(*c));
    return r;
  }
  // EVALSHA with the script loaded on first use; EVAL when Redis lost its script cache.
  Result<Reply> Script(const char* script, std::string* sha, std::vector<std::string> keys_and_args,
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

  // ---- send ----
  Status Send(agents::AccessPolicy& policy, const trace::Context& parent, Message message) {
    // seq_cst pairs with Shutdown: either it sees this send in flight and waits for it before
    // draining, or this send sees accepting_ == false.
    sends_in_flight_.fetch_add(1, std::memory_order_seq_cst);
    struct InFlight {
      Impl* self;
      ~InFlight() {
        if (self->sends_in_flight_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
            !self->accepting_.load(std::memory_order_seq_cst)) {
          self->sends_in_flight_.notify_all();
        }
      }
    } in_flight{this};
    if (!accepting_.load(std::memory_order_seq_cst))
      return UnavailableError("protocol is shut down");
    if (message.to.empty()) return InvalidArgumentError("message has no recipient");
    MINION_RETURN_IF_ERROR(policy.Check(message.from, message.to));
    if (message.id.empty()) message.id = agents::NewMessageId();
    if (message.created_at == 0) message.created_at = SystemClock().Now();
    const std::string key = KeyFor(message.to);
    auto started = agents::StartSendSpan(observability::TracerOrGlobal(tracer_), parent, &message, options_.propagator);
    auto& span = started.span;
    span.SetAttribute("messaging.system", "redis");
    span.SetAttribute("messaging.destination.name", key);
    span.SetAttribute("messaging.operation.type", "send");
    Status status = Append(key, message, &span);
    if (status.ok()) sent_.fetch_add(1, std::memory_order_relaxed);
    if (status.code() == StatusCode::kResourceExhausted)
      rejected_full_.fetch_add(1, std::memory_order_relaxed);
    observability::EndSpan(span, status);
    return status;
  }

  Status Append(const std::string& key, const Message& message, trace::Span* span) {
    MINION_ASSIGN_OR_RETURN(auto fields, redis::EncodeEntry(message, options_.max_message_bytes));
    std::vector<std::string> args = {key, MetaKey(key),
                                     std::to_string(static_cast<unsigned>(message.type))};
    args.insert(args.end(), std::make_move_iterator(fields.begin()),
                std::make_move_iterator(fields.end()));
    auto r = Script(kSendScript, &send_sha_, std::move(args), 2);
    if (!r.ok())
      return r.status().WithContext("sending " + message.id + " to '" + message.to + "'");
    if (r->is_error()) {
      if (r->str.find("MINION_NOTFOUND") != std::string::npos) {
        return NotFoundError("agent '" + message.to + "' is not subscribed (no stream " + key +
                             ")");
      }
      if (r->str.find("MINION_TYPE") != std::string::npos) {
        return NotFoundError("agent '" + message.to + "' does not accept " +
                             std::string(agents::MessageTypeName(message.type)) + " messages");
      }
      if (r->str.find("MINION_FULL") != std::string::npos) {
        return ResourceExhaustedError("stream " + key + " of agent '" + message.to + "' is full");
      }
      return UnavailableError("redis refused sending to " + key + ": " + r->str);
    }
    if (span) span->SetAttribute("messaging.message.id", r->str);
    return Status::Ok();
  }

  // ---- subscribe ----
  Status Subscribe(std::string_view agent_id, agents::SubscribeOptions options,
                   agents::MessageHandler handler) {
    if (agent_id.empty()) return InvalidArgumentError("agent id must not be empty");
    if (!handler)
      return InvalidArgumentError("handler for agent '" + std::string(agent_id) + "' is empty");
    if (!accepting_.load(std::memory_order_acquire))
      return UnavailableError("protocol is shut down");
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
  Status Prepare(Connection& c, const StreamSpec& s, std::string* last) {
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
  bool Pause(Subscription& sub, std::chrono::milliseconds delay) {
    std::unique_lock lock(sub.mu);
    return !sub.slot_cv.wait_for(lock, delay, [&] { return sub.stop_reading || sub.draining; });
  }

  std::chrono::milliseconds Jittered(std::chrono::milliseconds base) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> d(0.5, 1.5);
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(base.count()) * d(rng)));
  }

  // A free reader role of `sub`, or null. Caller holds sub.mu.
  static Reader* FreeReader(Subscription& sub) {
    if (sub.stop_reading) return nullptr;
    for (auto& r : sub.readers) {
      if (!r->reading && !r->done) return r.get();
    }
    return nullptr;
  }

  // Every thread of a subscription runs this: handle a queued entry, else read as a stream's
  // reader (and then handle the oldest entry read, on this thread).
  void Loop(std::shared_ptr<Subscription> sub) {
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
  bool ReadOnce(Subscription& sub, Reader& rd, std::vector<Entry>* got) {
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
      if (rd.logged_down)
        Log("reconnected to " + options_.endpoint.Describe() + " for " + spec->key);
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
  void Collect(const Reply& entries, const StreamSpec& spec, std::int64_t deliveries,
               const std::map<std::string, std::int64_t>* counts, std::vector<Entry>* out) {
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

  static Status ReplyError(const std::string& what, const Reply& r) {
    if (r.str.rfind("NOGROUP", 0) == 0) return NotFoundError(what + ": " + r.str);
    return UnavailableError(what + ": " + r.str);
  }

  Status ReadGroup(Subscription& sub, const StreamSpec& spec, Connection& conn, std::size_t count,
                   bool draining, std::vector<Entry>* out) {
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

  Status ReadFanout(Connection& conn, const StreamSpec& spec, std::size_t count, bool draining,
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
  void Touch(Subscription& sub, const StreamSpec& spec, Connection& conn) {
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

  // Takes over entries idle longer than reclaim_idle (their consumer died or hung). Entries
  // delivered more than max_deliveries times go to the dead-letter stream instead.
  // What the pending-entry list says about an entry another consumer held.
  struct Held {
    std::string consumer;
    std::int64_t idle_ms = 0;
    std::int64_t deliveries = 0;
  };

  // Takes over entries idle longer than reclaim_idle (their consumer died or hung). Entries
  // delivered more than max_deliveries times go to the dead-letter stream instead. Each
  // reclaimed entry's lost attempt is recorded as a span (RecordLostAttempt).
  Status Reclaim(Subscription& sub, const StreamSpec& spec, Connection& conn, std::size_t count,
                 std::vector<Entry>* out) {
    // Who held the idle entries, and since when, before they change hands: XAUTOCLAIM does not
    // say. Nothing idle: no claim either.
    MINION_ASSIGN_OR_RETURN(Reply stale,
                            conn.Command({"XPENDING", spec.key, options_.group, "IDLE",
                                          std::to_string(options_.reclaim_idle.count()), "-", "+",
                                          std::to_string(count + 64)}));
    if (stale.is_error()) return ReplyError("XPENDING " + spec.key, stale);
    if (!stale.is_array() || stale.elements.empty()) return Status::Ok();
    std::map<std::string, Held> before;
    for (const auto& p : stale.elements) {
      if (p.is_array() && p.elements.size() >= 4) {
        before[p.elements[0].str] =
            Held{p.elements[1].str, p.elements[2].integer, p.elements[3].integer};
      }
    }
    MINION_ASSIGN_OR_RETURN(
        Reply r, conn.Command({"XAUTOCLAIM", spec.key, options_.group, sub.consumer,
                               std::to_string(options_.reclaim_idle.count()), "0-0", "COUNT",
                               std::to_string(count)}));
    if (r.is_error()) return ReplyError("XAUTOCLAIM " + spec.key, r);
    if (!r.is_array() || r.elements.size() < 2 || !r.elements[1].is_array()) return Status::Ok();
    const auto& claimed = r.elements[1].elements;
    std::vector<std::string> ids;
    for (const auto& e : claimed) {
      if (e.is_array() && !e.elements.empty()) ids.push_back(e.elements[0].str);
    }
    if (ids.empty()) return Status::Ok();
    // Delivery counts (XAUTOCLAIM has just incremented them).
    MINION_ASSIGN_OR_RETURN(
        Reply pending, conn.Command({"XPENDING", spec.key, options_.group, ids.front(), ids.back(),
                                     std::to_string(ids.size() + 64), sub.consumer}));
    std::map<std::string, std::int64_t> counts;
    if (pending.is_array()) {
      for (const auto& p : pending.elements) {
        if (p.is_array() && p.elements.size() >= 4)
          counts[p.elements[0].str] = p.elements[3].integer;
      }
    }
    std::set<std::string> running_here;
    {
      std::lock_guard lock(sub.mu);
      if (auto it = sub.held.find(spec.key); it != sub.held.end()) running_here = it->second;
    }
    Reply keep;
    keep.type = Reply::Type::kArray;
    for (const auto& e : claimed) {
      if (!e.is_array() || e.elements.empty()) continue;
      const std::string& id = e.elements[0].str;
      std::int64_t n = counts.count(id) ? counts[id] : 2;
      // An entry this subscription is itself still running (it missed its touches) was not
      // lost; anything else was: its holder died or hung.
      if (auto b = before.find(id); b != before.end() && !running_here.count(id)) {
        RecordLostAttempt(sub, spec, e, b->second);
      }
      if (n > options_.max_deliveries) {
        DeadLetter(sub, spec, e, n);
      } else {
        keep.elements.push_back(e);
      }
    }
    Collect(keep, spec, 2, &counts, out);
    return Status::Ok();
  }

  // A consumer killed in the middle of a subtask never ends its worker span, so the trace
  // would show the redelivery only as a count. The process that reclaims the entry records
  // the lost attempt in its place: a `worker.<capability>` CONSUMER span with the same parent
  // as a real attempt (the sender's span, from the entry's traceparent), starting at the
  // attempt's last sign of life in the pending-entry list (its delivery, or a later keep-alive
  // touch) and ending now, status ERROR. The holder is named by `multiagent.worker.id` (the
  // agent id in its consumer name) and `messaging.client.id` (the consumer name itself).
  void RecordLostAttempt(Subscription& sub, const StreamSpec& spec, const Reply& raw,
                         const Held& held) {
    if (!tracer_->raw().Enabled()) return;
    std::string id;
    std::vector<std::string> fields;
    if (!EntryOf(raw, &id, &fields)) return;
    auto parsed = redis::DecodeEntry(fields, options_.max_message_bytes);
    if (!parsed.ok()) return;  // not a message: nothing to attach a span to
    const Message& m = *parsed;
    std::string capability, task_id, subtask_name;
    std::int64_t attempt = 0;
    if (m.content.is_object()) {
      capability = m.content.value("capability", "");
      task_id = m.content.value("task_id", "");
      subtask_name = m.content.value("name", "");
      if (auto a = m.content.find("attempt"); a != m.content.end() && a->is_number_integer())
        attempt = a->get<std::int64_t>();
    }
    if (capability.empty()) return;  // not a subtask: no worker span would have existed
    const std::string worker_id = held.consumer.substr(held.consumer.rfind('/') + 1);
    const UnixNanos now = SystemClock().Now();
    const UnixNanos idle_ns =
        static_cast<UnixNanos>(std::max<std::int64_t>(0, held.idle_ms)) * 1'000'000;
    trace::Context parent = agents::ExtractMessageContext(m, options_.propagator);
    trace::SpanStartOptions o;
    o.kind = trace::SpanKind::kConsumer;
    o.parent = &parent;
    o.start_time = now > idle_ns ? now - idle_ns : now;
    const std::string name = "worker." + capability;
    trace::Span span = tracer_->raw().StartSpan(name,
                                                {{observability::kAttrWorkerID, worker_id},
                                                 {observability::kAttrWorkerCapability, capability},
                                                 {observability::kAttrTaskID, task_id},
                                                 {observability::kAttrComponent, "worker"}},
                                                o);
    span.SetAttribute("multiagent.subtask.name", subtask_name);
    span.SetAttribute("multiagent.subtask.attempt", attempt);
    span.SetAttribute("messaging.system", "redis");
    span.SetAttribute("messaging.destination.name", spec.key);
    span.SetAttribute("messaging.operation.type", "process");
    span.SetAttribute("messaging.message.id", id);
    span.SetAttribute("messaging.consumer.group.name", options_.group);
    span.SetAttribute("messaging.client.id", held.consumer);
    span.SetAttribute("messaging.redis.message.delivery_count", held.deliveries);
    span.SetAttribute("minion.redis.reclaimed_by", sub.consumer);
    span.SetAttribute(observability::kAttrTailKeep, true);
    span.SetStatus(trace::SpanStatusCode::kError,
                   "worker died / delivery reclaimed: " + held.consumer +
                       " did not acknowledge entry " + id + " for " + std::to_string(held.idle_ms) +
                       " ms; reclaimed by " + sub.consumer);
    span.End(now);
    lost_attempts_.fetch_add(1, std::memory_order_relaxed);
  }

  void DeadLetter(Subscription& sub, const StreamSpec& spec, const Reply& raw,
                  std::int64_t deliveries) {
    std::string id;
    std::vector<std::string> fields;
    if (!EntryOf(raw, &id, &fields)) return;
    std::string reason = "delivered " + std::to_string(deliveries) + " times (limit " +
                         std::to_string(options_.max_deliveries) + ") without being acknowledged";
    auto r = Script(kDeadLetterScript, &dead_sha_,
                    {spec.key, spec.dead_key, options_.group, id, std::to_string(deliveries),
                     reason, std::to_string(options_.default_capacity)},
                    2);
    if (!r.ok() || r->is_error()) {
      Log("dead-lettering " + id + " from " + spec.key +
          " failed: " + (r.ok() ? r->str : r.status().ToString()));
      return;
    }
    dead_lettered_.fetch_add(1, std::memory_order_relaxed);
    Log("entry " + id + " on " + spec.key + " moved to " + spec.dead_key + ": " + reason);
    // Tell the sender, so its subtask fails now with a reason instead of timing out.
    auto parsed = redis::DecodeEntry(fields, options_.max_message_bytes);
    if (!parsed.ok() || parsed->from.empty() || !parsed->in_reply_to.empty() ||
        parsed->type == MessageType::kError || parsed->type == MessageType::kResult) {
      return;
    }
    Message reply;
    reply.type = MessageType::kError;
    reply.from = sub.agent_id;
    reply.to = parsed->from;
    reply.in_reply_to = parsed->id;
    nlohmann::json content = {{"error", "message " + parsed->id + " was dead-lettered to " +
                                            spec.dead_key + " after it was " + reason},
                              {"code", std::string(StatusCodeName(StatusCode::kAborted))},
                              {"worker_id", sub.agent_id}};
    if (parsed->content.is_object()) {
      for (const char* k : {"subtask_id", "task_id"}) {
        if (auto it = parsed->content.find(k); it != parsed->content.end()) content[k] = *it;
      }
    }
    reply.content = std::move(content);
    trace::Context ctx = agents::ExtractMessageContext(*parsed, options_.propagator);
    Status s = SendInternal(ctx, std::move(reply));
    if (!s.ok()) Log("error reply for dead-lettered " + parsed->id + " not sent: " + s.ToString());
  }

  Status SendInternal(const trace::Context& parent, Message message);  // set by the facade

  // Runs the handler for `e` (when the subscription accepts its type), then acknowledges it.
  void Handle(Subscription& sub, Entry& e) {
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
  void Stop(const std::shared_ptr<Subscription>& sub,
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

  Status Unsubscribe(std::string_view agent_id) {
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

  // ---- groups (broadcast) ----
  Status JoinGroup(std::string_view agent_id, std::string_view group) {
    {
      std::lock_guard lock(subs_mu_);
      if (!subs_.count(agent_id))
        return NotFoundError("agent '" + std::string(agent_id) + "' is not subscribed");
    }
    MINION_ASSIGN_OR_RETURN(Reply r, Run({"SADD", GroupKey(group), std::string(agent_id)}));
    if (r.is_error()) return UnavailableError("redis SADD: " + r.str);
    return Status::Ok();
  }
  Status LeaveGroup(std::string_view agent_id, std::string_view group) {
    MINION_ASSIGN_OR_RETURN(Reply r, Run({"SREM", GroupKey(group), std::string(agent_id)}));
    if (r.is_error()) return UnavailableError("redis SREM: " + r.str);
    if (r.integer == 0) {
      return NotFoundError("agent '" + std::string(agent_id) + "' is not in group '" +
                           std::string(group) + "'");
    }
    return Status::Ok();
  }
  Result<std::vector<std::string>> Members(std::string_view group) {
    MINION_ASSIGN_OR_RETURN(Reply r, Run({"SMEMBERS", GroupKey(group)}));
    if (r.is_error()) return UnavailableError("redis SMEMBERS: " + r.str);
    std::vector<std::string> out;
    for (const auto& m : r.elements) out.push_back(m.str);
    std::sort(out.begin(), out.end());
    return out;
  }

  // ---- worker registry ----
  Status Advertise(WorkerAdvert advert) {
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

  Status Publish(WorkerAdvert advert) {
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

  void HeartbeatLoop() {
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

  Status Withdraw(std::string_view id) {
    {
      std::lock_guard lock(adverts_mu_);
      if (!adverts_.erase(std::string(id)))
        return NotFoundError("worker '" + std::string(id) + "' is not advertised");
    }
    auto r = RunPipeline({{"DEL", WorkerKey(id)}, {"SREM", WorkersKey(), std::string(id)}});
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<std::vector<WorkerAdvert>> ListWorkers() {
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

  // ---- shutdown ----
  Status Shutdown(std::chrono::milliseconds timeout) {
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

  Stats stats() const {
    return Stats{sent_.load(),       delivered_.load(),     redelivered_.load(),
                 acked_.load(),      dead_lettered_.load(), rejected_full_.load(),
                 reconnects_.load(), unparseable_.load(),   lost_attempts_.load()};
  }

  RedisStreamsOptions options_;
  std::shared_ptr<trace::Tracer> tracer_;  // null: observability::GetTracer() at each span
  std::string host_;
  RedisStreamsProtocol* facade_ = nullptr;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> pool_;  // guarded by pool_mu_
  std::string send_sha_;                           // guarded by pool_mu_
  std::string dead_sha_;                           // guarded by pool_mu_

  std::mutex subs_mu_;  // before Subscription::mu
  std::map<std::string, std::shared_ptr<Subscription>, std::less<>> subs_;  // guarded by subs_mu_
  std::mutex retired_mu_;
  std::vector<std::shared_ptr<Subscription>> retired_;  // guarded by retired_mu_

  std::mutex adverts_mu_;  // before subs_mu_ is never taken with it held (Publish copies first)
  std::condition_variable heartbeat_cv_;
  std::map<std::string, WorkerAdvert> adverts_;  // guarded by adverts_mu_
  bool heartbeat_stop_ = false;                  // guarded by adverts_mu_
  std::thread heartbeat_;

  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // guarded by shutdown_mu_
  std::atomic<bool> accepting_{true};
  std::atomic<std::uint32_t> sends_in_flight_{0};

  std::atomic<std::uint64_t> sent_{0}, delivered_{0}, redelivered_{0}, acked_{0}, dead_lettered_{0},
      rejected_full_{0}, reconnects_{0}, unparseable_{0}, lost_attempts_{0};

  static thread_local const Subscription* tls_current_;
  static thread_local bool tls_send_failed_;
};

thread_local const RedisStreamsProtocol::Impl::Subscription*
    RedisStreamsProtocol::Impl::tls_current_ = nullptr;
thread_local bool RedisStreamsProtocol::Impl::tls_send_failed_ = false;

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
  return std::string(kCapabilityPrefix) + std::string(capability);
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
