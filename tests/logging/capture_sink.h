#pragma once
// A LineSink that keeps every line, optionally holding the writer thread at a gate so a test
// can fill the queue deterministically.
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "minion/logging/logging.h"

namespace minion::logging::testing {

class CaptureSink final : public LineSink {
 public:
  void Write(std::string_view line) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    lines_.emplace_back(line);
  }
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Waits (bounded) until the writer thread has entered Write `n` times.
  bool WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return entered_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int entered_ = 0;
  std::vector<std::string> lines_;
};

}  // namespace minion::logging::testing
