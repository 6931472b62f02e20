#pragma once
// Test exporters with real behaviour the tests control: counting, and gated (Export blocks
// until the test opens the gate), so queue-full and timeout paths are reached without sleeps.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "minion/sdk/span_exporter.h"
#include "support/gate.h"

namespace minion::testing {

class CountingExporter : public sdk::SpanExporter {
 public:
  struct Counters {
    std::atomic<std::uint64_t> spans{0};
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::size_t> largest_batch{0};
    std::atomic<bool> shut_down{false};
  };
  explicit CountingExporter(std::shared_ptr<Counters> counters) : counters_(std::move(counters)) {}
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds) noexcept override {
    counters_->spans += spans.size();
    counters_->batches += 1;
    std::size_t prev = counters_->largest_batch.load();
    while (spans.size() > prev &&
           !counters_->largest_batch.compare_exchange_weak(prev, spans.size())) {
    }
    return sdk::ExportResult::kSuccess;
  }
  Status Shutdown(std::chrono::milliseconds) noexcept override {
    counters_->shut_down = true;
    return Status::Ok();
  }
  std::string Name() const override { return "counting"; }

 private:
  std::shared_ptr<Counters> counters_;
};

// Blocks every Export until Open() (or Shutdown) is called.
class GatedExporter : public CountingExporter {
 public:
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    int waiting = 0;
    void Open() {
      std::lock_guard<std::mutex> l(mu);
      open = true;
      cv.notify_all();
    }
    // Waits until an Export call is blocked on the gate; fails the test (instead of hanging)
    // when none is within kWaitTimeout.
    void AwaitBlockedExport() {
      std::unique_lock<std::mutex> l(mu);
      if (!cv.wait_for(l, kWaitTimeout, [&] { return waiting > 0; })) {
        ADD_FAILURE() << "no Export call blocked on the gate within " << kWaitTimeout.count()
                      << " ms";
      }
    }
  };
  GatedExporter(std::shared_ptr<Counters> c, std::shared_ptr<Gate> gate)
      : CountingExporter(std::move(c)), gate_(std::move(gate)) {}
  sdk::ExportResult Export(std::span<const trace::SpanDataPtr> spans,
                           std::chrono::milliseconds t) noexcept override {
    {
      std::unique_lock<std::mutex> l(gate_->mu);
      ++gate_->waiting;
      gate_->cv.notify_all();
      gate_->cv.wait(l, [&] { return gate_->open; });
      --gate_->waiting;
    }
    return CountingExporter::Export(spans, t);
  }
  Status Shutdown(std::chrono::milliseconds t) noexcept override {
    gate_->Open();  // a stuck export is released by shutdown, as a network exporter cancels
    return CountingExporter::Shutdown(t);
  }

 private:
  std::shared_ptr<Gate> gate_;
};

}  // namespace minion::testing
