#include "minion/logging/logging.h"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/sinks/sink.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "logging/line_format.h"
#include "logging/logging_internal.h"
#include "minion/common/env.h"
#include "minion/common/text.h"

namespace minion::logging {
namespace {

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      break;
  }
  return spdlog::level::off;
}

// The one sink of the async logger: runs on spdlog's writer thread. Lines arrive formatted
// (the payload), so spdlog's own pattern formatter is not used. Counts what it wrote so Flush
// can wait for the queue to drain (spdlog 1.10's async flush does not wait).
class WriterSink final : public spdlog::sinks::sink {
 public:
  WriterSink(std::FILE* file, bool owns_file, std::shared_ptr<LineSink> line_sink)
      : file_(file), owns_file_(owns_file), line_sink_(std::move(line_sink)) {}
  ~WriterSink() override {
    if (owns_file_ && file_ != nullptr) std::fclose(file_);
  }

  void log(const spdlog::details::log_msg& msg) override {
    const std::string_view line(msg.payload.data(), msg.payload.size());
    if (line_sink_) {
      line_sink_->Write(line);
    } else if (file_ != nullptr) {
      // One write per line, flushed at once: a crash loses at most the queue, and another
      // process tailing the file sees whole lines.
      std::fwrite(line.data(), 1, line.size(), file_);
      std::fputc('\n', file_);
      std::fflush(file_);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++written_;
    }
    cv_.notify_all();
  }
  void flush() override {
    if (line_sink_) line_sink_->Flush();
    if (file_ != nullptr) std::fflush(file_);
  }
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

  // Waits until written + dropped() reaches `target`, or `timeout` passes.
  template <class Dropped>
  bool WaitFor(std::uint64_t target, Dropped dropped, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    // Drops are counted by spdlog under its own lock, not ours, so poll them at a short period
    // while waiting for written lines.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (written_ + dropped() < target) {
      if (cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                      std::chrono::milliseconds(5))) ==
              std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= deadline) {
        return written_ + dropped() >= target;
      }
    }
    return true;
  }

 private:
  std::FILE* file_;
  bool owns_file_;
  std::shared_ptr<LineSink> line_sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t written_ = 0;  // guarded by mu_
};

struct State {
  LoggingOptions options;
  Clock* clock = nullptr;
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<WriterSink> sink;
  std::shared_ptr<spdlog::async_logger> logger;
  std::atomic<std::uint64_t> lines{0};

  std::uint64_t dropped() const { return pool->overrun_counter(); }
};

// Level below which lines are discarded before any work; kWarn while not initialised.
std::atomic<int> g_level{static_cast<int>(Level::kWarn)};
std::mutex g_init_mu;  // serialises Init and Shutdown
std::atomic<std::shared_ptr<State>> g_state;
std::atomic<std::uint64_t> g_suppressed{0};
// Counters of the last logger, kept after Shutdown so a final Stats() still reports them.
std::atomic<std::uint64_t> g_final_lines{0};
std::atomic<std::uint64_t> g_final_dropped{0};

constexpr std::chrono::seconds kDrainTimeout{10};

void Drain(State& state) {
  state.sink->WaitFor(
      state.lines.load(), [&] { return state.dropped(); }, kDrainTimeout);
  state.sink->flush();
}

}  // namespace

namespace internal {
void AddSuppressed(std::uint64_t n) { g_suppressed.fetch_add(n, std::memory_order_relaxed); }
}  // namespace internal

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "unknown";
}

Result<Level> ParseLevel(std::string_view text) {
  const std::string t = text::AsciiLower(text::Trim(text));
  if (t == "trace") return Level::kTrace;
  if (t == "debug") return Level::kDebug;
  if (t == "info") return Level::kInfo;
  if (t == "warn" || t == "warning") return Level::kWarn;
  if (t == "error") return Level::kError;
  if (t == "off" || t == "none") return Level::kOff;
  return InvalidArgumentError("unknown log level '" + std::string(text) +
                              "' (want trace, debug, info, warn, error or off)");
}

Result<Format> ParseFormat(std::string_view text) {
  const std::string t = text::AsciiLower(text::Trim(text));
  if (t == "json") return Format::kJson;
  if (t == "text") return Format::kText;
  return InvalidArgumentError("unknown log format '" + std::string(text) + "' (want json or text)");
}

