// Cancellation that really stops the work: when the orchestrator gives up on an attempt
// (timeout, a sibling failed, shutdown) it sends a cancel message to the worker's control
// address; the worker requests stop on the subtask's stop_token, an external command's child is
// killed, and the trace shows the cancel. Real processes and the real in-memory transport; the
// tests synchronise on futures, latches and a FIFO, never on sleeps.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <latch>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "llm/test_http_server.h"
#include "minion/agents/builtin_workers.h"
#include "minion/agents/coordinator.h"
#include "minion/agents/external_worker.h"
#include "minion/agents/runtime_builder.h"
#include "minion/llm/openai_provider.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

using minion::testing::TracingRig;
using nlohmann::json;

// Failure bound only: how long a test waits for something that should happen promptly.
constexpr auto kGuard = std::chrono::seconds(60);

// A FIFO the helper child writes its pid into once it is running.
class PidFifo {
 public:
  PidFifo() {
    char tmpl[] = "/tmp/minion-cancel-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/pid";
    EXPECT_EQ(::mkfifo(path_.c_str(), 0600), 0) << std::strerror(errno);
    // Non-blocking so the test never hangs on open; the helper's open for writing then
    // succeeds at once because a reader exists.
    fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK);
    EXPECT_GE(fd_, 0) << std::strerror(errno);
  }
  ~PidFifo() {
    if (fd_ >= 0) ::close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }

  // The child's pid once it wrote it; -1 if it did not within the guard.
  pid_t ReadPid() {
    std::string data;
    const auto deadline = std::chrono::steady_clock::now() + kGuard;
    while (data.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return -1;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno != EINTR) return -1;
      if (r <= 0) continue;
      char buf[64];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) data.append(buf, static_cast<std::size_t>(n));
      if (n == 0 && data.empty()) return -1;  // writer closed without writing
    }
    return static_cast<pid_t>(std::atoi(data.c_str()));
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

ExternalCommandOptions Helper(std::string mode, const std::string& arg) {
  ExternalCommandOptions o;
  o.argv = {MINION_AGENT_HELPER, std::move(mode), arg};
  o.timeout = std::chrono::seconds(120);  // cancellation, not this, must stop the child
  return o;
}

// ---- RunExternalCommand on its own ----

TEST(ExternalCommandCancelTest, StopRequestTerminatesTheChildWithSigterm) {
  PidFifo fifo;
  std::stop_source stop;
  auto run = std::async(std::launch::async, [&] {
    return RunExternalCommand({}, Helper("pidfifo", fifo.path()), json::object(), stop.get_token());
  });
  pid_t pid = fifo.ReadPid();
  ASSERT_GT(pid, 0) << "the helper never reported its pid";
  EXPECT_FALSE(ProcessGone(pid));
  stop.request_stop();
  ASSERT_EQ(run.wait_for(kGuard), std::future_status::ready) << "the child was not stopped";
  auto out = run.get();
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled) << out.status().ToString();
  EXPECT_NE(out.status().message().find("(pid " + std::to_string(pid) + ") was cancelled"),
            std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("terminated by SIGTERM"), std::string::npos)
      << out.status().message();
  EXPECT_EQ(out.status().message().find("SIGKILL"), std::string::npos) << out.status().message();
  EXPECT_TRUE(ProcessGone(pid)) << "pid " << pid << " still exists (not reaped)";
}

TEST(ExternalCommandCancelTest, ChildIgnoringSigtermIsKilledAfterTheGrace) {
  PidFifo fifo;
  std::stop_source stop;
  auto options = Helper("pidfifo-ignore-term", fifo.path());
  options.cancel_grace = std::chrono::milliseconds(100);
  auto run = std::async(std::launch::async, [&] {
    return RunExternalCommand({}, options, json::object(), stop.get_token());
  });
  pid_t pid = fifo.ReadPid();
  ASSERT_GT(pid, 0);
  stop.request_stop();
  ASSERT_EQ(run.wait_for(kGuard), std::future_status::ready);
  auto out = run.get();
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled);
  // The child ignores SIGTERM, so only the escalation can have ended it.
  EXPECT_NE(out.status().message().find("then SIGKILL after 100 ms"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("terminated by SIGKILL"), std::string::npos)
      << out.status().message();
  EXPECT_TRUE(ProcessGone(pid));
}

