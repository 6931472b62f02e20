#include "minion/agents/protocol.h"

#include <mutex>
#include "minion/metrics/recorder.h"

#include "minion/propagation/carriers.h"
#include "minion/propagation/from_env.h"

namespace minion::agents {
namespace {

const trace::TextMapPropagator& Resolve(const trace::TextMapPropagator* propagator) {
  return propagator ? *propagator : propagation::DefaultPropagator();
}

}  // namespace

void AccessPolicy::Allow(std::string_view from, std::string_view to) {
  std::unique_lock lock(mu_);
  allow_.emplace(std::string(from), std::string(to));
  restricted_recipients_.emplace(to);
}

void AccessPolicy::Deny(std::string_view from, std::string_view to) {
  std::unique_lock lock(mu_);
  deny_.emplace(std::string(from), std::string(to));
}

void AccessPolicy::Clear() {
  std::unique_lock lock(mu_);
  allow_.clear();
  deny_.clear();
  restricted_recipients_.clear();
}

Status AccessPolicy::Check(std::string_view from, std::string_view to) const {
  std::shared_lock lock(mu_);
  if (deny_.empty() && restricted_recipients_.empty()) return Status::Ok();
  auto matches = [&](const auto& rules) {
    for (std::string_view f : {from, std::string_view("*")}) {
      for (std::string_view t : {to, std::string_view("*")}) {
        if (rules.count(std::pair<std::string, std::string>(f, t))) return true;
      }
    }
    return false;
  };
  if (matches(deny_)) {
    return Status(
        StatusCode::kPermissionDenied,
        "agent '" + std::string(from) + "' is denied sending to '" + std::string(to) + "'");
  }
  bool restricted = restricted_recipients_.count(to) || restricted_recipients_.count("*");
  if (restricted && !matches(allow_)) {
    return Status(
        StatusCode::kPermissionDenied,
        "agent '" + std::string(from) + "' is not on the allow list of '" + std::string(to) + "'");
  }
  return Status::Ok();
}

observability::StartedSpan StartSendSpan(trace::Tracer& tracer, const trace::Context& parent,
                                         Message* message,
                                         const trace::TextMapPropagator* propagator) {
  auto started = observability::StartProtocolSpan(tracer, parent, "send",
                                                  MessageTypeName(message->type), message->id);
  metrics::GlobalRecorder().Message(MessageTypeName(message->type), "sent");
  propagation::MapCarrier carrier(message->headers);
  Resolve(propagator).Inject(started.context, carrier);
  return started;
}

trace::Context ExtractMessageContext(const Message& message,
                                     const trace::TextMapPropagator* propagator) {
  // Every transport extracts the context once per delivered message: the place to count it.
  metrics::Recorder& recorder = metrics::GlobalRecorder();
  recorder.Message(MessageTypeName(message.type), "received");
  if (message.created_at != 0) {
    const UnixNanos now = SystemClock().Now();
    if (now > message.created_at) {
      recorder.MessageLatency(MessageTypeName(message.type),
                              static_cast<double>(now - message.created_at) / 1e9);
    }
  }
  if (message.headers.empty()) return trace::Context();
  propagation::MapCarrier carrier(message.headers);  // read-only over a const map
  return Resolve(propagator).Extract(carrier, trace::Context());
}

}  // namespace minion::agents