Result<LoggingOptions> OptionsFromEnv(LoggingOptions options) {
  if (auto v = env::Get("MINION_LOG_LEVEL")) {
    auto level = ParseLevel(*v);
    if (!level.ok()) return level.status().WithContext("MINION_LOG_LEVEL");
    options.level = *level;
  }
  if (auto v = env::Get("MINION_LOG_FORMAT")) {
    auto format = ParseFormat(*v);
    if (!format.ok()) return format.status().WithContext("MINION_LOG_FORMAT");
    options.format = *format;
  }
  if (auto v = env::Get("MINION_LOG_FILE")) options.file = *v;
  return options;
}

Status Init(const LoggingOptions& options) {
  if (options.queue_size == 0)
    return InvalidArgumentError("logging: queue_size must be at least 1");
  std::FILE* file = nullptr;
  bool owns_file = false;
  if (!options.sink) {
    if (options.file.empty() || options.file == "-") {
      file = stderr;
    } else {
      file = std::fopen(options.file.c_str(), "a");
      if (file == nullptr) {
        return UnavailableError("logging: cannot open log file '" + options.file +
                                "': " + std::strerror(errno));
      }
      owns_file = true;
    }
  }
  auto state = std::make_shared<State>();
  state->options = options;
  state->clock = options.clock != nullptr ? options.clock : &SystemClock();
  state->sink = std::make_shared<WriterSink>(file, owns_file, options.sink);
  // One writer thread; a full queue overwrites its oldest line (counted by overrun_counter)
  // rather than blocking the task that logs.
  state->pool = std::make_shared<spdlog::details::thread_pool>(options.queue_size, 1);
  state->logger = std::make_shared<spdlog::async_logger>(
      "minion", state->sink, state->pool, spdlog::async_overflow_policy::overrun_oldest);
  state->logger->set_level(spdlog::level::trace);  // filtering happens in Log, before formatting

  std::lock_guard<std::mutex> lock(g_init_mu);
  auto previous = g_state.exchange(state);
  g_level.store(static_cast<int>(options.level), std::memory_order_relaxed);
  g_final_lines.store(0);
  g_final_dropped.store(0);
  g_suppressed.store(0);
  if (previous) Drain(*previous);
  return Status::Ok();
}

void Shutdown() {
  std::lock_guard<std::mutex> lock(g_init_mu);
  auto previous = g_state.exchange(nullptr);
  g_level.store(static_cast<int>(Level::kWarn), std::memory_order_relaxed);
  if (!previous) return;
  Drain(*previous);
  g_final_lines.store(previous->lines.load());
  g_final_dropped.store(previous->dropped());
}

void Flush() {
  if (auto state = g_state.load()) Drain(*state);
}

LoggingStats Stats() {
  LoggingStats s;
  if (auto state = g_state.load()) {
    s.lines = state->lines.load(std::memory_order_relaxed);
    s.dropped = state->dropped();
  } else {
    s.lines = g_final_lines.load();
    s.dropped = g_final_dropped.load();
  }
  s.suppressed = g_suppressed.load(std::memory_order_relaxed);
  return s;
}

bool Enabled(Level level) noexcept {
  return level != Level::kOff && static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void LogFields(Level level, std::string_view component, std::string_view message,
               std::span<const Field> fields, const trace::Context* context) {
  if (!Enabled(level)) return;
  const std::shared_ptr<State> state = g_state.load(std::memory_order_acquire);
  internal::LineInput in;
  in.format = state ? state->options.format : Format::kText;
  in.time = state ? state->clock->Now() : SystemClock().Now();
  in.level = level;
  in.component = component;
  in.message = message;
  in.span =
      context != nullptr ? &context->span_context() : &trace::Context::CurrentRef().span_context();
  in.context = LogContextAccess::Top();
  in.fields = fields;
  const std::string line = internal::FormatLine(in);
  if (!state) {
    std::fprintf(stderr, "%s\n", line.c_str());
    return;
  }
  state->lines.fetch_add(1, std::memory_order_relaxed);
  state->logger->log(ToSpdlog(level), spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace minion::logging
