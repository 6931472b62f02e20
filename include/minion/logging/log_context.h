#pragma once
// ScopedLogContext: the task, agent and subtask a thread is working for, added to every log
// line it writes while the scope lives. Scopes nest; a field left empty in an inner scope keeps
// the outer one's value. Thread-local: each thread sees only its own scopes, which must be
// destroyed in reverse order of creation on the thread that created them. Cheap (no
// allocation beyond the strings the caller passes in).

#include <string>

namespace minion::logging {

struct LogContextFields {
  std::string task_id;
  std::string agent_id;
  std::string subtask;
};

class ScopedLogContext {
 public:
  explicit ScopedLogContext(LogContextFields fields);
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

  // The merged fields of the calling thread's scopes (all empty when there is none).
  static LogContextFields Current();

 private:
  friend struct LogContextAccess;
  LogContextFields fields_;  // already merged with the enclosing scope
  const ScopedLogContext* previous_;
};

}  // namespace minion::logging
