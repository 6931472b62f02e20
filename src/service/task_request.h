#pragma once
// The body of POST /v1/tasks as a TaskRequest. Internal to minion_service; its own unit so the
// fuzz target (fuzz/task_request_fuzz.cc) reaches exactly what the HTTP handler runs.

#include <cstddef>
#include <string>

#include "minion/agents/planner.h"
#include "minion/common/status.h"

namespace minion::service {

// InvalidArgument with the message of the 400 the API answers: empty body, JSON that does not
// parse or nests deeper than `max_depth`, not an object, an unknown field, a missing or mistyped
// name/type/priority/description. The body's size is bounded by the HTTP server before this.
Result<agents::TaskRequest> ParseTaskRequest(const std::string& body, std::size_t max_depth);

}  // namespace minion::service
