#pragma once
// RedisStreamsProtocol::Impl: private to src/transports/redis, shared by the files that
// implement it (one concern each; docs/redis.md describes the behaviour):
//   redis_streams_protocol.cc  endpoint URLs, the public facade, shutdown, stats
//   connection_pool.cc         pooled connections for short commands; Lua scripts
//   send.cc                    Send: the send script (recipient checks, capacity, XADD)
//   consumer.cc                subscriptions: reader roles, reads, reconnect, handling, ack, stop
//   reclaim.cc                 XAUTOCLAIM of idle entries, lost-attempt spans, dead letters
//   registry.cc                worker adverts and heartbeats, broadcast groups

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "entry_codec.h"
#include "minion/agents/worker.h"
#include "minion/common/clock.h"
#include "minion/observability/attributes.h"
#include "minion/observability/tracing.h"
#include "minion/transports/redis_streams_protocol.h"
#include "redis_connection.h"

namespace minion::transports {

// Used unqualified throughout the implementation files (this header is not installed).
using agents::Message;
using agents::MessageType;
using redis::Connection;
using redis::Reply;

class RedisStreamsProtocol::Impl {
 public:
  static constexpr std::string_view kCapabilityPrefix = "capability:";
  static constexpr std::string_view kControlSuffix = "/control";
  static constexpr std::size_t kFanoutCapacity = 1024;

  static std::string HostName() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
    return buf;
  }
  static std::int64_t NowMillis() { return SystemClock().Now() / 1'000'000; }
  static std::uint32_t TypeMask(const std::vector<MessageType>& types) {
    if (types.empty()) return (1u << agents::kMessageTypeCount) - 1;
    std::uint32_t mask = 0;
    for (auto t : types) mask |= 1u << static_cast<unsigned>(t);
    return mask;
  }
  // Stream entry array [id, [f, v, f, v...]] -> (id, fields). False for a deleted entry (nil).
  static bool EntryOf(const Reply& r, std::string* id, std::vector<std::string>* fields) {
    if (!r.is_array() || r.elements.size() < 2 || r.elements[0].type != Reply::Type::kString)
      return false;
    *id = r.elements[0].str;
    fields->clear();
    if (!r.elements[1].is_array()) return true;  // entry without fields: still an entry
    for (const auto& f : r.elements[1].elements) fields->push_back(f.str);
    return true;
  }
  static void Log(const std::string& line) {
    std::fprintf(stderr, "minion: redis: %s\n", line.c_str());
  }

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
      : options_(std::move(options)), tracer_(options_.tracer), host_(HostName()) {
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
  Result<std::unique_ptr<Connection>> Take();
  void Give(std::unique_ptr<Connection> c);
  // One command on a pooled connection; a connection that broke is replaced once, so a Redis
  // that restarted is picked up by the next command.
  Result<Reply> Run(const std::vector<std::string>& args);
  Result<std::vector<Reply>> RunPipeline(const std::vector<std::vector<std::string>>& commands);
  // EVALSHA with the script loaded on first use; EVAL when Redis lost its script cache.
  Result<Reply> Script(const char* script, std::string* sha, std::vector<std::string> keys_and_args,
                       std::size_t nkeys);

  // ---- send ----
  Status Send(agents::AccessPolicy& policy, const trace::Context& parent, Message message);

  Status Append(const std::string& key, const Message& message, trace::Span* span);

  // ---- subscribe ----
  Status Subscribe(std::string_view agent_id, agents::SubscribeOptions options,
                   agents::MessageHandler handler);

  // Group and meta for `s` (idempotent; also after Redis lost them). For a fan-out stream,
  // *last is where reading starts: the newest entry now.
  Status Prepare(Connection& c, const StreamSpec& s, std::string* last);

  // Waits `delay` or until the subscription stops or drains; false when it did.
  bool Pause(Subscription& sub, std::chrono::milliseconds delay);

  std::chrono::milliseconds Jittered(std::chrono::milliseconds base);

  // A free reader role of `sub`, or null. Caller holds sub.mu.
  static Reader* FreeReader(Subscription& sub);

  // Every thread of a subscription runs this: handle a queued entry, else read as a stream's
  // reader (and then handle the oldest entry read, on this thread).
  void Loop(std::shared_ptr<Subscription> sub);

  // One turn of a stream's reader: wait for a free slot, keep the connection, touch what this
  // consumer holds, reclaim, read. True when the reader is done (stopped, or drained).
  bool ReadOnce(Subscription& sub, Reader& rd, std::vector<Entry>* got);

  // Parses entries; a parsed one becomes an Entry, the rest stay pending for dead-lettering.
  void Collect(const Reply& entries, const StreamSpec& spec, std::int64_t deliveries,
               const std::map<std::string, std::int64_t>* counts, std::vector<Entry>* out);

  static Status ReplyError(const std::string& what, const Reply& r);

  Status ReadGroup(Subscription& sub, const StreamSpec& spec, Connection& conn, std::size_t count,
                   bool draining, std::vector<Entry>* out);

  Status ReadFanout(Connection& conn, const StreamSpec& spec, std::size_t count, bool draining,
                    std::string* last_id, std::vector<Entry>* out);

  // Keeps what this consumer is working on from being reclaimed: XCLAIM to itself resets the
  // idle time without counting a delivery (JUSTID).
  void Touch(Subscription& sub, const StreamSpec& spec, Connection& conn);

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
                 std::vector<Entry>* out);

  // A consumer killed in the middle of a subtask never ends its worker span, so the trace
  // would show the redelivery only as a count. The process that reclaims the entry records
  // the lost attempt in its place: a `worker.<capability>` CONSUMER span with the same parent
  // as a real attempt (the sender's span, from the entry's traceparent), starting at the
  // attempt's last sign of life in the pending-entry list (its delivery, or a later keep-alive
  // touch) and ending now, status ERROR. The holder is named by `multiagent.worker.id` (the
  // agent id in its consumer name) and `messaging.client.id` (the consumer name itself).
  void RecordLostAttempt(Subscription& sub, const StreamSpec& spec, const Reply& raw,
                         const Held& held);

  void DeadLetter(Subscription& sub, const StreamSpec& spec, const Reply& raw,
                  std::int64_t deliveries);

  Status SendInternal(const trace::Context& parent, Message message);  // set by the facade

  // Runs the handler for `e` (when the subscription accepts its type), then acknowledges it.
  void Handle(Subscription& sub, Entry& e);

  // Stops `sub`. drain_until: read what its streams hold and handle it before stopping.
  void Stop(const std::shared_ptr<Subscription>& sub,
            std::optional<std::chrono::steady_clock::time_point> drain_until, bool* drained);

  Status Unsubscribe(std::string_view agent_id);

  // ---- groups (broadcast) ----
  Status JoinGroup(std::string_view agent_id, std::string_view group);
  Status LeaveGroup(std::string_view agent_id, std::string_view group);
  Result<std::vector<std::string>> Members(std::string_view group);

  // ---- worker registry ----
  Status Advertise(WorkerAdvert advert);

  Status Publish(WorkerAdvert advert);

  void HeartbeatLoop();

  Status Withdraw(std::string_view id);

  Result<std::vector<WorkerAdvert>> ListWorkers();

  // ---- shutdown ----
  Status Shutdown(std::chrono::milliseconds timeout);

  Stats stats() const;

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

}  // namespace minion::transports