TEST(ExternalCommandCancelTest, StopRequestedBeforeStartDoesNotSpawn) {
  std::stop_source stop;
  stop.request_stop();
  ExternalCommandOptions options;
  options.argv = {"/nonexistent/would-be-unavailable"};
  auto out = RunExternalCommand({}, options, json::object(), stop.get_token());
  // Cancelled, not Unavailable: nothing was started.
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled) << out.status().ToString();
  EXPECT_NE(out.status().message().find("was not started"), std::string::npos);
}

// An HTTP server on 127.0.0.1 that accepts one connection, reads the request and never answers
// (a model that is taking forever). Reports the accept; ends when the client hangs up.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      accepted_.set_value();
      if (c < 0) return;
      char buf[4096];
      // Until the client closes: a read of 0 is the abort reaching the server.
      for (;;) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n == 0) {
          client_closed_ = true;
          break;
        }
        if (n < 0 && errno != EINTR) break;
      }
      ::close(c);
    });
  }
  ~SilentServer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::future<void> accepted() { return accepted_.get_future(); }
  void Join() { thread_.join(); }
  bool client_closed() const { return client_closed_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::promise<void> accepted_;
  bool client_closed_ = false;  // written by thread_, read after Join()
  std::thread thread_;
};

TEST(OpenAIProviderCancelTest, StopRequestAbortsTheHttpRequestInFlight) {
  SilentServer server;
  auto accepted = server.accepted();
  TracingRig tracing;
  llm::OpenAIProviderOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1";
  options.timeout = std::chrono::seconds(120);  // the cancel, not this, must end the call
  options.max_retries = 3;                      // a cancelled call must not be retried
  options.tracer = tracing.tracer;
  llm::OpenAIProvider provider(options);
  std::stop_source stop;
  llm::ChatRequest request;
  request.messages.push_back({"user", "take your time"});
  auto call =
      std::async(std::launch::async, [&] { return provider.Chat({}, request, stop.get_token()); });
  ASSERT_EQ(accepted.wait_for(kGuard), std::future_status::ready)
      << "the request never reached the server";
  stop.request_stop();
  ASSERT_EQ(call.wait_for(kGuard), std::future_status::ready) << "the request was not aborted";
  auto out = call.get();
  EXPECT_EQ(out.status().code(), StatusCode::kCancelled) << out.status().ToString();
  server.Join();
  EXPECT_TRUE(server.client_closed()) << "the connection was not closed by the abort";
  auto spans = tracing.Spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, trace::SpanStatusCode::kError);
  EXPECT_EQ(minion::testing::Str(spans[0], "error.type"), "cancelled");
  for (const auto& e : spans[0].events) EXPECT_NE(e.name, "gen_ai.client.retry");
}

TEST(CancelRequestTest, RoundTripsAndRejectsOtherContent) {
  CancelRequest c{"msg-1", "task-1", "s1", 2, "timeout after 5 ms"};
  json j = CancelRequestToJson(c);
  ASSERT_TRUE(j.contains("cancel"));
  auto back = CancelRequestFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->message_id, "msg-1");
  EXPECT_EQ(back->subtask_id, "s1");
  EXPECT_EQ(back->attempt, 2);
  EXPECT_EQ(back->reason, "timeout after 5 ms");
  EXPECT_FALSE(CancelRequestFromJson(json{{"hello", 1}}).ok());
  EXPECT_FALSE(CancelRequestFromJson(json{{"cancel", {{"message_id", ""}}}}).ok());
  EXPECT_FALSE(CancelRequestFromJson(json{{"cancel", {{"message_id", 3}}}}).ok());
  EXPECT_EQ(WorkerControlId("coder-1"), "coder-1/control");
}

// ---- Through the coordinator ----

// What a handler saw when it returned.
struct Release {
  bool by_stop = false;  // true: the stop_token was signalled; false: the guard ran out
  std::string subtask_id;
  int attempt = 0;
};

