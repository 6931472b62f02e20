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

Status Invalid(const Picked& p, std::string_view why) {
  return InvalidArgumentError(p.name + "=\"" + p.value + "\": " + std::string(why));
}

bool HasHttpScheme(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

}  // namespace

std::string_view OtlpProtocolName(OtlpProtocol p) {
  switch (p) {
    case OtlpProtocol::kGrpc: return "grpc";
    case OtlpProtocol::kHttpProtobuf: return "http/protobuf";
    case OtlpProtocol::kHttpJson: return "http/json";
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
      if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos)) {
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
                                                         const EnvLookup& lookup_in) {
  const EnvLookup lookup = lookup_in ? lookup_in : EnvLookup([](std::string_view name) {
    return env::Get(name);
  });
  OtlpExporterOptions o;

  if (auto p = Pick(lookup, "PROTOCOL")) {
    auto parsed = ParseOtlpProtocol(p->value);
    if (!parsed.ok()) return Invalid(*p, "want grpc, http/protobuf or http/json");
    o.protocol = *parsed;
  } else {
    auto parsed = ParseOtlpProtocol(default_protocol);
    if (!parsed.ok()) return parsed.status().WithContext("default protocol");
    o.protocol = *parsed;
  }
  const bool http = o.protocol != OtlpProtocol::kGrpc;
  o.endpoint = std::string(http ? kDefaultOtlpHttpEndpoint : kDefaultOtlpGrpcEndpoint);

  if (auto p = Pick(lookup, "ENDPOINT")) {
    const std::string url(Trim(p->value));
    if (http) {
      if (!HasHttpScheme(url)) return Invalid(*p, "want an http:// or https:// URL");
      if (p->signal_specific) {
        o.endpoint = url;  // used as is
      } else {
        // The generic variable is a base URL: the signal path is appended to it.
        o.endpoint = url + (url.ends_with('/') ? "v1/traces" : "/v1/traces");
      }
    } else {
      if (url.find("://") != std::string::npos && !HasHttpScheme(url)) {
        return Invalid(*p, "want http://, https:// or host:port");
      }
      o.endpoint = url;
    }
    if (o.endpoint.find_first_of(" \t\r\n") != std::string::npos) {
      return Invalid(*p, "URL contains whitespace");
    }
  }

  if (auto p = Pick(lookup, "HEADERS")) {
    auto headers = ParseOtlpHeaders(p->value);
    if (!headers.ok()) return Invalid(*p, headers.status().message());
    o.headers = std::move(*headers);
  }

  if (auto p = Pick(lookup, "TIMEOUT")) {
    const std::string_view t = Trim(p->value);
    std::int64_t ms = -1;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ms);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || ms < 0) {
      return Invalid(*p, "want a non-negative number of milliseconds");
    }
    o.timeout = std::chrono::milliseconds(ms);
  }

  if (auto p = Pick(lookup, "COMPRESSION")) {
    const std::string_view c = Trim(p->value);
    if (c == "gzip") {
      o.compression = OtlpCompression::kGzip;
    } else if (c == "none") {
      o.compression = OtlpCompression::kNone;
    } else {
      return Invalid(*p, "want gzip or none");
    }
  }

  if (auto p = Pick(lookup, "CERTIFICATE")) o.certificate_file = std::string(Trim(p->value));
  if (auto p = Pick(lookup, "CLIENT_KEY")) o.client_key_file = std::string(Trim(p->value));
  if (auto p = Pick(lookup, "CLIENT_CERTIFICATE")) o.client_certificate_file = std::string(Trim(p->value));

  if (auto p = Pick(lookup, "INSECURE")) {
    auto b = env::ParseBool(Trim(p->value));
    if (!b.ok()) return Invalid(*p, "want true or false");
    o.insecure = *b;
  }
  return o;
}

}  // namespace minion::exporters
