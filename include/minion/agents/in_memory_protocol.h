#pragma once
// InMemoryProtocol: the in-process transport. Each subscribed agent has a bounded mailbox; a
// fixed pool of threads delivers messages to handlers as they arrive. A send hands the mailbox to
// the pool through a ready queue and wakes a sleeping pool thread only when no pool thread is
// free to take it otherwise; optionally (idle_spin_max) an idle thread first spins on the queue
// for a bounded, adaptive time so a message that follows closely is picked up without a futex
// wake-up. An idle pool uses no CPU. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
  // How long an idle pool thread polls the ready queue (with CPU pause instructions) before it
  // sleeps on the condition variable; one thread spins at a time. The budget adapts between
  // idle_spin_min and idle_spin_max to the gaps between messages actually seen: a gap up to
  // idle_spin_max sets it to twice that gap, a longer one halves it, so a pool fed sporadically
  // settles at idle_spin_min per idle period. Off by default: on the 2-vCPU shared machine we
  // measure on (docs/benchmarks.md) the spinner mostly shares a core with the sender it waits
  // for, and spinning cost more than it saved. Worth enabling (e.g. 20 us) where the pool has
  // cores of its own: the hop then skips the futex wake-up. A sender sharing the core with the
  // spinner waits at most the budget.
  std::chrono::nanoseconds idle_spin_max = std::chrono::nanoseconds(0);
  std::chrono::nanoseconds idle_spin_min = std::chrono::microseconds(2);
  // Null: observability::GetTracer() at each span.
  std::shared_ptr<trace::Tracer> tracer;
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
    // Deliveries a spinning pool thread found without being woken.
    std::uint64_t spin_pickups = 0;
    // Times a pool thread went to sleep on the condition variable.
    std::uint64_t parks = 0;
  };
  Stats stats() const;

 private:
  struct Mailbox;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  void RunPool();
  // Blocks until a delivery slot is ready (spinning first, see idle_spin_max); null when the
  // pool is stopping and drained. *drop: the drain deadline passed, discard the mailbox's queue.
  std::shared_ptr<Mailbox> NextReady(bool* drop);
  // Polls ready_size_ for up to `budget`; true if work (or a stop request) showed up.
  bool SpinForWork(std::chrono::nanoseconds budget) const;
  void AdaptSpin(std::chrono::nanoseconds gap);
  // Queues a delivery slot of `box`. `from_pool`: called by a pool thread that is about to take
  // from the ready queue itself, so no sleeping thread needs waking for this entry.
  void Schedule(std::shared_ptr<Mailbox> box, bool from_pool);
  // Checks that `message` can be queued and reserves a mailbox slot for it.
  Status Reserve(const Message& message, std::shared_ptr<Mailbox>* box);
  std::shared_ptr<Mailbox> FindMailbox(std::string_view agent_id) const;

  InMemoryProtocolOptions options_;
  std::shared_ptr<trace::Tracer> tracer_;
  const trace::TextMapPropagator* propagator_;
  Clock* clock_;
  AccessPolicy policy_;

  // Lock order: registry_mu_ before Mailbox::mu before pool_mu_.
  mutable std::shared_mutex registry_mu_;
  // guarded by registry_mu_
  std::unordered_map<std::string, std::shared_ptr<Mailbox>, StringHash, std::equal_to<>> mailboxes_;
  std::unordered_map<std::string, std::set<std::string>> groups_;  // guarded by registry_mu_

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;             // ready_ gained an entry, or stopping_
  std::condition_variable drained_cv_;          // ready_ became empty
  std::deque<std::shared_ptr<Mailbox>> ready_;  // guarded by pool_mu_; one entry per delivery slot
  // ready_.size(), written under pool_mu_ so a spinning thread can poll it without the lock.
  std::atomic<std::size_t> ready_size_{0};
  std::size_t spinning_ = 0;  // guarded by pool_mu_; pool threads polling ready_size_ (0 or 1)
  std::size_t sleeping_ = 0;  // guarded by pool_mu_; pool threads waiting on pool_cv_
  bool stopping_ = false;     // guarded by pool_mu_
  std::atomic<bool> stop_spin_{false};        // stopping_, readable by a spinning thread
  bool drain_deadline_passed_ = false;        // guarded by pool_mu_
  std::atomic<std::int64_t> spin_budget_ns_;  // current adaptive budget, in [min, max]
  std::vector<std::thread> threads_;

  std::mutex shutdown_mu_;  // serialises Shutdown callers
  std::atomic<bool> accepting_{true};
  // Sends between their accepting_ check and handing the mailbox to the pool; Shutdown waits
  // for them so a send that returned Ok is never left behind in a stopped pool.
  std::atomic<std::uint32_t> sends_in_flight_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> rejected_full_{0};
  std::atomic<std::uint64_t> spin_pickups_{0};
  std::atomic<std::uint64_t> parks_{0};
};

}  // namespace minion::agents