// A handler that blocks until its subtask is cancelled (or the guard runs out, which the tests
// treat as a failure) and reports which of the two released it.
TaskFunction WaitForStop(std::shared_ptr<std::promise<Release>> released,
                         std::shared_ptr<std::latch> started = nullptr) {
  return [released, started](const trace::Context&, const Subtask& subtask) -> Result<json> {
    if (started) started->count_down();
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    bool stopped = cv.wait_for(lock, subtask.stop_token, kGuard, [] { return false; });
    stopped = subtask.stop_token.stop_requested();
    released->set_value(Release{stopped, subtask.subtask_id, subtask.attempt});
    if (!stopped) return json{{"finished", "by itself"}};
    return CancelledError("handler observed the stop request");
  };
}

class CancellationTest : public ::testing::Test {
 protected:
  // With `clock`, timeouts pass only when the test advances it.
  std::unique_ptr<Coordinator> Make(std::chrono::milliseconds timeout,
                                    std::shared_ptr<Planner> workflow = nullptr,
                                    Clock* clock = nullptr) {
    CoordinatorOptions o;
    o.tracer = tracing_.tracer;
    o.clock = clock;
    o.orchestrator.subtask_timeout = timeout;
    o.orchestrator.retry.max_attempts = 1;
    o.orchestrator.replan_on_failure = false;
    o.workflow = std::move(workflow);
    auto c = BuildCoordinator(std::move(o), {.builtin_workers = false});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  static WorkerMetadata Meta(std::string id, std::string capability) {
    return WorkerMetadata{std::move(id),         "test", {std::move(capability)}, "", 5,
                          WorkerStatus::kOffline};
  }

  // The cancel's protocol.send (an `event` to <worker>/control), the worker span and the
  // dispatch span of the task; asserts the tree around them.
  void ExpectCancelInTrace(const std::string& worker_id, const std::string& capability,
                           const std::string& reason_part) {
    auto spans = tracing_.Spans();
    auto workers = minion::testing::Named(spans, "worker." + capability);
    ASSERT_EQ(workers.size(), 1u);
    const auto& worker = *workers[0];
    EXPECT_EQ(worker.status, trace::SpanStatusCode::kError);
    EXPECT_NE(worker.status_description.find("cancelled"), std::string::npos)
        << worker.status_description;
    const trace::SpanEvent* cancelled = nullptr;
    for (const auto& e : worker.events) {
      if (e.name == "cancelled") cancelled = &e;
    }
    ASSERT_NE(cancelled, nullptr) << "worker span has no 'cancelled' event";
    std::string reason;
    for (const auto& kv : cancelled->attributes) {
      if (kv.key == "multiagent.cancel.reason") reason = trace::AttributeValueToString(kv.value);
    }
    EXPECT_NE(reason.find(reason_part), std::string::npos) << reason;

    const trace::SpanData* task_send = minion::testing::ById(spans, worker.parent_span_id);
    ASSERT_NE(task_send, nullptr);
    EXPECT_EQ(minion::testing::Str(*task_send, "multiagent.message.type"), "task");
    const trace::SpanData* cancel_send = nullptr;
    for (const auto* s : minion::testing::Named(spans, "protocol.send")) {
      if (minion::testing::Str(*s, "multiagent.message.type") == "event") cancel_send = s;
    }
    ASSERT_NE(cancel_send, nullptr) << "no protocol.send span for the cancel message";
    EXPECT_EQ(cancel_send->kind, trace::SpanKind::kProducer);
    // Both sends hang off the same orchestrator.dispatch span.
    EXPECT_EQ(cancel_send->parent_span_id, task_send->parent_span_id);
    const trace::SpanData* dispatch = minion::testing::ById(spans, task_send->parent_span_id);
    ASSERT_NE(dispatch, nullptr);
    EXPECT_EQ(dispatch->name, "orchestrator.dispatch");
    EXPECT_EQ(cancel_send->trace_id, worker.trace_id);
    // The worker span links to the send of the cancel it obeyed (its context came in the
    // message headers, as it would across processes).
    bool linked = false;
    for (const auto& l : worker.links)
      linked = linked || l.context.span_id() == cancel_send->span_id;
    EXPECT_TRUE(linked) << "worker span does not link to the cancel's protocol.send";
    EXPECT_GE(worker.end_time, cancel_send->end_time);
    (void)worker_id;
  }

  // Registers worker "ext-1" (capability shell_task) running the helper in `pidfifo` mode and
  // starts a task for it; returns the task's future.
  std::future<TaskResult> StartExternalTask(Coordinator& coordinator, const PidFifo& fifo,
                                            std::shared_ptr<Worker>* worker_out = nullptr) {
    auto worker = std::make_shared<Worker>(
        Meta("ext-1", "shell_task"), MakeExternalCommandHandler(Helper("pidfifo", fifo.path())),
        WorkerOptions{.tracer = tracing_.tracer});
    EXPECT_TRUE(coordinator.RegisterWorker(worker).ok());
    if (worker_out) *worker_out = worker;
    return std::async(std::launch::async, [&coordinator] {
      return coordinator.ExecuteTask({"run a command", "", "shell_task", 5, {}});
    });
  }

  TracingRig tracing_;
};

// Runs `handler` after fulfilling `started`: the test then knows the attempt is in flight.
TaskFunction SignalStart(std::shared_ptr<std::promise<void>> started, TaskFunction handler) {
  return [started, handler](const trace::Context& c, const Subtask& s) {
    started->set_value();
    return handler(c, s);
  };
}

TEST_F(CancellationTest, TimeoutReleasesAHandlerWaitingOnItsStopToken) {
  SimulatedClock clock;
  auto coordinator = Make(std::chrono::milliseconds(200), nullptr, &clock);
  auto released = std::make_shared<std::promise<Release>>();
  auto release = released->get_future();
  auto started = std::make_shared<std::promise<void>>();
  auto running = started->get_future();
  auto worker = coordinator->CreateWorker(Meta("waiter-1", "wait"),
                                          SignalStart(started, WaitForStop(released)));
  ASSERT_TRUE(worker.ok()) << worker.status().ToString();

  auto task = std::async(std::launch::async, [&] {
    return coordinator->ExecuteTask({"wait for stop", "", "wait", 5, {}});
  });
  ASSERT_EQ(running.wait_for(kGuard), std::future_status::ready) << "the subtask never started";
  // The 200 ms pass on the simulated clock, not in real time.
  clock.Advance(std::chrono::milliseconds(200));
  ASSERT_EQ(task.wait_for(kGuard), std::future_status::ready) << "the timeout did not end the task";
  TaskResult r = task.get();
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded) << r.status.ToString();

