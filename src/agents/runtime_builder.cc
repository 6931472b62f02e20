#include "minion/agents/runtime_builder.h"

#include "minion/agents/builtin_workers.h"

namespace minion::agents {

Result<std::unique_ptr<Coordinator>> BuildCoordinator(CoordinatorOptions options,
                                                      RuntimeDefaults defaults) {
  if (defaults.builtin_workers) {
    if (!options.provider) {
      return InvalidArgumentError(
          "built-in workers need an llm::Provider (CoordinatorOptions::provider)");
    }
    for (BuiltinKind kind : kAllBuiltinKinds) {
      WorkerOptions wo = options.worker_options;
      if (!wo.tracer) wo.tracer = options.tracer;
      if (!wo.clock) wo.clock = options.clock;
      options.workers.push_back(MakeBuiltinWorker(kind, options.provider, {}, std::move(wo)));
    }
  }
  if (!options.ledger && !options.orchestrator.ledger && !defaults.ledger_path.empty()) {
    MINION_ASSIGN_OR_RETURN(auto ledger, OpenSqliteLedger(defaults.ledger_path));
    options.ledger = std::shared_ptr<Ledger>(std::move(ledger));
  }
  if (!options.protocol) {
    if (!defaults.protocol.tracer) defaults.protocol.tracer = options.tracer;
    if (!defaults.protocol.clock) defaults.protocol.clock = options.clock;
    options.protocol = std::make_shared<InMemoryProtocol>(std::move(defaults.protocol));
    options.owns_protocol = true;
  }
  return Coordinator::Create(std::move(options));
}

}  // namespace minion::agents
