#pragma once
// Reads one sample out of a Prometheus text exposition, for tests that check what a live
// process serves on /metrics.
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

namespace minion::testing {

// The value of the sample whose series is exactly `series` (name plus its labels as the
// serializer prints them, e.g. `minion_worker_subtasks_handled_total{agent_id="w1"}`), or
// nullopt when absent.
inline std::optional<double> MetricValue(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

}  // namespace minion::testing