  ASSERT_EQ(release.wait_for(kGuard), std::future_status::ready)
      << "the handler was never released";
  Release got = release.get();
  EXPECT_TRUE(got.by_stop) << "the handler returned by itself, not because of the cancel";
  EXPECT_EQ(got.subtask_id, r.subtasks.at(0).subtask_id);
  EXPECT_EQ(got.attempt, 1);

  // Stop waits for the handler's reply, so its span has ended (and was exported) by then.
  ASSERT_TRUE(coordinator->Shutdown().ok());
  EXPECT_EQ((*worker)->cancelled(), 1u);
  ExpectCancelInTrace("waiter-1", "wait", "timeout after 200 ms");

  auto steps = coordinator->ledger().Steps(r.task_id);
  ASSERT_TRUE(steps.ok());
  std::vector<std::string> kinds;
  for (const auto& s : *steps) kinds.push_back(s.kind);
  auto timeout = std::find(kinds.begin(), kinds.end(), "timeout");
  auto cancel = std::find(kinds.begin(), kinds.end(), "cancel");
  ASSERT_NE(timeout, kinds.end());
  ASSERT_NE(cancel, kinds.end());
  EXPECT_LT(timeout, cancel);
  // The late error reply was dropped: the task's error is the timeout, not the cancellation.
  EXPECT_EQ(r.subtasks.at(0).status.code(), StatusCode::kDeadlineExceeded);
}

