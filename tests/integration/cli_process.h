#pragma once
// A real `minion` child process for CLI tests: spawned with exactly the given environment,
// stdout and stderr captured by reader threads (or stdout sent to a file such as /dev/full),
// so tests can wait for a line to appear, send real signals and read the exit status.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace minion::testing {

struct CliOutcome {
  int exit_code = -1;   // WEXITSTATUS, or -1 when killed by a signal
  int term_signal = 0;  // the signal that killed it, else 0
  std::string out;
  std::string err;
};

class CliProcess {
 public:
  // argv[0] is the program; `env` is the whole environment (PATH and HOME are added).
  // `stdout_path`, when set, receives stdout instead of the pipe.
  CliProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
             std::optional<std::string> stdout_path = std::nullopt);
  ~CliProcess();  // kills (SIGKILL) and reaps the child if still running
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signo` to the child.
  void Signal(int signo);
  // Waits until stderr (or stdout) contains `needle`; false after `timeout`.
  bool WaitForErr(const std::string& needle, std::chrono::milliseconds timeout);
  bool WaitForOut(const std::string& needle, std::chrono::milliseconds timeout);
  // Waits for the child to exit (SIGKILL after `timeout`, reported in the outcome).
  CliOutcome Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  void Read(int fd, std::string* sink);
  bool WaitFor(const std::string* sink, const std::string& needle,
               std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  std::thread out_reader_, err_reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_, err_;  // guarded by mu_
  int readers_open_ = 0;   // guarded by mu_
};

// Spawns, waits, returns everything.
CliOutcome RunCli(std::vector<std::string> argv, std::map<std::string, std::string> env,
                  std::optional<std::string> stdout_path = std::nullopt);

}  // namespace minion::testing
