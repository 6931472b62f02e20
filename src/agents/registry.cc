#include "minion/agents/registry.h"

#include <algorithm>

namespace minion::agents {

Status WorkerRegistry::Add(WorkerMetadata metadata, std::shared_ptr<Worker> local) {
  if (metadata.agent_id.empty()) return InvalidArgumentError("worker agent id must not be empty");
  if (metadata.capabilities.empty()) {
    return InvalidArgumentError("worker '" + metadata.agent_id + "' has no capabilities");
  }
  std::lock_guard lock(mu_);
  std::string id = metadata.agent_id;
  if (!workers_.emplace(id, Entry{std::move(metadata), std::move(local), 0}).second) {
    return Status(StatusCode::kAlreadyExists, "worker '" + id + "' is already registered");
  }
  return Status::Ok();
}

Status WorkerRegistry::Remove(const std::string& agent_id) {
  std::lock_guard lock(mu_);
  if (!workers_.erase(agent_id)) return NotFoundError("worker '" + agent_id + "' is not registered");
  return Status::Ok();
}

Result<std::string> WorkerRegistry::Acquire(const std::string& capability, RoutingStrategy strategy) {
  std::lock_guard lock(mu_);
  std::vector<Entry*> candidates;
  for (auto& [id, e] : workers_) {
    if (!e.metadata.HasCapability(capability)) continue;
    if (e.local && e.local->metadata().status == WorkerStatus::kOffline) continue;
    candidates.push_back(&e);
  }
  if (candidates.empty()) return NotFoundError("no worker offers capability '" + capability + "'");
  Entry* chosen = nullptr;
  if (strategy == RoutingStrategy::kRoundRobin) {
    std::size_t& cursor = rr_cursor_[capability];
    chosen = candidates[cursor++ % candidates.size()];
  } else {
    for (Entry* e : candidates) {
      if (!chosen || e->in_flight < chosen->in_flight ||
          (e->in_flight == chosen->in_flight && e->metadata.priority > chosen->metadata.priority)) {
        chosen = e;
      }
    }
  }
  ++chosen->in_flight;
  return chosen->metadata.agent_id;
}

void WorkerRegistry::Release(const std::string& agent_id) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(agent_id);
  if (it != workers_.end() && it->second.in_flight > 0) --it->second.in_flight;
}

std::set<std::string> WorkerRegistry::Capabilities() const {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  for (const auto& [id, e] : workers_) out.insert(e.metadata.capabilities.begin(), e.metadata.capabilities.end());
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