// A built-in worker (the coder) whose model never answers: the subtask timeout must reach the
// HTTP request in flight through ChatRequest::stop, not leave it waiting for the model.
TEST_F(CancellationTest, TimeoutAbortsABuiltinWorkersModelCall) {
  SilentServer server;
  auto accepted = server.accepted();
  llm::OpenAIProviderOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1";
  options.timeout = std::chrono::seconds(120);  // the cancel, not this, must end the call
  options.max_retries = 3;
  options.tracer = tracing_.tracer;
  auto provider = std::make_shared<llm::OpenAIProvider>(options);
  // Simulated: the subtask's 120 s pass when the test says. (The worker also hands the model
  // call a 120 s real-time limit, far beyond this test.)
  SimulatedClock clock;
  auto coordinator = Make(std::chrono::seconds(120), nullptr, &clock);
  auto worker = MakeBuiltinWorker(BuiltinKind::kCoder, provider, "coder-1",
                                  WorkerOptions{.tracer = tracing_.tracer});
  ASSERT_TRUE(coordinator->RegisterWorker(worker).ok());

  auto task = std::async(std::launch::async, [&] {
    return coordinator->ExecuteTask({"write code", "", "code_generation", 5, {}});
  });
  ASSERT_EQ(accepted.wait_for(kGuard), std::future_status::ready)
      << "the model call never reached the server";
  clock.Advance(std::chrono::seconds(120));
  ASSERT_EQ(task.wait_for(kGuard), std::future_status::ready);
  TaskResult r = task.get();
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded) << r.status.ToString();
  ASSERT_TRUE(coordinator->Shutdown().ok());  // waits for the handler: it must have returned
  server.Join();
  EXPECT_TRUE(server.client_closed()) << "the model request was not aborted";
  EXPECT_EQ(worker->cancelled(), 1u);
  const auto spans = tracing_.Spans();
  std::vector<const trace::SpanData*> llm_spans;
  for (const auto& span : spans)
    if (span.name.rfind("llm.", 0) == 0) llm_spans.push_back(&span);
  ASSERT_EQ(llm_spans.size(), 1u);
  EXPECT_EQ(llm_spans[0]->status, trace::SpanStatusCode::kError);
  EXPECT_EQ(minion::testing::Str(*llm_spans[0], "error.type"), "cancelled");
  ExpectCancelInTrace("coder-1", "code_generation", "timeout after 120000 ms");
}

// Nested retries do not multiply: with a model that never answers, a per-attempt HTTP timeout
// of 60 s and 2 HTTP retries under 3 orchestrator attempts (9 HTTP attempts, 9 minutes), the
// task fails within about subtask timeout x attempts, because every layer stops at the
// subtask's limit.
TEST_F(CancellationTest, HangingModelFailsWithinTheSubtaskTimeoutTimesAttempts) {
  minion::testing::TestHttpServer server([](const minion::testing::HttpRequest&) {
    minion::testing::HttpResponse hang;
    hang.hang = true;
    return hang;
  });
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  llm::OpenAIProviderOptions options;
  options.base_url = server.url("/v1");
  options.timeout = std::chrono::seconds(60);
  options.max_retries = 2;
  options.tracer = tracing_.tracer;
  auto provider = std::make_shared<llm::OpenAIProvider>(options);
  CoordinatorOptions o;
  o.tracer = tracing_.tracer;
  o.orchestrator.subtask_timeout = std::chrono::milliseconds(1000);
  o.orchestrator.retry.max_attempts = 3;
  o.orchestrator.retry.initial_backoff = std::chrono::milliseconds(10);
  o.orchestrator.replan_on_failure = false;
  auto created = BuildCoordinator(std::move(o), {.builtin_workers = false});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto coordinator = std::move(created).value();
  auto worker = MakeBuiltinWorker(BuiltinKind::kCoder, provider, "coder-1",
                                  WorkerOptions{.tracer = tracing_.tracer});
  ASSERT_TRUE(coordinator->RegisterWorker(worker).ok());

  const auto start = std::chrono::steady_clock::now();
  TaskResult r = coordinator->ExecuteTask({"write code", "", "code_generation", 5, {}});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded) << r.status.ToString();
  EXPECT_EQ(r.subtasks.at(0).attempts, 3);
  // 3 attempts x 1 s, plus generous room for a loaded CI machine; without the limits this is
  // minutes.
  EXPECT_LT(elapsed, std::chrono::seconds(20));
  ASSERT_TRUE(coordinator->Shutdown().ok());
  server.Stop();
  // Each attempt's model call carried the subtask's limit: no HTTP retry started inside it.
  EXPECT_LE(server.requests().size(), 3u);
}

