#pragma once
// Runs tests/interop/node/otlp_receiver.js as a real child process and reads its JSON lines.
// Fails the test loudly (never skips) when node or the pinned npm packages are missing.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace minion::exporters::testing {

class NodeReceiver {
 public:
  // Starts the receiver with `args` and waits for its {"port":P} line.
  explicit NodeReceiver(std::vector<std::string> args = {}) {
    const char* src = std::getenv("MINION_SOURCE_DIR");
    if (src == nullptr) {
      ADD_FAILURE() << "MINION_SOURCE_DIR is not set (run through ctest)";
      return;
    }
    const std::string script = std::string(src) + "/tests/interop/node/otlp_receiver.js";
    std::vector<std::string> argv_s = {"node", script};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2 failed";
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    const int rc = posix_spawnp(&pid_, "node", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      ADD_FAILURE() << "cannot start `node` (is Node.js installed and on PATH?): " << strerror(rc);
      return;
    }
    fd_ = out[0];
    reader_ = std::thread([this] { ReadLoop(); });
    auto first = NextLine(std::chrono::seconds(30));
    if (!first) {
      ADD_FAILURE() << "otlp_receiver.js printed no port line (see its stderr above; are the npm "
                       "packages installed in tests/interop/node?)";
      return;
    }
    auto j = nlohmann::json::parse(*first, nullptr, false);
    if (!j.is_object() || !j.contains("port")) {
      ADD_FAILURE() << "unexpected first line from otlp_receiver.js: " << *first;
      return;
    }
    port_ = j["port"].get<int>();
  }

  ~NodeReceiver() {
    Kill(SIGTERM);
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) close(fd_);
  }

  int port() const { return port_; }
  std::string Endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces";
  }

  // Stops the process (SIGKILL simulates a crash) and reaps it.
  void Kill(int sig = SIGKILL) {
    if (pid_ > 0) {
      kill(pid_, sig);
      int status;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  // The next stdout line, waiting up to `timeout` (a bound for a broken test, not a timing check).
  std::optional<std::string> NextLine(
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !lines_.empty() || eof_; });
    if (lines_.empty()) return std::nullopt;
    std::string line = std::move(lines_.front());
    lines_.pop_front();
    return line;
  }

  std::optional<nlohmann::json> NextJson(
      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto line = NextLine(timeout);
    if (!line) return std::nullopt;
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "receiver printed a line that is not JSON: " << *line;
      return std::nullopt;
    }
    return j;
  }

  // Lines printed so far and not yet consumed (without waiting).
  std::size_t Pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_.size();
  }

 private:
  void ReadLoop() {
    std::string buf;
    char chunk[65536];
    for (;;) {
      const ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::lock_guard<std::mutex> lock(mu_);
        lines_.push_back(buf.substr(0, nl));
        buf.erase(0, nl + 1);
        cv_.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
    cv_.notify_all();
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  bool eof_ = false;
};

}  // namespace minion::exporters::testing
