// The logger's lines: valid JSON whatever the bytes, the context fields, levels, the
// environment, the bounded queue that drops (and counts) instead of blocking, and the rate
// limiter's suppressed counts. Lines are captured through a LineSink on the real async logger.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "logging/capture_sink.h"
#include "minion/logging/log_context.h"
#include "minion/logging/logging.h"
#include "minion/logging/rate_limiter.h"
#include "minion/trace/context.h"

namespace minion::logging {
namespace {

using nlohmann::json;
using testing::CaptureSink;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override { sink_ = std::make_shared<CaptureSink>(); }
  void TearDown() override { Shutdown(); }

  void InitCapture(Level level = Level::kDebug, Format format = Format::kJson,
                   std::size_t queue = 1024) {
    LoggingOptions o;
    o.level = level;
    o.format = format;
    o.sink = sink_;
    o.queue_size = queue;
    o.clock = &clock_;
    ASSERT_TRUE(Init(o).ok());
  }
  std::vector<json> ParsedLines() {
    Flush();
    std::vector<json> out;
    for (const auto& line : sink_->lines()) {
      EXPECT_EQ(line.find('\n'), std::string::npos) << line;
      out.push_back(json::parse(line));  // throws (fails the test) on invalid JSON
    }
    return out;
  }

  SimulatedClock clock_{1'764'000'000'123'456'789ULL};
  std::shared_ptr<CaptureSink> sink_;
};

TEST_F(LoggingTest, JsonLineHasTheCoreFieldsAndTheLogContext) {
  InitCapture();
  {
    ScopedLogContext outer({"task-1", "", ""});
    ScopedLogContext inner({"", "coder-1", "s1"});
    Info("worker", "subtask started",
         {{"attempt", 2}, {"ratio", 0.5}, {"ok", true}, {"capability", "code"}});
  }
  Info("coordinator", "no context here");
  auto lines = ParsedLines();
  ASSERT_EQ(lines.size(), 2u);
  const json& a = lines[0];
  EXPECT_EQ(a["time"], "2025-11-24T16:00:00.123456Z");
  EXPECT_EQ(a["level"], "info");
  EXPECT_EQ(a["message"], "subtask started");
  EXPECT_EQ(a["component"], "worker");
  EXPECT_EQ(a["task_id"], "task-1");
  EXPECT_EQ(a["agent_id"], "coder-1");
  EXPECT_EQ(a["subtask"], "s1");
  EXPECT_EQ(a["attempt"], 2);
  EXPECT_EQ(a["ratio"], 0.5);
  EXPECT_EQ(a["ok"], true);
  EXPECT_EQ(a["capability"], "code");
  EXPECT_FALSE(a.contains("trace_id"));
  EXPECT_FALSE(lines[1].contains("task_id"));
}

TEST_F(LoggingTest, TraceIdsComeFromTheCurrentSpanOrAnExplicitContext) {
  InitCapture();
  auto trace_id = *trace::TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736");
  auto span_id = *trace::SpanId::FromHex("00f067aa0ba902b7");
  trace::Context ctx(trace::SpanContext(trace::TraceId(trace_id), trace::SpanId(span_id),
                                        trace::TraceFlags(1), false));
  {
    auto scope = ctx.Attach();
    Info("t", "inside");
  }
  Info("t", "outside");
  Log(Level::kInfo, "t", "explicit", {}, &ctx);
  auto lines = ParsedLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(lines[0]["span_id"], "00f067aa0ba902b7");
  EXPECT_FALSE(lines[1].contains("trace_id"));
  EXPECT_EQ(lines[2]["span_id"], "00f067aa0ba902b7");
}

TEST_F(LoggingTest, EveryLineIsValidJsonWhateverTheBytes) {
  InitCapture(Level::kDebug, Format::kJson, 4096);
  std::mt19937 rng(42);
  std::vector<std::string> inputs = {std::string("\xff\xfe bad", 6),
                                     std::string("nul\0byte", 8),
                                     "quote \" backslash \\ newline \n tab \t",
                                     "\xed\xa0\x80 surrogate",
                                     "\xf4\x90\x80\x80 too high",
                                     "\xc0\xaf overlong",
                                     "ok \xe2\x82\xac euro",
                                     "\x7f del"};
  for (int i = 0; i < 500; ++i) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    inputs.push_back(std::move(s));
  }
  for (const auto& s : inputs) {
    Warn(s, s, {{s, s}, {"k", std::string_view(s)}});
  }
  auto lines = ParsedLines();
  ASSERT_EQ(lines.size(), inputs.size());
  EXPECT_EQ(lines[0]["message"], "\xef\xbf\xbd\xef\xbf\xbd bad");
  EXPECT_EQ(lines[1]["message"], std::string("nul\0byte", 8));
  EXPECT_EQ(lines[2]["message"], "quote \" backslash \\ newline \n tab \t");
  EXPECT_EQ(lines[6]["message"], "ok \xe2\x82\xac euro");
  // Round trip: what nlohmann re-serialises is valid UTF-8 (its strict dump would throw).
  for (const auto& l : lines) EXPECT_NO_THROW(l.dump());
}

