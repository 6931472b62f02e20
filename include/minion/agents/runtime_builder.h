#pragma once
// BuildCoordinator: the one place that picks today's default pieces for a Coordinator — an
// in-process protocol, an in-memory or SQLite ledger, and one built-in worker of each kind —
// and hands them to Coordinator::Create. Anything already set in CoordinatorOptions (a Redis
// protocol, a ledger, workers) is kept; only what is missing is filled in. `minion run` uses it;
// a program that wires its own pieces calls Coordinator::Create directly.

#include <memory>
#include <string>

#include "minion/agents/coordinator.h"
#include "minion/agents/in_memory_protocol.h"

namespace minion::agents {

struct RuntimeDefaults {
  // Used when CoordinatorOptions::protocol is null: an InMemoryProtocol with these options,
  // owned (and shut down) by the coordinator. Its tracer and clock default to the coordinator's.
  InMemoryProtocolOptions protocol{};
  // Used when no ledger is given: an SQLite database at this path, or in memory when empty.
  std::string ledger_path{};
  // One worker of each built-in kind (builtin_workers.h), answering through
  // CoordinatorOptions::provider; InvalidArgument when there is no provider.
  bool builtin_workers = true;
};

Result<std::unique_ptr<Coordinator>> BuildCoordinator(CoordinatorOptions options,
                                                      RuntimeDefaults defaults = {});

}  // namespace minion::agents
