#include "minion/exporters/otlp_options.h"

#include <cctype>
#include <charconv>

#include "minion/common/env.h"

namespace minion::exporters {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || HexDigit(s[i + 1]) < 0 || HexDigit(s[i + 2]) < 0) {
      return InvalidArgumentError("bad %-escape in \"" + std::string(s) + "\"");
    }
    out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
    i += 2;
  }
  return out;
}

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

Result<std::vector<std::pair<std::string, std::string>>> ParseOtlpHeaders(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = Trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) continue;  // tolerate "a=1,,b=2" and a trailing comma
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError("header entry \"" + std::string(item) + "\" has no '='");
    }
    MINION_ASSIGN_OR_RETURN(std::string key, PercentDecode(Trim(item.substr(0, eq))));
    MINION_ASSIGN_OR_RETURN(std::string value, PercentDecode(Trim(item.substr(eq + 1))));
    if (key.empty()) {
      return InvalidArgumentError("header entry \"" + std::string(item) + "\" has an empty key");
    }
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
    headers.emplace_back(std::move(key), std::move(value));
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
