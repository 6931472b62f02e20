// External tools declared in a file: real child processes through a ToolRegistry.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "minion/agents/external_tool.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// True when process `pid` (not our child) exits within `limit`: a pidfd becomes readable
// when the process ends, so this waits on the kernel's word rather than polling /proc.
bool ExitsWithin(int pid, std::chrono::milliseconds limit) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // already gone (and reaped)
  pollfd p{fd, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(limit.count()));
  ::close(fd);
  return ready == 1;
}

class ExternalToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("minion_ext_tool_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  Status Load(const json& doc) {
    const fs::path file = dir_ / "tools.json";
    std::ofstream(file) << doc.dump(2);
    auto specs = LoadExternalTools(file);
    if (!specs.ok()) return specs.status();
    for (auto& spec : *specs)
      MINION_RETURN_IF_ERROR(registry_.Register(MakeExternalTool(std::move(spec))));
    return Status::Ok();
  }
  minion::testing::TracingRig capture_;
  tools::ToolRegistry registry_{capture_.tracer};
  fs::path dir_;
};

TEST_F(ExternalToolTest, ArgumentsGoToStdinAndStdoutComesBack) {
  ASSERT_TRUE(Load({{"tools",
                     {{{"name", "echo_args"},
                       {"description", "prints its arguments"},
                       {"command", {"cat"}},
                       {"parameters",
                        {{"type", "object"},
                         {"properties", {{"text", {{"type", "string"}}}}},
                         {"required", {"text"}}}}}}}})
                  .ok());
  auto info = registry_.List();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].description, "prints its arguments");
  auto r = registry_.Invoke({}, "echo_args", {{"text", "hello"}}, "call_9");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(json::parse((*r)["output"].get<std::string>())["text"], "hello");
  // The schema is checked before any process starts.
  auto bad = registry_.Invoke({}, "echo_args", {{"other", 1}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto spans = capture_.SpansNamed("tool.echo_args");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(minion::testing::StrAttr(spans[0], "gen_ai.tool.call.id"), "call_9");
}

TEST_F(ExternalToolTest, TimeoutKillsTheWholeProcessGroup) {
  const fs::path pid_file = dir_ / "grandchild.pid";
  // The shell starts a grandchild that would outlive it, then waits: only a group kill stops both.
  const std::string script = "sleep 60 & echo $! > '" + pid_file.string() + "'; wait";
  ASSERT_TRUE(
      Load({{"tools",
             {{{"name", "hang"}, {"command", {"/bin/sh", "-c", script}}, {"timeout_ms", 2000}}}}})
          .ok());
  auto r = registry_.Invoke({}, "hang", json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(r.status().message(), HasSubstr("killed after 2000 ms"));
  std::ifstream in(pid_file);
  int grandchild = 0;
  ASSERT_TRUE(in >> grandchild) << "the shell did not start its child within the timeout";
  // SIGKILL went to the group; the grandchild's death is asynchronous, so wait for it.
  const bool exited = ExitsWithin(grandchild, std::chrono::seconds(10));
  EXPECT_TRUE(exited) << "the grandchild survived the timeout";
  if (!exited) ::kill(grandchild, SIGKILL);  // never leave it behind
  auto spans = capture_.SpansNamed("tool.hang");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
}

TEST_F(ExternalToolTest, FailureCarriesStderrAndOutputIsBounded) {
  ASSERT_TRUE(Load({{"tools",
                     {{{"name", "fail"},
                       {"command", {"/bin/sh", "-c", "echo broken pipe dream >&2; exit 3"}}},
                      {{"name", "chatty"},
                       {"command", {"/bin/sh", "-c", "yes"}},
                       {"max_output_bytes", 1000}}}}})
                  .ok());
  auto failed = registry_.Invoke({}, "fail", json::object());
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("exited with status 3"));
  EXPECT_THAT(failed.status().message(), HasSubstr("broken pipe dream"));
  auto chatty = registry_.Invoke({}, "chatty", json::object());
  EXPECT_EQ(chatty.status().code(), StatusCode::kResourceExhausted);
}

TEST(ExternalToolParseTest, BadDeclarationsAreRefusedWithTheEntryNamed) {
  auto err = [](const std::string& text) { return ParseExternalTools(text).status().message(); };
  EXPECT_THAT(err(R"({"tools":[{"name":"a b","command":["x"]}]})"), HasSubstr("tools[0].name"));
  EXPECT_THAT(err(R"({"tools":[{"name":"t","command":[]}]})"), HasSubstr("(t).command"));
  EXPECT_THAT(err(R"({"tools":[{"name":"t","command":["x"],"parameters":{"type":"string"}}]})"),
              HasSubstr("parameters"));
  EXPECT_THAT(err(R"({"tools":[{"name":"t","command":["x"],"timeout_ms":0}]})"),
              HasSubstr("timeout_ms"));
  EXPECT_THAT(err(R"({"tools":[{"name":"t","command":["x"]},{"name":"t","command":["y"]}]})"),
              HasSubstr("declared twice"));
  EXPECT_THAT(err(R"([1])"), HasSubstr("expected {\"tools\""));
  EXPECT_THAT(err("{not json"), HasSubstr("not valid JSON"));
  EXPECT_EQ(LoadExternalTools("/nonexistent/tools.json").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace minion::agents
