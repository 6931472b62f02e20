#pragma once
// RedisStreamsProtocol: agents::Protocol over Redis Streams, so coordinator and workers can run
// as separate processes on separate hosts with one task still one trace.
//
// Addressing. An agent id names a per-agent stream (replies, control messages). An id made by
// CapabilityAgentId("code_generation") names the shared stream of that capability: a worker
// process that Advertise()s the capability reads it through one consumer group, so worker
// processes compete for subtasks and Redis balances them. A message to
// WorkerControlId(CapabilityAgentId(c)) (a cancel) is fanned out to every worker of `c`; each
// ignores cancels for subtasks it does not hold.
//
// Delivery is at least once: an entry is acknowledged (XACK, then XDEL) only after the handler
// returned, so a reply a handler sends is written first. Entries held by a consumer that died
// are reclaimed by live ones after `reclaim_idle` (XAUTOCLAIM); a consumer that is still working
// keeps its entries by touching them. After `max_deliveries` an entry moves to the stream's
// dead-letter stream, is counted, and its sender gets an `error` reply.
//
// Key layout, hash tags, entry fields and delivery semantics: docs/redis.md.
//
// Thread-safe. Handlers run on threads owned by the subscription (max_concurrency of them).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "minion/agents/protocol.h"
#include "minion/common/status.h"

namespace minion::transports {

// redis://[user:password@]host:port/db, or unix://[user:password@]/path/to/redis.sock[?db=N]
// for a Redis on the same host (a unix socket saves the TCP loopback path on every round
// trip: docs/benchmarks.md). The password is kept for AUTH and never printed.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // non-empty: connect to this unix socket, not host:port
  int db = 0;
  std::string user;
  std::string password;

  // InvalidArgument naming what is wrong (never echoing the password).
  static Result<RedisEndpoint> Parse(std::string_view url);
  // "redis://host:port/db" (or "unix:///path?db=N") with the userinfo removed: safe to log.
  std::string Describe() const;
};

struct RedisStreamsOptions {
  RedisEndpoint endpoint;
  std::string key_namespace = "minion";  // prefix of every key
  std::string group = "minion";          // consumer group on every stream
  // This process's consumer name in the groups; empty: "<host>-<pid>".
  std::string consumer;
  std::chrono::milliseconds connect_timeout{2000};
  // A pending entry idle this long is taken over by another consumer.
  std::chrono::milliseconds reclaim_idle{30000};
  // Deliveries after which an entry is dead-lettered instead of handled again.
  int max_deliveries = 5;
  // Entries a stream may hold before Send gives ResourceExhausted (SubscribeOptions
  // mailbox_capacity overrides it per agent). Acknowledged entries are deleted, so this bounds
  // the backlog; fan-out and dead-letter streams are trimmed with MAXLEN ~ to it instead.
  std::size_t default_capacity = 10000;
  // Longest a blocking read waits before it looks at reclaim, touch and shutdown work.
  std::chrono::milliseconds block{200};
  // How often an advertised worker refreshes its registration; it counts as gone after 3x.
  std::chrono::milliseconds heartbeat{1000};
  std::size_t max_message_bytes = agents::kDefaultMaxMessageBytes;
  std::shared_ptr<trace::Tracer> tracer;  // null: observability::GetTracer() at each span
  const trace::TextMapPropagator* propagator = nullptr;  // not owned; null: default
};

// What a worker process publishes about itself (and `minion workers` lists).
struct WorkerAdvert {
  std::string id;
  std::string kind;
  std::vector<std::string> capabilities;
  std::string host;
  std::int64_t pid = 0;
  std::int64_t in_flight = 0;
  std::int64_t last_heartbeat_ms = 0;  // Unix milliseconds, the worker's clock
};

class RedisStreamsProtocol final : public agents::Protocol {
 public:
  // Connects (and checks the credentials). Unavailable within connect_timeout when Redis is
  // down; PermissionDenied for wrong credentials.
  static Result<std::unique_ptr<RedisStreamsProtocol>> Connect(RedisStreamsOptions options);
  ~RedisStreamsProtocol() override;  // Shutdown() if the owner did not

  // The agent id that addresses the shared stream of `capability`.
  static std::string CapabilityAgentId(std::string_view capability);

  Status Send(const trace::Context& parent, agents::Message message) override;
  Status Broadcast(const trace::Context& parent, std::string_view group,
                   agents::Message message) override;
  Status Subscribe(std::string_view agent_id, agents::SubscribeOptions options,
                   agents::MessageHandler handler) override;
  Status Unsubscribe(std::string_view agent_id) override;
  Status JoinGroup(std::string_view agent_id, std::string_view group) override;
  Status LeaveGroup(std::string_view agent_id, std::string_view group) override;
  agents::AccessPolicy& access_policy() override { return policy_; }
  Status Shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(10)) override;

  // Worker side, before Subscribe(advert.id) and Subscribe(WorkerControlId(advert.id)): those
  // subscriptions then also read the capability streams (tasks through the consumer group,
  // control fanned out), and the advert is kept alive in Redis until Withdraw or Shutdown.
  Status Advertise(WorkerAdvert advert);
  Status Withdraw(std::string_view worker_id);
  // Workers whose registration is fresh (heartbeat within 3x the interval).
  Result<std::vector<WorkerAdvert>> ListWorkers();

  struct Stats {
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;    // handler invocations, redeliveries included
    std::uint64_t redelivered = 0;  // deliveries whose count was above 1
    std::uint64_t acked = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t rejected_full = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t unparseable = 0;    // entries that are not a message (left for dead-lettering)
    std::uint64_t lost_attempts = 0;  // reclaimed deliveries recorded as a lost attempt's span
  };
  Stats stats() const;

  // Key names (docs/redis.md).
  std::string StreamKey(std::string_view agent_id) const;
  std::string DeadLetterKey(std::string_view agent_id) const;

  class Impl;

 private:
  explicit RedisStreamsProtocol(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  agents::AccessPolicy policy_;
};

}  // namespace minion::transports
