#include "minion/metrics/recorder.h"

#include <atomic>
#include <mutex>
#include <vector>

namespace minion::metrics {
namespace {

Recorder& NullRecorder() {
  static Recorder* null = new Recorder();  // never destroyed: usable from static destructors
  return *null;
}

std::atomic<Recorder*> g_recorder{nullptr};
std::mutex g_mu;
// Every recorder ever installed, so a reference handed out earlier never dangles.
std::vector<std::shared_ptr<Recorder>>& Installed() {
  static auto* installed = new std::vector<std::shared_ptr<Recorder>>();
  return *installed;
}

}  // namespace

Recorder& GlobalRecorder() noexcept {
  // Acquire pairs with the release in SetGlobalRecorder: the recorder is fully built.
  Recorder* r = g_recorder.load(std::memory_order_acquire);
  return r != nullptr ? *r : NullRecorder();
}

void SetGlobalRecorder(std::shared_ptr<Recorder> recorder) {
  std::lock_guard<std::mutex> lock(g_mu);
  Recorder* raw = recorder.get();
  if (recorder) Installed().push_back(std::move(recorder));
  g_recorder.store(raw, std::memory_order_release);
}

std::string_view ErrorType(int status_code) noexcept {
  static constexpr std::string_view kNames[] = {"ok",
                                                "cancelled",
                                                "unknown",
                                                "invalid_argument",
                                                "deadline_exceeded",
                                                "not_found",
                                                "already_exists",
                                                "permission_denied",
                                                "resource_exhausted",
                                                "failed_precondition",
                                                "aborted",
                                                "out_of_range",
                                                "unimplemented",
                                                "internal",
                                                "unavailable",
                                                "data_loss",
                                                "unauthenticated"};
  if (status_code < 0 || status_code >= static_cast<int>(std::size(kNames))) return "unknown";
  return kNames[status_code];
}

}  // namespace minion::metrics
