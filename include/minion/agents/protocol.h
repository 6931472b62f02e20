#pragma once
// Protocol: how agents exchange Messages. The interface is transport-neutral: InMemoryProtocol
// (in-process) and transports::RedisStreamsProtocol (across processes) implement it, and others
// can plug in behind it unchanged, because everything that crosses the transport (including the
// trace context) lives in the Message itself.
//
// Tracing contract for every implementation: Send opens a `protocol.send` PRODUCER span under
// `parent` (attributes operation=send, multiagent.message.type, multiagent.message.id), injects
// THAT span's context into message.headers (W3C traceparent/tracestate/baggage), and the
// receiving side extracts the context from the headers and passes it to the handler. Helpers for
// both halves are below so transports share one implementation.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "minion/agents/message.h"
#include "minion/common/status.h"
#include "minion/observability/tracing.h"
#include "minion/trace/context.h"
#include "minion/trace/propagation.h"

namespace minion::agents {

// Called once per delivered message. `context` is the sender's `protocol.send` span, recovered
// from message.headers (empty when the message carried none). Runs on a transport thread; it may
// call Send (also to its own agent id).
using MessageHandler = std::function<void(const trace::Context& context, Message message)>;

struct SubscribeOptions {
  // Message types this agent accepts; empty means all.
  std::vector<MessageType> types;
  // Messages this agent can have waiting; a Send beyond it fails with ResourceExhausted.
  // 0 means the transport's default.
  std::size_t mailbox_capacity = 0;
  // How many of this agent's messages may be handled at once. 1 keeps delivery in send order.
  std::size_t max_concurrency = 1;
};

// Who may send to whom. Deny rules win over allow rules; when an agent has any allow rule as a
// recipient, only the senders listed may reach it. "*" matches every agent. Thread-safe.
class AccessPolicy {
 public:
  void Allow(std::string_view from, std::string_view to);
  void Deny(std::string_view from, std::string_view to);
  void Clear();
  // PermissionDenied naming both agents when `from` may not send to `to`.
  Status Check(std::string_view from, std::string_view to) const;

 private:
  mutable std::shared_mutex mu_;
  std::set<std::pair<std::string, std::string>, std::less<>> allow_;  // guarded by mu_
  std::set<std::pair<std::string, std::string>, std::less<>> deny_;   // guarded by mu_
  std::set<std::string, std::less<>> restricted_recipients_;          // guarded by mu_
};

// Thread-safe: every method may be called from any thread, including from inside a handler.
class Protocol {
 public:
  Protocol() = default;
  Protocol(const Protocol&) = delete;
  Protocol& operator=(const Protocol&) = delete;
  virtual ~Protocol() = default;

  // Delivers `message` to the agent message.to. Fills in id and created_at when empty. Errors:
  // NotFound (no such agent, or it does not accept this type), ResourceExhausted (its mailbox is
  // full), PermissionDenied (access policy), Unavailable (shut down).
  virtual Status Send(const trace::Context& parent, Message message) = 0;
  // Sends a copy to every member of `group` except the sender; each copy gets its own id and
  // its own `protocol.send` span. Fails if any copy fails (the others are still sent).
  virtual Status Broadcast(const trace::Context& parent, std::string_view group,
                           Message message) = 0;

  // AlreadyExists if the agent is already subscribed.
  virtual Status Subscribe(std::string_view agent_id, SubscribeOptions options,
                           MessageHandler handler) = 0;
  // Drops messages still waiting and waits for the agent's running handlers (unless called from
  // one of them). NotFound if unknown.
  virtual Status Unsubscribe(std::string_view agent_id) = 0;
  virtual Status JoinGroup(std::string_view agent_id, std::string_view group) = 0;
  virtual Status LeaveGroup(std::string_view agent_id, std::string_view group) = 0;

  virtual AccessPolicy& access_policy() = 0;

  // Stops accepting messages, delivers those already queued within `timeout`, joins the
  // transport's threads. Idempotent. DeadlineExceeded if messages had to be dropped.
  virtual Status Shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(10)) = 0;
};

// ---- Shared tracing halves for transports ----

// Opens `protocol.send` for `message` under `parent` and injects its context into
// message->headers with `propagator` (null: propagation::DefaultPropagator()).
observability::StartedSpan StartSendSpan(trace::Tracer& tracer, const trace::Context& parent,
                                         Message* message,
                                         const trace::TextMapPropagator* propagator);
// The context a receiver should parent its spans on: extracted from message.headers.
trace::Context ExtractMessageContext(const Message& message,
                                     const trace::TextMapPropagator* propagator);

}  // namespace minion::agents