TEST_F(CancellationTest, FailingSiblingCancelsTheSubtaskStillRunning) {
  Plan plan;
  plan.planner = "workflow";
  plan.subtasks.push_back(SubtaskSpec{"slow", "wait", {}, 5, "", {}});
  plan.subtasks.push_back(SubtaskSpec{"broken", "fail", {}, 5, "", {}});
  // The subtask timeout is far away: only the sibling's failure can stop "slow".
  auto coordinator = Make(std::chrono::seconds(120), std::make_shared<DeclarativePlanner>(plan));
  auto released = std::make_shared<std::promise<Release>>();
  auto release = released->get_future();
  auto started = std::make_shared<std::latch>(1);
  ASSERT_TRUE(
      coordinator->CreateWorker(Meta("waiter-1", "wait"), WaitForStop(released, started)).ok());
  ASSERT_TRUE(coordinator
                  ->CreateWorker(Meta("breaker-1", "fail"),
                                 [started](const trace::Context&, const Subtask&) -> Result<json> {
                                   started->wait();  // fail only once "slow" is running
                                   return InternalError("broken on purpose");
                                 })
                  .ok());

  TaskResult r = coordinator->ExecuteTask({"fan out", "", "workflow", 5, {}});
  EXPECT_EQ(r.status.code(), StatusCode::kInternal) << r.status.ToString();
  ASSERT_EQ(release.wait_for(kGuard), std::future_status::ready);
  EXPECT_TRUE(release.get().by_stop);
  ASSERT_EQ(r.subtasks.size(), 2u);
  EXPECT_EQ(r.subtasks[0].status.code(), StatusCode::kAborted) << r.subtasks[0].status.ToString();
  ASSERT_TRUE(coordinator->Shutdown().ok());
  ExpectCancelInTrace("waiter-1", "wait", "task failed");
}

TEST_F(CancellationTest, TimeoutKillsTheExternalCommandsChild) {
  PidFifo fifo;
  // Simulated: the 120 s pass only once the helper is running (the test reads its pid from the
  // FIFO first; a cancel that came first would, correctly, spawn nothing), however loaded the
  // machine. (The command's own limit, the same 120 s in real time, is far away.)
  SimulatedClock clock;
  auto coordinator = Make(std::chrono::seconds(120), nullptr, &clock);
  std::shared_ptr<Worker> worker;
  auto task = StartExternalTask(*coordinator, fifo, &worker);
  pid_t pid = fifo.ReadPid();
  ASSERT_GT(pid, 0) << "the helper never reported its pid";
  clock.Advance(std::chrono::seconds(120));
  ASSERT_EQ(task.wait_for(kGuard), std::future_status::ready);
  TaskResult r = task.get();
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded) << r.status.ToString();

  ASSERT_TRUE(coordinator->Shutdown().ok());  // waits for the worker to finish the subtask
  EXPECT_TRUE(ProcessGone(pid)) << "pid " << pid << " survived the cancel";
  EXPECT_EQ(worker->cancelled(), 1u);
  ExpectCancelInTrace("ext-1", "shell_task", "timeout after 120000 ms");
  const auto spans = tracing_.Spans();  // Named() points into it
  auto workers = minion::testing::Named(spans, "worker.shell_task");
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_NE(workers[0]->status_description.find("(pid " + std::to_string(pid) + ")"),
            std::string::npos)
      << workers[0]->status_description;
  EXPECT_NE(workers[0]->status_description.find("terminated by SIGTERM"), std::string::npos)
      << workers[0]->status_description;
}

TEST_F(CancellationTest, ShutdownCancelsARunningExternalCommand) {
  PidFifo fifo;
  auto coordinator = Make(std::chrono::seconds(120));
  auto task = StartExternalTask(*coordinator, fifo);
  pid_t pid = fifo.ReadPid();
  ASSERT_GT(pid, 0);
  // No grace: the running task is cancelled at once, which must reach the child.
  ASSERT_TRUE(coordinator->Shutdown(std::chrono::milliseconds(0)).ok());
  ASSERT_EQ(task.wait_for(kGuard), std::future_status::ready);
  TaskResult r = task.get();
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled) << r.status.ToString();
  EXPECT_TRUE(ProcessGone(pid));
  ExpectCancelInTrace("ext-1", "shell_task", "shutting down");
}

