#pragma once
// InMemoryProtocol: the in-process transport. Each subscribed agent has a bounded mailbox; a
// fixed pool of threads delivers messages to handlers as they arrive (push-based: a send hands
// the mailbox to the pool through a condition variable; nothing polls). Thread-safe.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "minion/agents/protocol.h"
#include "minion/common/clock.h"

namespace minion::agents {

struct InMemoryProtocolOptions {
  // Handlers run on these threads; a handler that blocks (an LLM call, a child process) holds
  // one, so size the pool for the work that may wait at once.
  std::size_t threads = 8;
  std::size_t default_mailbox_capacity = 1024;
  // Null: observability::GetTracer() at construction.
  std::shared_ptr<observability::Tracer> tracer;
  // Not owned; null means propagation::DefaultPropagator().
  const trace::TextMapPropagator* propagator = nullptr;
  Clock* clock = nullptr;  // not owned; null means SystemClock()
};

class InMemoryProtocol final : public Protocol {
 public:
  explicit InMemoryProtocol(InMemoryProtocolOptions options = {});
  ~InMemoryProtocol() override;  // Shutdown() if the owner did not

  Status Send(const trace::Context& parent, Message message) override;
  Status Broadcast(const trace::Context& parent, std::string_view group, Message message) override;
  Status Subscribe(std::string_view agent_id, SubscribeOptions options,
                   MessageHandler handler) override;
  Status Unsubscribe(std::string_view agent_id) override;
  Status JoinGroup(std::string_view agent_id, std::string_view group) override;
  Status LeaveGroup(std::string_view agent_id, std::string_view group) override;
  AccessPolicy& access_policy() override { return policy_; }
  Status Shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(10)) override;

  struct Stats {
    std::uint64_t sent = 0;
    std::uint64_t delivered = 0;
    std::uint64_t rejected_full = 0;
  };
  Stats stats() const;

 private:
  struct Mailbox;
  void RunPool();
  void Schedule(std::shared_ptr<Mailbox> box);  // requires box->mu held by the caller
  // Checks that `message` can be queued and reserves a mailbox slot for it.
  Status Reserve(const Message& message, std::shared_ptr<Mailbox>* box);
  std::shared_ptr<Mailbox> FindMailbox(std::string_view agent_id) const;

  InMemoryProtocolOptions options_;
  std::shared_ptr<observability::Tracer> tracer_;
  const trace::TextMapPropagator* propagator_;
  Clock* clock_;
  AccessPolicy policy_;

  // Lock order: registry_mu_ before Mailbox::mu before pool_mu_.
  mutable std::shared_mutex registry_mu_;
  std::unordered_map<std::string, std::shared_ptr<Mailbox>> mailboxes_;  // guarded by registry_mu_
  std::unordered_map<std::string, std::set<std::string>> groups_;        // guarded by registry_mu_

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;     // ready_ gained an entry, or stopping_
  std::condition_variable drained_cv_;  // ready_ became empty
  std::deque<std::shared_ptr<Mailbox>> ready_;  // guarded by pool_mu_; one entry per delivery slot
  bool stopping_ = false;                       // guarded by pool_mu_
  bool drain_deadline_passed_ = false;          // guarded by pool_mu_
  std::vector<std::thread> threads_;

  std::mutex shutdown_mu_;  // serialises Shutdown callers
  std::atomic<bool> accepting_{true};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> rejected_full_{0};
};

}  // namespace minion::agents
