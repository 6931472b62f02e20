#include "minion/agents/external_worker.h"
#include "minion/common/json.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "minion/propagation/carriers.h"
#include "minion/propagation/from_env.h"

extern char** environ;

namespace minion::agents {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() { CloseBoth(); }
  void CloseBoth() {
    for (int& f : fd) {
      if (f >= 0) ::close(f);
      f = -1;
    }
  }
  void Close(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

bool OpenPipe(Pipe& p) { return ::pipe2(p.fd, O_CLOEXEC) == 0; }

std::string Tail(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

class ExternalCommandHandler final : public TaskHandler {
 public:
  explicit ExternalCommandHandler(ExternalCommandOptions options) : options_(std::move(options)) {}
  Result<nlohmann::json> HandleTask(const trace::Context& context,
                                    const Subtask& subtask) override {
    if (subtask.timeout.count() > 0 && subtask.timeout < options_.timeout) {
      // The orchestrator gives up on this attempt sooner than our own limit: so do we.
      ExternalCommandOptions bounded = options_;
      bounded.timeout = subtask.timeout;
      return RunExternalCommand(context, bounded, SubtaskToJson(subtask), subtask.stop_token);
    }
    return RunExternalCommand(context, options_, SubtaskToJson(subtask), subtask.stop_token);
  }

 private:
  ExternalCommandOptions options_;
};

std::string SignalName(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGKILL:
      return "SIGKILL";
    case SIGINT:
      return "SIGINT";
    case SIGALRM:
      return "SIGALRM";
    default:
      return "signal " + std::to_string(sig);
  }
}

std::string DescribeExit(int wstatus) {
  if (WIFSIGNALED(wstatus)) {
    return "terminated by " + SignalName(WTERMSIG(wstatus)) + " (signal " +
           std::to_string(WTERMSIG(wstatus)) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(wstatus));
}

// Waits up to `limit` for `pid` to exit and reaps it; true when it did. A pidfd lets poll()
// wait without a busy loop; kernels without one fall back to polling waitpid every 5 ms.
bool WaitForExit(pid_t pid, std::chrono::milliseconds limit, int* wstatus) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    pid_t r = ::waitpid(pid, wstatus, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      if (pidfd >= 0) ::close(pidfd);
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (pidfd >= 0) ::close(pidfd);
      return false;
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      (void)::poll(&p, 1, static_cast<int>(left.count()) + 1);
    } else {
      std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(5)));
    }
  }
}

}  // namespace

