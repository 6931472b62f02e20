#pragma once
// Starts a real program as a child process for a test, reads lines from its stdout, and stops
// it with a signal (SIGKILL after a grace) in the destructor. stderr goes to a file.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace minion::testing {

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
               const std::string& stderr_path) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err >= 0) ::dup2(err, 2);
      ::close(out[0]);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_fd_ = out[0];
  }
  ~ChildProcess() {
    Stop(SIGTERM);
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  pid_t pid() const { return pid_; }

  // The next stdout line, or "" when none came within `timeout` or the child closed stdout.
  std::string ReadLine(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[512];
      ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) return "";
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Sends `sig`, waits up to `grace` for the exit, then SIGKILL. Returns the wait status.
  int Stop(int sig, std::chrono::seconds grace = std::chrono::seconds(30)) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        break;
      }
      // Waiting for another process to exit: there is no thread of ours to join.
      ::poll(nullptr, 0, 20);
    }
    pid_ = -1;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int status_ = 0;
  std::string buffer_;
};

}  // namespace minion::testing
