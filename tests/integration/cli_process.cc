#include "integration/cli_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace minion::testing {

CliProcess::CliProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
                       std::optional<std::string> stdout_path) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (stdout_path) {
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path->c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  } else {
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  }
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  // The child starts with default signal dispositions and an empty mask whatever the test
  // runner has (gtest may block nothing, but a CI shell could ignore SIGINT for background jobs).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  if (const char* path = std::getenv("PATH"); path && !env.count("PATH")) env["PATH"] = path;
  if (const char* home = std::getenv("HOME"); home && !env.count("HOME")) env["HOME"] = home;
  // The sanitizers' settings belong to the harness, not to the environment under test: without
  // them a sanitized child would run without the suppressions for Debian's uninstrumented
  // grpc/abseil (scripts/tsan.supp) and fail on races inside those libraries.
  for (const char* name : {"TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name); value && !env.count(name)) env[name] = value;
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw std::runtime_error("posix_spawn " + argv[0] + " failed: " + std::to_string(rc));
  }
  readers_open_ = 2;
  out_reader_ = std::thread([this, fd = out_pipe[0]] { Read(fd, &out_); });
  err_reader_ = std::thread([this, fd = err_pipe[0]] { Read(fd, &err_); });
}

CliProcess::~CliProcess() {
  if (!reaped_) (void)Wait(std::chrono::milliseconds(0));
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
}

void CliProcess::Read(int fd, std::string* sink) {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(mu_);
    sink->append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  close(fd);
  std::lock_guard lock(mu_);
  --readers_open_;
  cv_.notify_all();
}

void CliProcess::Signal(int signo) {
  if (!reaped_) kill(pid_, signo);
}

bool CliProcess::WaitFor(const std::string* sink, const std::string& needle,
                         std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return sink->find(needle) != std::string::npos || readers_open_ == 0;
  }) && sink->find(needle) != std::string::npos;
}

bool CliProcess::WaitForErr(const std::string& needle, std::chrono::milliseconds timeout) {
  return WaitFor(&err_, needle, timeout);
}
bool CliProcess::WaitForOut(const std::string& needle, std::chrono::milliseconds timeout) {
  return WaitFor(&out_, needle, timeout);
}

CliOutcome CliProcess::Wait(std::chrono::milliseconds timeout) {
  CliOutcome outcome;
  if (!reaped_) {
    // The pipes close when the child (and anything it left holding them) exits.
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait_for(lock, timeout, [&] { return readers_open_ == 0; })) kill(pid_, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
    exit_code_ = outcome.exit_code;
    term_signal_ = outcome.term_signal;
  } else {
    outcome.exit_code = exit_code_;
    outcome.term_signal = term_signal_;
  }
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
  std::lock_guard lock(mu_);
  outcome.out = out_;
  outcome.err = err_;
  return outcome;
}

CliOutcome RunCli(std::vector<std::string> argv, std::map<std::string, std::string> env,
                  std::optional<std::string> stdout_path) {
  CliProcess p(std::move(argv), std::move(env), std::move(stdout_path));
  return p.Wait();
}

}  // namespace minion::testing