Result<nlohmann::json> RunExternalCommand(const trace::Context& context,
                                          const ExternalCommandOptions& options,
                                          const nlohmann::json& input, std::stop_token stop) {
  if (options.argv.empty() || options.argv[0].empty())
    return InvalidArgumentError("external command is empty");
  const std::string& program = options.argv[0];
  if (stop.stop_requested()) {
    return CancelledError("external command '" + program +
                          "' was not started: the subtask was cancelled");
  }

  // The child's environment: ours, then options.env, then the trace context (which wins).
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env[std::string(*e, static_cast<std::size_t>(eq - *e))] = eq + 1;
  }
  for (const auto& [k, v] : options.env) env[k] = v;
  std::map<std::string, std::string> injected;
  propagation::EnvironmentCarrier carrier(&injected);
  const auto& propagator =
      options.propagator ? *options.propagator : propagation::DefaultPropagator();
  for (const char* key : {"TRACEPARENT", "TRACESTATE", "BAGGAGE"}) env.erase(key);
  propagator.Inject(context, carrier);
  for (auto& [k, v] : injected) env[k] = v;
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  Pipe in, out, err, wake;
  if (!OpenPipe(in) || !OpenPipe(out) || !OpenPipe(err) || !OpenPipe(wake)) {
    return UnavailableError(std::string("cannot create pipes: ") + std::strerror(errno));
  }
  ::fcntl(wake.fd[1], F_SETFL, O_NONBLOCK);
  // A stop request writes a byte to `wake`, which the poll loop below watches: the child is
  // stopped as soon as the cancel arrives, not at the next timeout. (Runs at once, on this
  // thread, when stop was requested in between.)
  auto on_stop = [fd = wake.fd[1]] {
    char c = 1;
    (void)!::write(fd, &c, 1);
  };
  std::optional<std::stop_callback<decltype(on_stop)>> stop_guard;
  if (stop.stop_possible()) stop_guard.emplace(stop, on_stop);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  // The child starts with no signal blocked: a host such as `minion run` blocks SIGINT/SIGTERM/
  // SIGHUP in its threads (a sigwait thread handles them), and a child inheriting that mask
  // would not stop on the SIGTERM that cancellation sends.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  short spawn_flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.own_process_group) {
    posix_spawnattr_setpgroup(&attr, 0);
    spawn_flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&attr, spawn_flags);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return UnavailableError("cannot start '" + program + "': " + std::strerror(rc));
  in.Close(0);
  out.Close(1);
  err.Close(1);
  // The group leader is not reaped before these signals, so its group id cannot be reused.
  auto signal_child = [&](int sig) { ::kill(options.own_process_group ? -pid : pid, sig); };

  // Feed stdin and drain stdout/stderr together so a chatty child never blocks on a full pipe.
  const std::string payload = input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::size_t written = 0;
  std::string stdout_data, stderr_data;
  bool overflow = false, timed_out = false, cancelled = false;
  ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  if (payload.empty()) in.Close(1);
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[4];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    const int wake_i = n;
    fds[n++] = {wake.fd[0], POLLIN, 0};
    if (out.fd[0] >= 0) {
      out_i = n;
      fds[n++] = {out.fd[0], POLLIN, 0};
    }
    if (err.fd[0] >= 0) {
      err_i = n;
      fds[n++] = {err.fd[0], POLLIN, 0};
    }
    if (in.fd[1] >= 0) {
      in_i = n;
      fds[n++] = {in.fd[1], POLLOUT, 0};
    }
    int ready = ::poll(fds, n, static_cast<int>(std::min<std::int64_t>(left.count() + 1, 1 << 30)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[wake_i].revents & POLLIN) {
      cancelled = true;
      break;
    }
    char buf[65536];
    auto drain = [&](int idx, Pipe& p, std::string& sink) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t r = ::read(p.fd[0], buf, sizeof buf);
      if (r > 0) {
        sink.append(buf, static_cast<std::size_t>(r));
        if (sink.size() > options.max_output_bytes) overflow = true;
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        p.Close(0);
      }
    };
    drain(out_i, out, stdout_data);
    drain(err_i, err, stderr_data);
    if (stderr_data.size() > 65536) stderr_data.erase(0, stderr_data.size() - 65536);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in.fd[1], payload.data() + written, payload.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) in.Close(1);  // child closed stdin early
      if (written == payload.size()) in.Close(1);
    }
    if (overflow) break;
  }
  in.Close(1);
  bool reaped = false;
  int wstatus = 0;
  // A child that closed stdout and stderr but has not exited is still waited for under the
  // timeout and the stop token (checked every 50 ms: this is the rare case).
  while (!cancelled && !timed_out && !overflow && !reaped) {
    reaped = WaitForExit(pid, std::chrono::milliseconds(50), &wstatus);
    if (reaped) break;
    if (stop.stop_requested()) cancelled = true;
    if (std::chrono::steady_clock::now() >= deadline) timed_out = true;
  }
  stop_guard.reset();  // after this no callback can touch `wake`
  if (cancelled) {
    // Ask first, so the child can clean up (its own children, temporary files); insist after
    // the grace period.
    signal_child(SIGTERM);
    std::string how = "SIGTERM";
    if (!WaitForExit(pid, options.cancel_grace, &wstatus)) {
      signal_child(SIGKILL);
      how += ", then SIGKILL after " + std::to_string(options.cancel_grace.count()) + " ms";
      while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
      }
    }
    return CancelledError("external command '" + program + "' (pid " + std::to_string(pid) +
                          ") was cancelled: sent " + how + "; it " + DescribeExit(wstatus));
  }
  if (timed_out || overflow) signal_child(SIGKILL);
  while (!reaped && ::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return DeadlineExceededError("external command '" + program + "' was killed after " +
                                 std::to_string(options.timeout.count()) + " ms");
  }
  if (overflow) {
    return ResourceExhaustedError("external command '" + program + "' wrote more than " +
                                  std::to_string(options.max_output_bytes) + " bytes");
  }
  if (WIFSIGNALED(wstatus)) {
    return InternalError("external command '" + program + "' was killed by signal " +
                         std::to_string(WTERMSIG(wstatus)) +
                         "; stderr: " + Tail(stderr_data, 2000));
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return InternalError("external command '" + program + "' exited with status " +
                         std::to_string(WEXITSTATUS(wstatus)) +
                         "; stderr: " + Tail(stderr_data, 2000));
  }
  if (options.raw_stdout) return nlohmann::json(std::move(stdout_data));
  auto result = ParseJson(stdout_data, "stdout");
  if (!result.ok()) {
    return InvalidArgumentError("external command '" + program +
                                "' wrote invalid JSON on stdout (" + result.status().message() +
                                "): " + Tail(stdout_data, 200));
  }
  return std::move(result).value();
}

std::unique_ptr<TaskHandler> MakeExternalCommandHandler(ExternalCommandOptions options) {
  return std::make_unique<ExternalCommandHandler>(std::move(options));
}

}  // namespace minion::agents
