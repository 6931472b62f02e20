// Randomised robustness test: mutated headers must never crash a propagator, a span extracted
// from garbage must still be valid and remote, the fast traceparent parser must agree with a
// regex transcription of the W3C grammar, and whatever parses must survive a round trip.
// Deterministic seed, so a failure reproduces.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "minion/propagation/b3.h"
#include "minion/propagation/baggage.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/jaeger.h"
#include "minion/propagation/trace_context.h"

namespace minion::propagation {
namespace {

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::string Mutate(std::string s) {
    static const std::string kAlphabet = "0123456789abcdefABCDEF-_=,;:% \t@*/xyz\x7f\x80\xff\"\\";
    const int edits = Uniform(1, 4);
    for (int i = 0; i < edits; ++i) {
      const std::size_t pos =
          s.empty() ? 0 : static_cast<std::size_t>(Uniform(0, static_cast<int>(s.size()) - 1));
      const char c = Uniform(0, 9) == 0
                         ? static_cast<char>(Uniform(0, 255))
                         : kAlphabet[Uniform(0, static_cast<int>(kAlphabet.size()) - 1)];
      switch (Uniform(0, 5)) {
        case 0:
          if (!s.empty()) s[pos] = c;
          break;  // replace
        case 1:
          s.insert(s.begin() + static_cast<long>(pos), c);
          break;  // insert
        case 2:
          if (!s.empty()) s.erase(pos, 1);
          break;  // delete
        case 3:
          s.resize(pos);
          break;  // truncate
        case 4:
          s += s.substr(pos);
          break;  // duplicate a tail
        default:
          if (!s.empty()) s[pos] = '0';
          break;  // zero a digit
      }
    }
    return s;
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  std::mt19937_64 rng_;
};

// The W3C traceparent grammar, written plainly (split on '-', check each field) and
// independently of the hand-optimised parser. (std::regex would be the obvious oracle, but
// GCC 12 reports false maybe-uninitialized warnings in it under the sanitizers.)
bool IsLowerHex(const std::string& s, std::size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool ReferenceAccepts(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (fields.size() < 4) {
    const std::size_t dash = s.find('-', start);
    fields.push_back(s.substr(start, dash == std::string::npos ? std::string::npos : dash - start));
    if (dash == std::string::npos) {
      start = std::string::npos;
      break;
    }
    start = dash + 1;
  }
  if (fields.size() != 4) return false;
  const bool has_more = start != std::string::npos;  // a '-' followed the flags
  if (!IsLowerHex(fields[0], 2) || !IsLowerHex(fields[1], 32) || !IsLowerHex(fields[2], 16) ||
      !IsLowerHex(fields[3], 2)) {
    return false;
  }
  if (fields[0] == "ff") return false;
  if (fields[0] == "00" && has_more) return false;
  if (fields[1] == std::string(32, '0') || fields[2] == std::string(16, '0')) return false;
  return true;
}

TEST(PropagationFuzzTest, MutatedHeadersNeverCrashAndAgreeWithReference) {
  Mutator mutator(20260125);
  const std::vector<std::string> traceparents = {
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"};
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"traceparent", ""},  // one of `traceparents`, chosen per iteration
      {"tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,t@s=x y"},
      {"baggage", "user.id=alice%20smith;ttl=30,list=a%2Cb,k=v;p"},
      {"b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1-0020000000000001"},
      {"X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124"},
      {"X-B3-Sampled", "1"},
      {"uber-trace-id", "463ac35c9f6413ad48485a3953bb6124%3Aa2fb4a1d1a96d312%3A0%3A01"},
      {"uberctx-user", "alice%20smith"},
  };
  W3CTraceContextPropagator w3c;
  W3CBaggagePropagator baggage;
  B3Propagator b3;
  JaegerPropagator jaeger;
  const std::vector<const trace::TextMapPropagator*> propagators = {&w3c, &baggage, &b3, &jaeger};

  int parsed_traceparents = 0;
  int rejected_traceparents = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"X-B3-SpanId", "a2fb4a1d1a96d312"}};
    for (auto [name, value] : seeds) {
      if (name == "traceparent") value = traceparents[mutator.Uniform(0, 1)];
      headers.emplace_back(name, mutator.Uniform(0, 2) == 0 ? value : mutator.Mutate(value));
    }
    HttpHeaderCarrier carrier(headers);
    for (const auto* p : propagators) {
      trace::Context ctx = p->Extract(carrier, trace::Context());
      if (ctx.HasSpan()) {
        ASSERT_TRUE(ctx.span_context().IsValid());
        ASSERT_TRUE(ctx.span_context().IsRemote());
      }
    }
    const std::string& traceparent = headers[1].second;
    trace::SpanContext sc;
    const bool ours = ParseTraceParent(traceparent, &sc);
    ASSERT_EQ(ours, ReferenceAccepts(traceparent)) << "traceparent: '" << traceparent << "'";
    (ours ? parsed_traceparents : rejected_traceparents)++;

    const std::string& tracestate = headers[2].second;
    if (auto ts = trace::TraceState::FromHeader(tracestate)) {
      auto again = trace::TraceState::FromHeader(ts->ToHeader());
      ASSERT_TRUE(again.has_value()) << tracestate;
      ASSERT_EQ(*again, *ts) << tracestate;
      ASSERT_LE(ts->size(), trace::TraceState::kMaxEntries);
    }

    const std::string& baggage_header = headers[3].second;
    trace::Baggage b = W3CBaggagePropagator::Parse(baggage_header);
    trace::Baggage round = W3CBaggagePropagator::Parse(W3CBaggagePropagator::Serialize(b));
    ASSERT_EQ(round.entries().size(), b.entries().size()) << baggage_header;
    for (std::size_t i = 0; i < b.entries().size(); ++i) {
      ASSERT_EQ(round.entries()[i].key, b.entries()[i].key) << baggage_header;
      ASSERT_EQ(round.entries()[i].value, b.entries()[i].value) << baggage_header;
      ASSERT_EQ(round.entries()[i].metadata, b.entries()[i].metadata) << baggage_header;
    }
  }
  // The mutations must exercise both outcomes, or the test proves little.
  EXPECT_GT(parsed_traceparents, 1000);
  EXPECT_GT(rejected_traceparents, 1000);
}

}  // namespace
}  // namespace minion::propagation