TEST_F(LoggingTest, TextLinesStayOneLineAndCarryIds) {
  InitCapture(Level::kInfo, Format::kText);
  ScopedLogContext c({"t-9", "a", ""});
  Error("llm", "call failed\nsecond line", {{"status", 503}});
  Flush();
  auto lines = sink_->lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "2025-11-24T16:00:00.123456Z ERROR llm: call failed\\nsecond line task_id=t-9 "
            "agent_id=a status=503");
}

TEST_F(LoggingTest, LevelsBelowTheThresholdAreNotFormatted) {
  InitCapture(Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  Debug("c", "d");
  Info("c", "i");
  Warn("c", "w");
  Error("c", "e");
  auto lines = ParsedLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[1]["level"], "error");
  EXPECT_EQ(Stats().lines, 2u);
}

TEST_F(LoggingTest, SecretsInMessagesAndFieldsAreRedacted) {
  InitCapture();
  Error("llm",
        "POST https://bob:hunter2@api.example.com/v1 failed: Authorization: Bearer sk-abc123",
        {{"api_key", "sk-live-999"}, {"url", "http://u:p@h/"}});
  auto lines = ParsedLines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string dumped = lines[0].dump();
  EXPECT_EQ(dumped.find("hunter2"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("sk-abc123"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("sk-live-999"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("u:p@"), std::string::npos) << dumped;
  EXPECT_EQ(lines[0]["api_key"], "[REDACTED]");
}

TEST_F(LoggingTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  constexpr std::size_t kQueue = 8;
  constexpr int kBurst = 100;
  InitCapture(Level::kInfo, Format::kJson, kQueue);
  sink_->Close();
  Info("c", "first");  // the writer thread takes it and blocks in Write
  ASSERT_TRUE(sink_->WaitEntered(1));
  // The writer is stuck: every further line goes to the queue of 8; once full, each new line
  // overwrites the oldest. None of these calls may block (the test would hang).
  for (int i = 0; i < kBurst; ++i) Info("c", "burst", {{"i", i}});
  EXPECT_EQ(Stats().dropped, static_cast<std::uint64_t>(kBurst - static_cast<int>(kQueue)));
  sink_->Open();
  auto lines = ParsedLines();
  ASSERT_EQ(lines.size(), 1 + kQueue);
  // The newest lines survive.
  EXPECT_EQ(lines.back()["i"], kBurst - 1);
  EXPECT_EQ(lines[1]["i"], kBurst - static_cast<int>(kQueue));
  const auto stats = Stats();
  EXPECT_EQ(stats.lines, static_cast<std::uint64_t>(kBurst + 1));
  EXPECT_EQ(stats.lines, lines.size() + stats.dropped);
}

TEST_F(LoggingTest, RepeatedFailuresAreRateLimitedWithASuppressedCount) {
  InitCapture();
  RateLimitedLogger limited(std::chrono::seconds(10), &clock_);
  EXPECT_TRUE(limited.Log("llm:timeout", Level::kError, "llm", "timeout", {{"model", "m"}}));
  for (int i = 0; i < 4; ++i)
    EXPECT_FALSE(limited.Log("llm:timeout", Level::kError, "llm", "timeout"));
  EXPECT_TRUE(limited.Log("tool:x", Level::kError, "tool", "other key is independent"));
  EXPECT_EQ(limited.pending_suppressed(), 4u);
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(limited.Log("llm:timeout", Level::kError, "llm", "timeout", {{"model", "m"}}));
  EXPECT_FALSE(limited.Log("llm:timeout", Level::kError, "llm", "timeout"));
  limited.Flush();
  auto lines = ParsedLines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_FALSE(lines[0].contains("suppressed"));
  EXPECT_EQ(lines[2]["suppressed"], 4);
  EXPECT_EQ(lines[2]["model"], "m");
  EXPECT_EQ(lines[3]["message"], "similar lines suppressed");
  EXPECT_EQ(lines[3]["suppressed"], 1);
  EXPECT_EQ(Stats().suppressed, 5u);
}

TEST_F(LoggingTest, OptionsFromTheEnvironment) {
  ::setenv("MINION_LOG_LEVEL", "Warning", 1);
  ::setenv("MINION_LOG_FORMAT", "text", 1);
  auto o = OptionsFromEnv();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->level, Level::kWarn);
  EXPECT_EQ(o->format, Format::kText);
  ::setenv("MINION_LOG_FORMAT", "xml", 1);
  auto bad = OptionsFromEnv();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("MINION_LOG_FORMAT"), std::string::npos);
  ::unsetenv("MINION_LOG_LEVEL");
  ::unsetenv("MINION_LOG_FORMAT");
}

TEST_F(LoggingTest, WritesToAFileAndReportsOneThatCannotBeOpened) {
  const auto path =
      std::filesystem::temp_directory_path() / ("minion-log-" + std::to_string(::getpid()));
  LoggingOptions o;
  o.file = path.string();
  ASSERT_TRUE(Init(o).ok());
  Info("c", "to file");
  Shutdown();
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(json::parse(line)["message"], "to file");
  std::filesystem::remove(path);
  o.file = "/nonexistent-dir/x.log";
  Status s = Init(o);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("/nonexistent-dir/x.log"), std::string::npos);
}

}  // namespace
}  // namespace minion::logging
