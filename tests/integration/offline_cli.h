#pragma once
// The `minion` binary (MINION_CLI, defined per test target) as an external command with the
// configuration these tests rely on: no span exporter and the offline model, so a run depends
// only on what the test passes.

#include <chrono>
#include <string>
#include <vector>

#include "minion/agents/external_worker.h"

namespace minion::testing {

inline agents::ExternalCommandOptions OfflineCli(const std::vector<std::string>& args) {
  agents::ExternalCommandOptions o;
  o.argv = {MINION_CLI};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.timeout = std::chrono::seconds(60);
  o.env["OTEL_TRACES_EXPORTER"] = "none";
  o.env["MINION_LLM_PROVIDER"] = "offline";
  return o;
}

}  // namespace minion::testing
