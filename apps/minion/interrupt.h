#pragma once
// Turns SIGINT, SIGTERM and SIGHUP into an orderly stop for `minion run`. The constructor
// blocks the three signals in the calling thread (so in every thread started after it: create
// it first in main's thread) and starts one thread that waits for them with sigwait(), so the
// reaction runs as ordinary code, not in a signal handler. The first signal calls `on_first`
// on that thread (cancel the task; the caller then prints what it has and flushes spans); a
// second signal ends the process at once with 128 + signo. The destructor stops and joins the
// thread. Not copyable; one per process.

#include <atomic>
#include <functional>
#include <thread>

namespace minion::cli {

class InterruptWatcher {
 public:
  explicit InterruptWatcher(std::function<void(int signo)> on_first);
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  // The first signal received, or 0.
  int signal() const { return signal_.load(std::memory_order_acquire); }

 private:
  void Loop();

  std::function<void(int)> on_first_;
  std::atomic<int> signal_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// "SIGINT", "SIGTERM", "SIGHUP" or "signal N".
const char* SignalName(int signo);

}  // namespace minion::cli
