#pragma once
// TracesData -> Jaeger's classic JSON model (the /api/traces answers).

#include <nlohmann/json.hpp>

#include "minion/store/trace_store.h"

namespace minion::store::internal {

nlohmann::json JaegerV1Trace(const TracesData& trace);

}  // namespace minion::store::internal
