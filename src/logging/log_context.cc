#include "minion/logging/log_context.h"

#include "logging/line_format.h"

namespace minion::logging {
namespace {
thread_local const ScopedLogContext* g_top = nullptr;
}  // namespace

ScopedLogContext::ScopedLogContext(LogContextFields fields)
    : fields_(std::move(fields)), previous_(g_top) {
  if (previous_ != nullptr) {
    if (fields_.task_id.empty()) fields_.task_id = previous_->fields_.task_id;
    if (fields_.agent_id.empty()) fields_.agent_id = previous_->fields_.agent_id;
    if (fields_.subtask.empty()) fields_.subtask = previous_->fields_.subtask;
  }
  g_top = this;
}

ScopedLogContext::~ScopedLogContext() { g_top = previous_; }

LogContextFields ScopedLogContext::Current() {
  return g_top != nullptr ? g_top->fields_ : LogContextFields{};
}

const LogContextFields* LogContextAccess::Top() noexcept {
  return g_top != nullptr ? &g_top->fields_ : nullptr;
}

}  // namespace minion::logging
