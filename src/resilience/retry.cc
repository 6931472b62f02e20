#include "minion/resilience/retry.h"

#include <algorithm>

namespace minion::resilience {
namespace {

bool DefaultRetryable(const Status& s) {
  switch (s.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kResourceExhausted:
    case StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

}  // namespace

RetryBudget::RetryBudget(double ratio, double max_tokens)
    : ratio_(std::max(0.0, ratio)), max_tokens_(std::max(0.0, max_tokens)), tokens_(max_tokens_) {}

void RetryBudget::Deposit() {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ = std::min(max_tokens_, tokens_ + ratio_);
}

bool RetryBudget::TryWithdraw() {
  std::lock_guard<std::mutex> lock(mu_);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

double RetryBudget::tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_;
}

Retrier::Retrier(std::string name, RetryOptions options, Clock* clock)
    : name_(std::move(name)),
      options_(std::move(options)),
      clock_(clock != nullptr ? *clock : SystemClock()),
      tokens_(std::max(0.0, options_.budget_max_tokens)) {
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (!options_.retryable) options_.retryable = DefaultRetryable;
}

void Retrier::Deposit() {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ = std::min(options_.budget_max_tokens, tokens_ + std::max(0.0, options_.budget_ratio));
}

double Retrier::budget_tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_;
}

std::string_view Retrier::Decide(int attempt, const Status& failure, const Deadline& deadline,
                                 std::chrono::nanoseconds& delay) {
  if (!options_.retryable(failure)) return "not_retryable";
  if (attempt >= options_.max_attempts) return "exhausted";
  delay = options_.backoff.Delay(attempt, options_.random);
  if (!deadline.is_never() && deadline.Remaining(clock_) <= delay) return "deadline";
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return "cancelled";
  if (tokens_ < 1) return "budget_exhausted";
  tokens_ -= 1;
  return "retried";
}

bool Retrier::Wait(std::chrono::nanoseconds d) {
  if (options_.sleep) return options_.sleep(d);
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return cancelled_; });
}

void Retrier::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

}  // namespace minion::resilience
