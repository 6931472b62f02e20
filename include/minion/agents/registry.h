#pragma once
// WorkerRegistry: which workers exist, what they offer, and how many subtasks each has been
// given and not yet answered. The orchestrator routes with it; the coordinator fills it.
// Entries may describe local workers (with a Worker object) or remote ones (metadata only), so
// a networked transport needs no change here. Thread-safe.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "minion/agents/worker.h"
#include "minion/common/status.h"

namespace minion::agents {

enum class RoutingStrategy { kRoundRobin, kLeastInFlight };

class WorkerRegistry {
 public:
  // AlreadyExists for a duplicate id; InvalidArgument without id or capabilities.
  Status Add(WorkerMetadata metadata, std::shared_ptr<Worker> local = nullptr);
  Status Remove(const std::string& agent_id);

  // Picks a worker offering `capability` (ties on the strategy go to higher priority, then
  // id order) and counts one more subtask in flight for it. NotFound naming the capability.
  Result<std::string> Acquire(const std::string& capability, RoutingStrategy strategy);
  // The subtask given by Acquire was answered (or abandoned).
  void Release(const std::string& agent_id);

  std::set<std::string> Capabilities() const;
  std::vector<WorkerMetadata> List() const;  // live status for local workers
  std::shared_ptr<Worker> Find(const std::string& agent_id) const;
  std::size_t size() const;

 private:
  struct Entry {
    WorkerMetadata metadata;
    std::shared_ptr<Worker> local;
    std::size_t in_flight = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> workers_;          // guarded by mu_
  std::map<std::string, std::size_t> rr_cursor_;  // guarded by mu_; per capability
};

}  // namespace minion::agents
