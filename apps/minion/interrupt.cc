#include "interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace minion::cli {
namespace {

sigset_t Watched() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

void WriteStderr(const std::string& s) {
  // write(2) directly: the main thread may hold the iostream locks while it prints.
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

const char* SignalName(int signo) {
  switch (signo) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

InterruptWatcher::InterruptWatcher(std::function<void(int)> on_first)
    : on_first_(std::move(on_first)) {
  const sigset_t set = Watched();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

InterruptWatcher::~InterruptWatcher() {
  stopping_.store(true, std::memory_order_release);
  // Wake the sigwait() with a signal aimed at that thread only; `stopping_` tells it apart.
  pthread_kill(thread_.native_handle(), SIGHUP);
  thread_.join();
}

void InterruptWatcher::Loop() {
  const sigset_t set = Watched();
  int received = 0;
  for (;;) {
    int signo = 0;
    if (sigwait(&set, &signo) != 0) continue;
    if (stopping_.load(std::memory_order_acquire)) return;
    if (++received == 1) {
      signal_.store(signo, std::memory_order_release);
      WriteStderr(
          std::string("minion: ") + SignalName(signo) +
          " received: cancelling the task and flushing spans (send it again to exit at once)\n");
      if (on_first_) on_first_(signo);
    } else {
      WriteStderr(std::string("minion: ") + SignalName(signo) + " received again: exiting now\n");
      ::_exit(128 + signo);
    }
  }
}

}  // namespace minion::cli
