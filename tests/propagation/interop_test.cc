// Interop against the official OpenTelemetry JS propagators (tests/interop/node/
// propagation_peer.js, pinned npm packages): for W3C trace context + baggage, B3 single, B3
// multi and Jaeger, (a) node extracts what we inject and (b) we extract what node injects; ids,
// flags, trace state and baggage must match both ways. Fails (never skips) when node, the
// script or the packages are missing.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "minion/propagation/b3.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/from_env.h"
#include "minion/propagation/jaeger.h"
#include "propagation/test_util.h"

namespace minion::propagation {
namespace {

using json = nlohmann::json;

struct BaggageItem {
  std::string key;
  std::string value;
  std::string metadata;
};

struct Case {
  std::string trace_hex;
  std::string span_hex;
  int flags;
  std::string trace_state;
  std::vector<BaggageItem> baggage;
};

struct Format {
  const char* name;             // for messages
  std::vector<std::string> js;  // propagator names in propagation_peer.js
  std::string ours;             // OTEL_PROPAGATORS list for MakePropagator
  bool trace_state;             // format carries tracestate
  bool baggage;                 // format carries baggage
  bool metadata;                // format carries baggage metadata
};

const std::vector<Format>& Formats() {
  static const std::vector<Format> kFormats = {
      {"w3c", {"tracecontext", "baggage"}, "tracecontext,baggage", true, true, true},
      {"b3 single", {"b3"}, "b3", false, false, false},
      {"b3 multi", {"b3multi"}, "b3multi", false, false, false},
      {"jaeger", {"jaeger"}, "jaeger", false, true, false},
  };
  return kFormats;
}

std::string RandomHex(std::mt19937_64& rng, std::size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.clear();
    for (std::size_t i = 0; i < digits; ++i) s.push_back(kDigits[rng() % 16]);
  } while (s.find_first_not_of('0') == std::string::npos);
  return s;
}

std::vector<Case> Cases() {
  std::mt19937_64 rng(424242);
  std::vector<Case> cases;
  for (int i = 0; i < 6; ++i) {
    Case c;
    c.trace_hex = RandomHex(rng, 32);
    c.span_hex = RandomHex(rng, 16);
    c.flags = i % 2;
    cases.push_back(c);
  }
  // A 64-bit trace id (B3 and Jaeger pad these) and ids with leading zero bytes.
  cases[2].trace_hex = std::string(16, '0') + RandomHex(rng, 16);
  cases[3].span_hex = "00000000" + RandomHex(rng, 8);
  cases[0].trace_state = "congo=t61rcWkgMzE,tenant@vendor=a b";
  cases[1].trace_state = "rojo=00f067aa0ba902b7";
  cases[0].baggage = {{"user.id", "alice smith", ""},
                      {"list", "a,b;c=d%e", "ttl=30;private"},
                      {"unicode", "h\xc3\xa9llo \xe2\x9c\x93", ""}};
  cases[1].baggage = {{"tenant", "t-42", "p"}};
  cases[4].baggage = {{"k", "=;,\"\\+ %20", ""}};
  return cases;
}

// Runs the node peer on `requests`; nullopt (after recording a failure) on any error.
std::optional<json> RunPeer(const json& requests) {
  const char* source_dir = std::getenv("MINION_SOURCE_DIR");
  if (source_dir == nullptr) {
    ADD_FAILURE() << "MINION_SOURCE_DIR is not set; run through ctest";
    return std::nullopt;
  }
  const std::string script = std::string(source_dir) + "/tests/interop/node/propagation_peer.js";
  if (::access(script.c_str(), R_OK) != 0) {
    ADD_FAILURE() << "missing " << script;
    return std::nullopt;
  }
  char in_path[] = "/tmp/minion_propagation_in_XXXXXX";
  char err_path[] = "/tmp/minion_propagation_err_XXXXXX";
  const int in_fd = ::mkstemp(in_path);
  const int err_fd = ::mkstemp(err_path);
  if (in_fd < 0 || err_fd < 0) {
    ADD_FAILURE() << "mkstemp failed";
    return std::nullopt;
  }
  ::close(err_fd);
  const std::string input = requests.dump();
  const bool wrote =
      ::write(in_fd, input.data(), input.size()) == static_cast<ssize_t>(input.size());
  ::close(in_fd);
  if (!wrote) {
    ADD_FAILURE() << "writing " << in_path << " failed";
    return std::nullopt;
  }
  const std::string command = "node '" + script + "' < '" + in_path + "' 2> '" + err_path + "'";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed for: " << command;
    return std::nullopt;
  }
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  std::ifstream err_file(err_path);
  std::stringstream err;
  err << err_file.rdbuf();
  ::unlink(in_path);
  ::unlink(err_path);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "node peer failed (status " << status << ", exit "
                  << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
                  << "; 127 means node is not installed): " << err.str();
    return std::nullopt;
  }
  json parsed = json::parse(output, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_array() || parsed.size() != requests.size()) {
    ADD_FAILURE() << "node peer printed unexpected output: " << output << "\nstderr: " << err.str();
    return std::nullopt;
  }
  return parsed;
}

