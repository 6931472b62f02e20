#pragma once
// Structured logs tied to traces. One process-wide logger (configured once by the program, in
// apps/minion) writes JSON lines or text to stderr or a file. Each line carries time, level,
// message and component, the current span's `trace_id` and `span_id` (the OpenTelemetry log
// data model's names) whenever a span is current on the calling thread, and the `task_id`,
// `agent_id` and `subtask` of the innermost ScopedLogContext (log_context.h).
//
// Logging never blocks a task: a line is formatted on the calling thread and handed to one
// writer thread through a bounded queue (spdlog's async logger); when the queue is full the
// oldest waiting line is dropped and counted (Stats().dropped). Text from users, models and
// the network is never assumed to be UTF-8 (invalid bytes become U+FFFD, control characters
// are escaped), and secrets (URL userinfo, bearer tokens, password/token/api_key values) are
// redacted from messages and field values before they are written.
//
// Before Init (and after Shutdown) warnings and errors go to stderr as text, synchronously, so
// libraries can log without the program having configured anything. Thread-safe: Log may race
// with everything, Init/Shutdown are meant for the program's start and end.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "minion/common/clock.h"
#include "minion/common/status.h"
#include "minion/trace/context.h"

namespace minion::logging {

enum class Level : int { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kJson, kText };

std::string_view LevelName(Level level);  // "trace", "debug", "info", "warn", "error", "off"
// Case-insensitive; "warning" is accepted for warn.
Result<Level> ParseLevel(std::string_view text);
Result<Format> ParseFormat(std::string_view text);  // "json" or "text"

// Where finished lines go when not to stderr or a file: tests and embedding programs. Write is
// called from the writer thread only (one line, no trailing newline); it may block, which
// only fills the queue.
class LineSink {
 public:
  virtual ~LineSink() = default;
  virtual void Write(std::string_view line) = 0;
  virtual void Flush() {}
};

struct LoggingOptions {
  Level level = Level::kInfo;
  Format format = Format::kJson;
  std::string file;                // empty: stderr (ignored when `sink` is set)
  std::shared_ptr<LineSink> sink;  // optional; replaces stderr/file
  std::size_t queue_size = 8192;   // lines waiting for the writer thread
  Clock* clock = nullptr;          // timestamps; null: SystemClock()
};

// Applies MINION_LOG_LEVEL, MINION_LOG_FORMAT and MINION_LOG_FILE over `options` (an invalid
// value is an error naming the variable). Programs apply their flags afterwards: flags win.
Result<LoggingOptions> OptionsFromEnv(LoggingOptions options = {});

// Replaces the process-wide logger (draining the previous one). InvalidArgument for a zero
// queue, Unavailable when the file cannot be opened (the message names it).
Status Init(const LoggingOptions& options);
// Writes every queued line, stops the writer thread and returns to the pre-Init stderr
// fallback. Idempotent.
void Shutdown();
// Blocks until the lines queued so far are written and the output flushed (tests, exit).
void Flush();

struct LoggingStats {
  std::uint64_t lines = 0;       // lines accepted since Init (level enabled)
  std::uint64_t dropped = 0;     // overwritten in the full queue before they were written
  std::uint64_t suppressed = 0;  // held back by RateLimitedLogger (rate_limiter.h)
};
LoggingStats Stats();

// True when a line at `level` would be written (a relaxed atomic load): guard expensive
// message building with it.
bool Enabled(Level level) noexcept;

// One extra field on a line. Strings are escaped and redacted; keys must be ASCII identifiers
// chosen by the program (they are escaped too, but never redacted).
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, std::uint64_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;
};
using Fields = std::initializer_list<Field>;

// Logs one line. `component` names the part of minion that speaks ("coordinator", "worker",
// "llm", "resilience", ...). The trace ids come from `context` when given, otherwise from the
// thread's current context (trace::Context::CurrentRef()).
void LogFields(Level level, std::string_view component, std::string_view message,
               std::span<const Field> fields, const trace::Context* context = nullptr);
inline void Log(Level level, std::string_view component, std::string_view message,
                Fields fields = {}, const trace::Context* context = nullptr) {
  LogFields(level, component, message, std::span<const Field>(fields.begin(), fields.size()),
            context);
}

inline void Debug(std::string_view component, std::string_view message, Fields fields = {}) {
  Log(Level::kDebug, component, message, fields);
}
inline void Info(std::string_view component, std::string_view message, Fields fields = {}) {
  Log(Level::kInfo, component, message, fields);
}
inline void Warn(std::string_view component, std::string_view message, Fields fields = {}) {
  Log(Level::kWarn, component, message, fields);
}
inline void Error(std::string_view component, std::string_view message, Fields fields = {}) {
  Log(Level::kError, component, message, fields);
}

}  // namespace minion::logging
