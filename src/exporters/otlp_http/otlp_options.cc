#include "minion/exporters/otlp_options.h"

#include "minion/common/text.h"

#include <cctype>
#include <charconv>

#include "minion/common/env.h"

namespace minion::exporters {
namespace {

using text::PercentDecode;
using text::Trim;

// The trace-specific variable wins over the generic one (specification).
struct Picked {
  std::string name;
  std::string value;
  bool signal_specific = false;
};

std::optional<Picked> Pick(const OtlpExporterOptions::EnvLookup& lookup, std::string_view suffix) {
  const std::string specific = "OTEL_EXPORTER_OTLP_TRACES_" + std::string(suffix);
  if (auto v = lookup(specific); v && !v->empty()) return Picked{specific, *v, true};
  const std::string generic = "OTEL_EXPORTER_OTLP_" + std::string(suffix);
  if (auto v = lookup(generic); v && !v->empty()) return Picked{generic, *v, false};
  return std::nullopt;
}

// The one rule for a bad standard variable: warn, naming the variable, the value and what is
// used instead, and carry on with the default.
void Fallback(const Picked& p, std::string_view why, std::string_view used,
              std::vector<std::string>* warnings) {
  const std::string line =
      p.name + "=\"" + p.value + "\": " + std::string(why) + "; using " + std::string(used);
  env::Warn(line);
  if (warnings) warnings->push_back(line);
}

bool HasHttpScheme(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

}  // namespace

std::string_view OtlpProtocolName(OtlpProtocol p) {
  switch (p) {
    case OtlpProtocol::kGrpc:
      return "grpc";
    case OtlpProtocol::kHttpProtobuf:
      return "http/protobuf";
    case OtlpProtocol::kHttpJson:
      return "http/json";
  }
  return "unknown";
}

Result<OtlpProtocol> ParseOtlpProtocol(std::string_view text) {
  const std::string_view t = Trim(text);
  if (t == "grpc") return OtlpProtocol::kGrpc;
  if (t == "http/protobuf") return OtlpProtocol::kHttpProtobuf;
  if (t == "http/json") return OtlpProtocol::kHttpJson;
  return InvalidArgumentError("unknown OTLP protocol \"" + std::string(text) +
                              "\" (want grpc, http/protobuf or http/json)");
}

Result<std::vector<std::pair<std::string, std::string>>> ParseOtlpHeaders(std::string_view list) {
  MINION_ASSIGN_OR_RETURN(auto headers, text::ParseKeyValueList(list));
  for (const auto& [key, value] : headers) {
    for (char c : key) {
      // RFC 9110 token characters; anything else would corrupt the request.
      if (!(std::isalnum(static_cast<unsigned char>(c)) ||
            std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos)) {
        return InvalidArgumentError("header name \"" + key + "\" has an invalid character");
      }
    }
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') {
        return InvalidArgumentError("header \"" + key + "\" value contains a line break or NUL");
      }
    }
  }
  return headers;
}

Result<OtlpExporterOptions> OtlpExporterOptions::FromEnv(std::string_view default_protocol,
                                                         const EnvLookup& lookup_in,
                                                         std::vector<std::string>* warnings) {
  const EnvLookup lookup =
      lookup_in ? lookup_in : EnvLookup([](std::string_view name) { return env::Get(name); });
  OtlpExporterOptions o;

  auto fallback_protocol = ParseOtlpProtocol(default_protocol);
  if (!fallback_protocol.ok()) return fallback_protocol.status().WithContext("default protocol");
  o.protocol = *fallback_protocol;
  if (auto p = Pick(lookup, "PROTOCOL")) {
    auto parsed = ParseOtlpProtocol(p->value);
    if (parsed.ok()) {
      o.protocol = *parsed;
    } else {
      Fallback(*p, "want grpc, http/protobuf or http/json", OtlpProtocolName(o.protocol), warnings);
    }
  }
  const bool http = o.protocol != OtlpProtocol::kGrpc;
  o.endpoint = std::string(http ? kDefaultOtlpHttpEndpoint : kDefaultOtlpGrpcEndpoint);

  if (auto p = Pick(lookup, "ENDPOINT")) {
    const std::string url(Trim(p->value));
    std::string endpoint;
    std::string why;
    if (url.find_first_of(" \t\r\n") != std::string::npos) {
      why = "URL contains whitespace";
    } else if (http) {
      if (!HasHttpScheme(url)) {
        why = "want an http:// or https:// URL";
      } else if (p->signal_specific) {
        endpoint = url;  // used as is
      } else {
        // The generic variable is a base URL: the signal path is appended to it.
        endpoint = url + (url.ends_with('/') ? "v1/traces" : "/v1/traces");
      }
    } else if (url.find("://") != std::string::npos && !HasHttpScheme(url)) {
      why = "want http://, https:// or host:port";
    } else {
      endpoint = url;
    }
    if (why.empty()) {
      o.endpoint = endpoint;
    } else {
      Fallback(*p, why, o.endpoint, warnings);
    }
  }

  if (auto p = Pick(lookup, "HEADERS")) {
    auto headers = ParseOtlpHeaders(p->value);
    if (headers.ok()) {
      o.headers = std::move(*headers);
    } else {
      // Not Fallback(): the value (and the parser's message, which quotes it) may hold a token.
      const std::string line = p->name + ": not a list of key=value pairs with %-encoded values (" +
                               std::to_string(p->value.size()) +
                               " bytes, not shown: headers carry credentials); using no headers";
      env::Warn(line);
      if (warnings) warnings->push_back(line);
    }
  }

  if (auto p = Pick(lookup, "TIMEOUT")) {
    const std::string_view t = Trim(p->value);
    std::int64_t ms = -1;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ms);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || ms < 0) {
      Fallback(*p, "want a non-negative number of milliseconds", std::to_string(o.timeout.count()),
               warnings);
    } else if (ms == 0) {
      // The OpenTelemetry configuration schema: "A value of 0 indicates no limit (infinity)".
      // Each export is still bounded by the caller's timeout (the batch processor's export
      // timeout, the shutdown deadline), so no limit here means "the caller's".
      o.timeout = kNoTimeout;
    } else {
      o.timeout = std::chrono::milliseconds(ms);
    }
  }

  if (auto p = Pick(lookup, "COMPRESSION")) {
    const std::string_view c = Trim(p->value);
    if (c == "gzip") {
      o.compression = OtlpCompression::kGzip;
    } else if (c == "none") {
      o.compression = OtlpCompression::kNone;
    } else {
      Fallback(*p, "want gzip or none", o.compression == OtlpCompression::kGzip ? "gzip" : "none",
               warnings);
    }
  }

  if (auto p = Pick(lookup, "CERTIFICATE")) o.certificate_file = std::string(Trim(p->value));
  if (auto p = Pick(lookup, "CLIENT_KEY")) o.client_key_file = std::string(Trim(p->value));
  if (auto p = Pick(lookup, "CLIENT_CERTIFICATE"))
    o.client_certificate_file = std::string(Trim(p->value));

  if (auto p = Pick(lookup, "INSECURE")) {
    auto b = env::ParseBool(Trim(p->value));
    if (b.ok()) {
      o.insecure = *b;
    } else {
      Fallback(*p, "want true or false", o.insecure ? "true" : "false", warnings);
    }
  }
  return o;
}

}  // namespace minion::exporters