TEST(WorkerCancelTest, OnlyTheSenderCancelsAndAnEarlyCancelSkipsTheHandler) {
  TracingRig tracing;
  InMemoryProtocol protocol(InMemoryProtocolOptions{.tracer = tracing.tracer});
  std::atomic<int> runs{0};
  auto started = std::make_shared<std::latch>(1);
  auto released = std::make_shared<std::promise<Release>>();
  auto release = released->get_future();
  auto wait = WaitForStop(released, started);
  // One subtask at a time: the second task waits in the mailbox behind the first.
  Worker worker(WorkerMetadata{"w", "test", {"wait"}, "", 5, WorkerStatus::kOffline},
                MakeFunctionHandler([&](const trace::Context& c, const Subtask& s) -> Result<json> {
                  if (runs++ > 0) return json{{"ran", "but should not have"}};
                  return wait(c, s);
                }),
                WorkerOptions{.tracer = tracing.tracer, .max_concurrency = 1});
  ASSERT_TRUE(worker.Start(protocol).ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Message> replies;
  ASSERT_TRUE(protocol
                  .Subscribe("boss", {},
                             [&](const trace::Context&, Message m) {
                               std::lock_guard lock(mu);
                               replies.push_back(std::move(m));
                               cv.notify_all();
                             })
                  .ok());
  ASSERT_TRUE(protocol.Subscribe("intruder", {}, [](const trace::Context&, Message) {}).ok());

  auto send_task = [&](const std::string& id, const std::string& subtask_id) {
    Subtask st;
    st.task_id = "t";
    st.subtask_id = subtask_id;
    st.capability = "wait";
    Message m;
    m.id = id;
    m.type = MessageType::kTask;
    m.from = "boss";
    m.to = "w";
    m.content = SubtaskToJson(st);
    return protocol.Send({}, std::move(m));
  };
  auto send_cancel = [&](const std::string& from, const std::string& id,
                         const std::string& reason) {
    Message m;
    m.type = MessageType::kEvent;
    m.from = from;
    m.to = WorkerControlId("w");
    m.content = CancelRequestToJson(CancelRequest{id, "t", "", 1, reason});
    return protocol.Send({}, std::move(m));
  };

  ASSERT_TRUE(send_task("msg-running", "first").ok());
  started->wait();
  ASSERT_TRUE(send_task("msg-early", "second").ok());  // queued: the only slot is busy
  // The control mailbox handles one message at a time in send order, so by the time the
  // third cancel frees "first" (and with it the slot "second" waits for), the first two were
  // handled: the intruder's ignored, the early one remembered.
  ASSERT_TRUE(send_cancel("intruder", "msg-running", "from the intruder").ok());
  ASSERT_TRUE(send_cancel("boss", "msg-early", "early").ok());
  ASSERT_TRUE(send_cancel("boss", "msg-running", "from the boss").ok());

  ASSERT_EQ(release.wait_for(kGuard), std::future_status::ready);
  EXPECT_TRUE(release.get().by_stop);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kGuard, [&] { return replies.size() >= 2; }));
  }
  ASSERT_TRUE(worker.Stop().ok());
  ASSERT_EQ(replies.size(), 2u);
  for (const auto& m : replies) {
    EXPECT_EQ(m.type, MessageType::kError) << m.content.dump();
    EXPECT_EQ(m.content.value("code", ""), "CANCELLED") << m.content.dump();
  }
  EXPECT_EQ(replies[1].in_reply_to, "msg-early");
  EXPECT_NE(replies[1].content.value("error", "").find("cancelled before it started"),
            std::string::npos)
      << replies[1].content.dump();
  EXPECT_EQ(runs.load(), 1);  // the early-cancelled subtask never reached the handler
  EXPECT_EQ(worker.cancelled(), 2u);

  auto spans = tracing.Spans();
  auto workers = minion::testing::Named(spans, "worker.wait");
  ASSERT_EQ(workers.size(), 2u);
  for (const auto* w : workers) {
    EXPECT_EQ(w->status, trace::SpanStatusCode::kError);
    std::string reason;
    for (const auto& e : w->events) {
      if (e.name != "cancelled") continue;
      for (const auto& kv : e.attributes) {
        if (kv.key == "multiagent.cancel.reason") reason = trace::AttributeValueToString(kv.value);
      }
    }
    EXPECT_TRUE(reason == "from the boss" || reason == "early") << reason;
  }
  ASSERT_TRUE(protocol.Shutdown().ok());
}

}  // namespace
}  // namespace minion::agents
