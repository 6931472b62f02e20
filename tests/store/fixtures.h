#pragma once
// Builders for OTLP requests in the trace store's tests, and a temporary database path.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "minion/store/trace_store.h"

namespace minion::store::testing {

namespace common_pb = opentelemetry::proto::common::v1;
namespace trace_pb = opentelemetry::proto::trace::v1;

// 16-byte trace id / 8-byte span id made from small numbers (never all zero).
inline std::string TraceIdBytes(std::uint64_t n) {
  std::string s(16, '\0');
  for (int i = 0; i < 8; ++i) s[15 - i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  s[0] = 0x7a;
  return s;
}
inline std::string SpanIdBytes(std::uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[7 - i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  s[0] = static_cast<char>(s[0] | 0x10);
  return s;
}

inline void SetString(trace_pb::Span& span, const std::string& k, const std::string& v) {
  auto* kv = span.add_attributes();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}
inline void SetInt(trace_pb::Span& span, const std::string& k, std::int64_t v) {
  auto* kv = span.add_attributes();
  kv->set_key(k);
  kv->mutable_value()->set_int_value(v);
}

// One resource (service `service`) and one scope.
inline trace_pb::ScopeSpans* NewScope(ExportRequest& req, const std::string& service) {
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(service);
  auto* host = rs->mutable_resource()->add_attributes();
  host->set_key("host.name");
  host->mutable_value()->set_string_value("test-host");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("minion.multiagent");
  ss->mutable_scope()->set_version("0.1.0");
  return ss;
}

inline trace_pb::Span* AddSpan(trace_pb::ScopeSpans* ss, std::uint64_t trace, std::uint64_t id,
                               std::uint64_t parent, const std::string& name,
                               std::uint64_t start_ns, std::uint64_t duration_ns, int kind = 1) {
  auto* s = ss->add_spans();
  s->set_trace_id(TraceIdBytes(trace));
  s->set_span_id(SpanIdBytes(id));
  if (parent) s->set_parent_span_id(SpanIdBytes(parent));
  s->set_name(name);
  s->set_kind(static_cast<trace_pb::Span::SpanKind>(kind));
  s->set_start_time_unix_nano(start_ns);
  s->set_end_time_unix_nano(start_ns + duration_ns);
  return s;
}

// A seed-shaped task trace: multiagent.task.<type> -> orchestrator.dispatch -> worker.<type>
// (CONSUMER) -> llm call (CLIENT); `failed` puts ERROR status on the worker span.
inline ExportRequest TaskTrace(std::uint64_t trace, const std::string& type, int priority,
                               const std::string& worker, std::uint64_t start_ns,
                               std::uint64_t duration_ns, bool failed = false,
                               const std::string& service = "minion-multiagent") {
  ExportRequest req;
  auto* ss = NewScope(req, service);
  const std::uint64_t base = trace * 16;
  auto* task = AddSpan(ss, trace, base + 1, 0, "multiagent.task." + type, start_ns, duration_ns);
  SetString(*task, "multiagent.task.type", type);
  SetInt(*task, "multiagent.task.priority", priority);
  auto* dispatch = AddSpan(ss, trace, base + 2, base + 1, "orchestrator.dispatch", start_ns + 10,
                           duration_ns - 20);
  SetString(*dispatch, "operation", "dispatch");
  auto* w =
      AddSpan(ss, trace, base + 3, base + 2, "worker." + type, start_ns + 20, duration_ns - 40, 5);
  SetString(*w, "multiagent.worker.id", worker);
  SetString(*w, "multiagent.worker.capability", type);
  if (failed) {
    w->mutable_status()->set_code(trace_pb::Status::STATUS_CODE_ERROR);
    w->mutable_status()->set_message("handler failed");
    auto* ev = w->add_events();
    ev->set_name("exception");
    ev->set_time_unix_nano(start_ns + 30);
    auto* kv = ev->add_attributes();
    kv->set_key("exception.message");
    kv->mutable_value()->set_string_value("boom");
  }
  auto* llm = AddSpan(ss, trace, base + 4, base + 3, "llm.offline.echo", start_ns + 25, 1000, 3);
  SetInt(*llm, "gen_ai.usage.input_tokens", 25);
  auto* d = llm->add_attributes();
  d->set_key("llm.cost");
  d->mutable_value()->set_double_value(0.25);
  return req;
}

// A fresh directory for one test's database files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("minion-store-" + std::to_string(::getpid()) + "-" + (info ? info->name() : "x"));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace minion::store::testing