trace::Context MakeContext(const Case& c, const Format& f) {
  std::shared_ptr<const trace::TraceState> state;
  if (f.trace_state && !c.trace_state.empty()) {
    state =
        std::make_shared<const trace::TraceState>(*trace::TraceState::FromHeader(c.trace_state));
  }
  trace::SpanContext sc(testing::TraceIdFromHex(c.trace_hex), testing::SpanIdFromHex(c.span_hex),
                        trace::TraceFlags(static_cast<std::uint8_t>(c.flags)), false, state);
  trace::Baggage baggage;
  for (const auto& item : c.baggage) baggage = baggage.Set(item.key, item.value, item.metadata);
  return trace::Context(sc).WithBaggage(baggage);
}

std::map<std::string, BaggageItem> ExpectedBaggage(const Case& c, const Format& f) {
  std::map<std::string, BaggageItem> out;
  if (!f.baggage) return out;
  for (auto item : c.baggage) {
    if (!f.metadata) item.metadata.clear();
    out[item.key] = item;
  }
  return out;
}

std::unique_ptr<trace::TextMapPropagator> Ours(const Format& f) {
  auto p = MakePropagator(f.ours);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

TEST(PropagationInteropTest, NodeExtractsWhatWeInject) {
  const auto cases = Cases();
  json requests = json::array();
  std::vector<std::pair<const Format*, const Case*>> index;
  for (const auto& f : Formats()) {
    auto propagator = Ours(f);
    for (const auto& c : cases) {
      std::map<std::string, std::string> headers;
      MapCarrier carrier(headers);
      propagator->Inject(MakeContext(c, f), carrier);
      ASSERT_FALSE(headers.empty()) << f.name;
      requests.push_back({{"op", "extract"}, {"formats", f.js}, {"headers", headers}});
      index.emplace_back(&f, &c);
    }
  }
  auto results = RunPeer(requests);
  ASSERT_TRUE(results.has_value());
  for (std::size_t i = 0; i < index.size(); ++i) {
    const Format& f = *index[i].first;
    const Case& c = *index[i].second;
    const json& r = (*results)[i];
    SCOPED_TRACE(std::string(f.name) + " case " + std::to_string(i) + ": " + requests[i].dump());
    ASSERT_TRUE(r["spanContext"].is_object()) << r.dump();
    const json& sc = r["spanContext"];
    EXPECT_EQ(sc["traceId"], c.trace_hex);
    EXPECT_EQ(sc["spanId"], c.span_hex);
    EXPECT_EQ(sc["traceFlags"], c.flags);
    EXPECT_EQ(sc["isRemote"], true);
    EXPECT_EQ(sc["valid"], true);
    if (f.trace_state) {
      EXPECT_EQ(sc["traceState"], c.trace_state);
    }
    const auto expected = ExpectedBaggage(c, f);
    ASSERT_EQ(r["baggage"].size(), expected.size()) << r.dump();
    for (const auto& [key, item] : expected) {
      ASSERT_TRUE(r["baggage"].contains(key)) << key << " in " << r.dump();
      EXPECT_EQ(r["baggage"][key]["value"], item.value) << key;
      EXPECT_EQ(r["baggage"][key]["metadata"], item.metadata) << key;
    }
  }
}

TEST(PropagationInteropTest, WeExtractWhatNodeInjects) {
  const auto cases = Cases();
  json requests = json::array();
  std::vector<std::pair<const Format*, const Case*>> index;
  for (const auto& f : Formats()) {
    for (const auto& c : cases) {
      json req = {{"op", "inject"},
                  {"formats", f.js},
                  {"traceId", c.trace_hex},
                  {"spanId", c.span_hex},
                  {"traceFlags", c.flags}};
      if (f.trace_state && !c.trace_state.empty()) req["traceState"] = c.trace_state;
      if (f.baggage && !c.baggage.empty()) {
        json b = json::object();
        for (const auto& item : c.baggage) {
          b[item.key] = {{"value", item.value}, {"metadata", f.metadata ? item.metadata : ""}};
        }
        req["baggage"] = b;
      }
      requests.push_back(req);
      index.emplace_back(&f, &c);
    }
  }
  auto results = RunPeer(requests);
  ASSERT_TRUE(results.has_value());
  for (std::size_t i = 0; i < index.size(); ++i) {
    const Format& f = *index[i].first;
    const Case& c = *index[i].second;
    const json& r = (*results)[i];
    SCOPED_TRACE(std::string(f.name) + " case " + std::to_string(i) + ": node sent " + r.dump());
    // Over HTTP, exactly as a server would receive it: a list of (name, value) pairs.
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& [name, value] : r["headers"].items()) {
      headers.emplace_back(name, value.get<std::string>());
    }
    ASSERT_FALSE(headers.empty());
    HttpHeaderCarrier carrier(headers);
    trace::Context ctx = Ours(f)->Extract(carrier, trace::Context());
    ASSERT_TRUE(ctx.HasSpan());
    EXPECT_EQ(ctx.span_context().trace_id().ToHex(), c.trace_hex);
    EXPECT_EQ(ctx.span_context().span_id().ToHex(), c.span_hex);
    EXPECT_EQ(ctx.span_context().trace_flags().value(), c.flags);
    EXPECT_TRUE(ctx.span_context().IsRemote());
    if (f.trace_state) {
      EXPECT_EQ(ctx.span_context().trace_state().ToHeader(), c.trace_state);
    }
    const auto expected = ExpectedBaggage(c, f);
    ASSERT_EQ(ctx.baggage().entries().size(), expected.size());
    for (const auto& entry : ctx.baggage().entries()) {
      auto it = expected.find(entry.key);
      ASSERT_NE(it, expected.end()) << entry.key;
      EXPECT_EQ(entry.value, it->second.value) << entry.key;
      EXPECT_EQ(entry.metadata, it->second.metadata) << entry.key;
    }
  }
}

// Node rejects what the W3C rules reject, and so do we: the same malformed traceparents give
// no span on either side.
TEST(PropagationInteropTest, BothSidesRejectTheSameMalformedTraceparents) {
  const std::vector<std::string> bad = {
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
  };
  json requests = json::array();
  for (const auto& tp : bad) {
    requests.push_back(
        {{"op", "extract"}, {"formats", {"tracecontext"}}, {"headers", {{"traceparent", tp}}}});
  }
  auto results = RunPeer(requests);
  ASSERT_TRUE(results.has_value());
  auto ours = MakePropagator("tracecontext");
  ASSERT_TRUE(ours.ok());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(bad[i]);
    const json& sc = (*results)[i]["spanContext"];
    EXPECT_TRUE(sc.is_null() || sc["valid"] == false) << sc.dump();
    std::map<std::string, std::string> headers{{"traceparent", bad[i]}};
    MapCarrier carrier(headers);
    EXPECT_FALSE((*ours)->Extract(carrier, trace::Context()).HasSpan());
  }
}

}  // namespace
}  // namespace minion::propagation
