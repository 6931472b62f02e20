#pragma once
// Resuming an interrupted task from its ledger record (`minion resume TASK_ID`): the request and
// plan the run recorded, and every subtask it finished, become a ResumeRequest for
// Coordinator::ResumeTask, which runs only what is left.

#include <string>

#include "minion/agents/coordinator.h"
#include "minion/agents/ledger.h"
#include "minion/common/status.h"

namespace minion::agents {

// Reads task `task_id` back from `ledger`. A subtask counts as finished when its row says
// `succeeded` and its output was stored whole (valid JSON, not truncated); every other one
// (pending, running or retrying at the crash, failed, skipped) runs again.
//
// Refused, with a message saying why and what to do:
//   NotFound            the ledger has no such task;
//   FailedPrecondition  the task already succeeded (nothing to resume), or its record cannot
//                       be resumed: no plan (it stopped before planning), a plan that does not
//                       parse, the request or plan truncated in the ledger, or a run that had
//                       replanned (its second plan is not stored).
Result<ResumeRequest> LoadResumeRequest(const Ledger& ledger, const std::string& task_id);

}  // namespace minion::agents
