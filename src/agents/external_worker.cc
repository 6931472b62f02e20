#include "minion/agents/external_worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  Result<nlohmann::json> HandleTask(const trace::Context& context, const Subtask& subtask) override {
    return RunExternalCommand(context, options_, SubtaskToJson(subtask));
  }

 private:
  ExternalCommandOptions options_;
};

}  // namespace

Result<nlohmann::json> RunExternalCommand(const trace::Context& context, const ExternalCommandOptions& options,
                                          const nlohmann::json& input) {
  if (options.argv.empty() || options.argv[0].empty()) return InvalidArgumentError("external command is empty");
  const std::string& program = options.argv[0];

  // The child's environment: ours, then options.env, then the trace context (which wins).
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env[std::string(*e, static_cast<std::size_t>(eq - *e))] = eq + 1;
  }
  for (const auto& [k, v] : options.env) env[k] = v;
  std::map<std::string, std::string> injected;
  propagation::EnvironmentCarrier carrier(&injected);
  const auto& propagator = options.propagator ? *options.propagator : propagation::DefaultPropagator();
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

  Pipe in, out, err;
  if (!OpenPipe(in) || !OpenPipe(out) || !OpenPipe(err)) {
    return UnavailableError(std::string("cannot create pipes: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return UnavailableError("cannot start '" + program + "': " + std::strerror(rc));
  in.Close(0);
  out.Close(1);
  err.Close(1);

  // Feed stdin and drain stdout/stderr together so a chatty child never blocks on a full pipe.
  const std::string payload = input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::size_t written = 0;
  std::string stdout_data, stderr_data;
  bool overflow = false, timed_out = false;
  ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  if (payload.empty()) in.Close(1);
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out.fd[0] >= 0) { out_i = n; fds[n++] = {out.fd[0], POLLIN, 0}; }
    if (err.fd[0] >= 0) { err_i = n; fds[n++] = {err.fd[0], POLLIN, 0}; }
    if (in.fd[1] >= 0) { in_i = n; fds[n++] = {in.fd[1], POLLOUT, 0}; }
    int ready = ::poll(fds, n, static_cast<int>(std::min<std::int64_t>(left.count() + 1, 1 << 30)));
    if (ready < 0) {
      if (errno == EINTR) continue;
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
  if (timed_out || overflow) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
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
                         std::to_string(WTERMSIG(wstatus)) + "; stderr: " + Tail(stderr_data, 2000));
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return InternalError("external command '" + program + "' exited with status " +
                         std::to_string(WEXITSTATUS(wstatus)) + "; stderr: " + Tail(stderr_data, 2000));
  }
  auto result = nlohmann::json::parse(stdout_data, nullptr, false);
  if (result.is_discarded()) {
    return InvalidArgumentError("external command '" + program + "' wrote invalid JSON on stdout: " +
                                Tail(stdout_data, 200));
  }
  return result;
}

std::unique_ptr<TaskHandler> MakeExternalCommandHandler(ExternalCommandOptions options) {
  return std::make_unique<ExternalCommandHandler>(std::move(options));
}

}  // namespace minion::agents
