#pragma once
// A TaskHandler that runs an external program per subtask: the subtask as JSON on its stdin,
// the result as JSON on its stdout, the worker span's context in its environment
// (TRACEPARENT / TRACESTATE / BAGGAGE) so the child's own spans join the trace. The program is
// started directly (posix_spawn, no shell); it is killed when it overruns the timeout (or the
// subtask's own limit, Subtask::timeout, when that is shorter). When the
// subtask is cancelled (Subtask::stop_token) the child gets SIGTERM, then SIGKILL if it has not
// exited after `cancel_grace`, and the call fails with Cancelled.
// Thread-safe: each call runs its own child.

#include <chrono>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "minion/agents/worker.h"
#include "minion/trace/propagation.h"

namespace minion::agents {

struct ExternalCommandOptions {
  std::vector<std::string> argv;  // argv[0] is a path or a name looked up in PATH
  std::chrono::milliseconds timeout{30000};
  std::map<std::string, std::string> env;  // added to (and overriding) the inherited environment
  std::size_t max_output_bytes = 4 * 1024 * 1024;
  // After SIGTERM on cancellation, how long the child may take to exit before SIGKILL.
  std::chrono::milliseconds cancel_grace{2000};
  const trace::TextMapPropagator* propagator = nullptr;  // null: propagation::DefaultPropagator()
  // Start the child in a process group of its own and send timeout and cancellation signals
  // to the whole group, so what the child started (a shell's children) stops with it.
  bool own_process_group = false;
  // Return stdout as a JSON string instead of parsing it as JSON (external tools print text).
  bool raw_stdout = false;
};

// Runs the command once with `input` on stdin. Errors: DeadlineExceeded (killed after the
// timeout), Internal (non-zero exit or killed by a signal; the message has the end of stderr),
// InvalidArgument (stdout is not JSON, unless raw_stdout), ResourceExhausted (stdout over
// max_output_bytes), Unavailable (the program could not be started), Cancelled (`stop` was
// requested: the child was stopped as described above, or never started; the message names the pid
// and the signal that ended it).
Result<nlohmann::json> RunExternalCommand(const trace::Context& context,
                                          const ExternalCommandOptions& options,
                                          const nlohmann::json& input, std::stop_token stop = {});

// The handler: sends SubtaskToJson(subtask), returns the parsed stdout.
std::unique_ptr<TaskHandler> MakeExternalCommandHandler(ExternalCommandOptions options);

}  // namespace minion::agents
