#include "minion/agents/registry.h"

#include <algorithm>

#include "minion/logging/logging.h"
#include "minion/metrics/recorder.h"

namespace minion::agents {
namespace {

// Breaker listeners run on the thread whose call caused the change; while Acquire / Release
// runs on this thread, the transitions it causes are copied here for the caller.
thread_local RoutingEvents* tl_events = nullptr;

struct CaptureEvents {
  explicit CaptureEvents(RoutingEvents* events) : saved(tl_events) { tl_events = events; }
  ~CaptureEvents() { tl_events = saved; }
  RoutingEvents* saved;
};

}  // namespace

Status WorkerRegistry::Add(WorkerMetadata metadata, std::shared_ptr<Worker> local) {
  if (metadata.agent_id.empty()) return InvalidArgumentError("worker agent id must not be empty");
  if (metadata.capabilities.empty()) {
    return InvalidArgumentError("worker '" + metadata.agent_id + "' has no capabilities");
  }
  std::lock_guard lock(mu_);
  std::string id = metadata.agent_id;
  auto [it, added] =
      workers_.emplace(id, Entry{std::move(metadata), std::move(local), 0, nullptr, {}});
  if (!added)
    return Status(StatusCode::kAlreadyExists, "worker '" + id + "' is already registered");
  if (breaker_options_) it->second.breaker = MakeBreaker(id);
  return Status::Ok();
}

Status WorkerRegistry::Remove(const std::string& agent_id) {
  std::lock_guard lock(mu_);
  if (!workers_.erase(agent_id))
    return NotFoundError("worker '" + agent_id + "' is not registered");
  return Status::Ok();
}

Result<std::string> WorkerRegistry::Acquire(const std::string& capability, RoutingStrategy strategy,
                                            RoutingEvents* events) {
  CaptureEvents capture(events);
  std::lock_guard lock(mu_);
  std::vector<Entry*> candidates;
  for (auto& [id, e] : workers_) {
    if (!e.metadata.HasCapability(capability)) continue;
    if (e.local && e.local->metadata().status == WorkerStatus::kOffline) continue;
    candidates.push_back(&e);
  }
  if (candidates.empty()) return NotFoundError("no worker offers capability '" + capability + "'");
  // Candidates in order of preference; the first whose breaker admits the call gets it.
  if (strategy == RoutingStrategy::kRoundRobin) {
    std::size_t& cursor = rr_cursor_[capability];
    std::rotate(candidates.begin(),
                candidates.begin() + static_cast<std::ptrdiff_t>(cursor++ % candidates.size()),
                candidates.end());
  } else {
    std::stable_sort(candidates.begin(), candidates.end(), [](const Entry* a, const Entry* b) {
      if (a->in_flight != b->in_flight) return a->in_flight < b->in_flight;
      return a->metadata.priority > b->metadata.priority;
    });
  }
  std::string refused;
  for (Entry* e : candidates) {
    if (e->breaker) {
      auto permit = e->breaker->TryAcquire();
      if (!permit.ok()) {
        metrics::GlobalRecorder().BreakerRejection(e->breaker->name(), "open");
        refused += (refused.empty() ? "" : "; ") + permit.status().message();
        if (events) events->rejections.push_back(permit.status().message());
        continue;
      }
      e->permits.push_back(*permit);
    }
    ++e->in_flight;
    return e->metadata.agent_id;
  }
  return UnavailableError("no worker offering capability '" + capability +
                          "' is available: " + refused);
}

void WorkerRegistry::Release(const std::string& agent_id) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(agent_id);
  if (it == workers_.end()) return;
  Entry& e = it->second;
  if (e.in_flight > 0) --e.in_flight;
  if (e.breaker && !e.permits.empty()) {
    e.breaker->Release(e.permits.front());
    e.permits.pop_front();
  }
}

void WorkerRegistry::Release(const std::string& agent_id, const Status& outcome,
                             RoutingEvents* events) {
  CaptureEvents capture(events);
  std::lock_guard lock(mu_);
  auto it = workers_.find(agent_id);
  if (it == workers_.end()) return;
  Entry& e = it->second;
  if (e.in_flight > 0) --e.in_flight;
  if (e.breaker && !e.permits.empty()) {
    // Permits of one worker differ only in start time and epoch; the oldest answers first.
    if (outcome.ok()) {
      e.breaker->OnSuccess(e.permits.front());
    } else {
      e.breaker->OnFailure(e.permits.front());
    }
    e.permits.pop_front();
  }
}

std::shared_ptr<resilience::CircuitBreaker> WorkerRegistry::MakeBreaker(
    const std::string& agent_id) {
  auto breaker = std::make_shared<resilience::CircuitBreaker>("worker:" + agent_id,
                                                              *breaker_options_, breaker_clock_);
  breaker->AddListener([](const resilience::BreakerTransition& t) {
    metrics::Recorder& r = metrics::GlobalRecorder();
    r.BreakerState(t.name, static_cast<int>(t.to));
    r.BreakerTransition(t.name, resilience::BreakerStateName(t.from),
                        resilience::BreakerStateName(t.to));
    logging::Log(
        t.to == resilience::BreakerState::kOpen ? logging::Level::kWarn : logging::Level::kInfo,
        "resilience", "circuit breaker state change",
        {{"breaker", t.name},
         {"from", resilience::BreakerStateName(t.from)},
         {"to", resilience::BreakerStateName(t.to)},
         {"reason", t.reason}});
    if (tl_events) {
      tl_events->transitions.push_back(RoutingEvents::Change{
          std::string(t.name), std::string(resilience::BreakerStateName(t.from)),
          std::string(resilience::BreakerStateName(t.to)), t.reason});
    }
  });
  metrics::GlobalRecorder().BreakerState(breaker->name(), 0);
  return breaker;
}

void WorkerRegistry::SetBreakerOptions(std::optional<resilience::CircuitBreakerOptions> options,
                                       Clock* clock) {
  std::lock_guard lock(mu_);
  breaker_options_ = std::move(options);
  breaker_clock_ = clock;
  for (auto& [id, e] : workers_) {
    e.permits.clear();
    e.breaker = breaker_options_ ? MakeBreaker(id) : nullptr;
  }
}

std::shared_ptr<resilience::CircuitBreaker> WorkerRegistry::Breaker(
    const std::string& agent_id) const {
  std::lock_guard lock(mu_);
  auto it = workers_.find(agent_id);
  return it == workers_.end() ? nullptr : it->second.breaker;
}

std::set<std::string> WorkerRegistry::Capabilities() const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  for (const auto& [id, e] : workers_)
    out.insert(e.metadata.capabilities.begin(), e.metadata.capabilities.end());
  return out;
}

std::vector<WorkerMetadata> WorkerRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<WorkerMetadata> out;
  for (const auto& [id, e] : workers_) out.push_back(e.local ? e.local->metadata() : e.metadata);
  return out;
}

std::shared_ptr<Worker> WorkerRegistry::Find(const std::string& agent_id) const {
  std::lock_guard lock(mu_);
  auto it = workers_.find(agent_id);
  return it == workers_.end() ? nullptr : it->second.local;
}

std::size_t WorkerRegistry::size() const {
  std::lock_guard lock(mu_);
  return workers_.size();
}

}  // namespace minion::agents
