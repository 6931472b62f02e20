#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "curl/curl_easy.h"
#include "minion/common/text.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/trace_context.h"
#include "minion/tools/builtin.h"
#include "tools/text.h"

namespace minion::tools {
namespace {

using nlohmann::json;

enum class AddressClass { kLoopback, kPrivate, kPublic };

AddressClass ClassifyV4(std::uint32_t a) {  // host byte order
  auto in = [a](std::uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  if (in(0x7F000000, 8)) return AddressClass::kLoopback;
  if (in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) ||  // RFC 1918
      in(0xA9FE0000, 16) ||                                             // link-local, metadata
      in(0x64400000, 10) ||                                             // CGNAT
      in(0x00000000, 8) || in(0xC0000000, 24) ||                        // "this network", IETF
      in(0xE0000000, 4) || in(0xF0000000, 4)) {                         // multicast, reserved
    return AddressClass::kPrivate;
  }
  return AddressClass::kPublic;
}

AddressClass Classify(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    return ClassifyV4(ntohl(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr));
  }
  if (addr->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return AddressClass::kLoopback;
    if (IN6_IS_ADDR_V4MAPPED(&a) || IN6_IS_ADDR_V4COMPAT(&a)) {
      std::uint32_t v4 = (std::uint32_t{a.s6_addr[12]} << 24) |
                         (std::uint32_t{a.s6_addr[13]} << 16) |
                         (std::uint32_t{a.s6_addr[14]} << 8) | a.s6_addr[15];
      return ClassifyV4(v4);
    }
    if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_MULTICAST(&a) ||
        (a.s6_addr[0] & 0xFE) == 0xFC) {  // fc00::/7 unique local
      return AddressClass::kPrivate;
    }
    return AddressClass::kPublic;
  }
  return AddressClass::kPrivate;  // not IP: never dialled
}

std::string_view ClassName(AddressClass c) {
  switch (c) {
    case AddressClass::kLoopback:
      return "a loopback address";
    case AddressClass::kPrivate:
      return "a private or reserved address";
    case AddressClass::kPublic:
      return "a public address";
  }
  return "an address";
}

struct Transfer {
  bool allow_loopback = false;
  bool allow_private = false;
  bool allow_public = false;
  bool refused_address = false;
  std::string refused_description;
};

// Runs for every socket curl opens (each address it tries), so the address rules hold on the
// address actually connected to, whatever DNS said.
curl_socket_t OpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    const AddressClass c = Classify(&address->addr);
    const bool allowed = (c == AddressClass::kLoopback && t->allow_loopback) ||
                         (c == AddressClass::kPrivate && t->allow_private) ||
                         (c == AddressClass::kPublic && t->allow_public);
    if (!allowed) {
      t->refused_address = true;
      char buf[INET6_ADDRSTRLEN] = {0};
      if (address->family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr, buf,
                  sizeof buf);
      } else if (address->family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr, buf,
                  sizeof buf);
      }
      t->refused_description = std::string(buf) + ", " + std::string(ClassName(c));
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The host part of an absolute http(s) URL as curl itself parses it (so our check and the
// connection agree on what the host is), lower-cased, without IPv6 brackets or a trailing dot.
Result<std::string> UrlHost(const std::string& url, const std::string& shown) {
  CURLU* u = curl_url();
  if (u == nullptr) return InternalError("curl_url failed");
  char* host = nullptr;
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
  std::string out = host ? host : "";
  curl_free(host);
  curl_url_cleanup(u);
  if (rc != CURLUE_OK || out.empty()) return InvalidArgumentError("url " + shown + " has no host");
  if (out.size() >= 2 && out.front() == '[' && out.back() == ']')
    out = out.substr(1, out.size() - 2);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return LowerAscii(out);
}

class HttpGetTool final : public Tool {
 public:
  explicit HttpGetTool(HttpGetOptions options) : options_(std::move(options)) {
    if (options_.allow_non_loopback) options_.allow_public = options_.allow_private = true;
    (void)curl::EnsureGlobalInit();  // a failure shows as curl_easy_init failing
  }
  std::string Name() const override { return "http_get"; }
  std::string Description() const override {
    std::string d = "Fetches a URL over HTTP(S) with GET";
    if (!options_.allowed_hosts.empty()) {
      d += "; allowed hosts:";
      for (const auto& h : options_.allowed_hosts) d += " " + h;
    } else if (!options_.allow_public && !options_.allow_private) {
      d += " (this machine only)";
    }
    return d + ".";
  }
  json InputSchema() const override {
    return {
        {"type", "object"},
        {"properties", {{"url", {{"type", "string"}, {"description", "http:// or https:// URL"}}}}},
        {"required", {"url"}},
        {"additionalProperties", false}};
  }
  Result<json> Invoke(const trace::Context& ctx, const json& input) override {
    const std::string url = input["url"].get<std::string>();
    const std::string shown = minion::text::RedactUrls(url);  // credentials never reach a message
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return InvalidArgumentError("url must start with http:// or https://");
    }
    std::vector<std::pair<std::string, std::string>> trace_headers;
    if (options_.inject_trace_context) {
      propagation::HttpHeaderCarrier carrier(trace_headers);
      propagation::W3CTraceContextPropagator().Inject(ctx, carrier);
    }
    // Redirects are followed here, not by curl, so each new host meets the allow-list.
    std::string current = url;
    for (int hop = 0;; ++hop) {
      const std::string current_shown = minion::text::RedactUrls(current);
      MINION_ASSIGN_OR_RETURN(std::string host, UrlHost(current, current_shown));
      if (!options_.allowed_hosts.empty() && !HostAllowed(options_.allowed_hosts, host)) {
        return Status(StatusCode::kPermissionDenied,
                      "http_get may not fetch " + current_shown + ": host \"" + host +
                          "\" is not on the allow-list" +
                          (hop > 0 ? " (reached by a redirect from " + shown + ")" : ""));
      }
      Fetched f = FetchOnce(current, current_shown, trace_headers);
      if (!f.status.ok()) return f.status;
      if (f.http_status >= 300 && f.http_status < 400 && !f.redirect_url.empty()) {
        if (hop >= options_.max_redirects) {
          return UnavailableError("GET " + shown + ": more than " +
                                  std::to_string(options_.max_redirects) + " redirects");
        }
        if (f.redirect_url.rfind("http://", 0) != 0 && f.redirect_url.rfind("https://", 0) != 0) {
          return Status(StatusCode::kPermissionDenied,
                        "GET " + shown + ": redirect to a scheme other than http(s) refused");
        }
        current = std::move(f.redirect_url);
        continue;
      }
      return json{{"status", f.http_status},
                  {"body", std::move(f.body)},
                  {"content_type", f.content_type},
                  {"truncated", f.truncated},
                  {"url", current_shown}};
    }
  }

 private:
  struct Fetched {
    Status status;
    long http_status = 0;
    std::string body;
    std::string content_type;
    std::string redirect_url;
    bool truncated = false;
  };

  Fetched FetchOnce(const std::string& url, const std::string& shown,
                    const std::vector<std::pair<std::string, std::string>>& trace_headers) const {
    Fetched out;
    Transfer t;
    t.allow_loopback = options_.allow_loopback;
    t.allow_private = options_.allow_private;
    t.allow_public = options_.allow_public;
    // A longer body is cut at the limit and the transfer stopped there: the tool returns a
    // prefix marked truncated, and an endless body cannot hold the call until the timeout.
    curl::BoundedBody body(options_.max_body_bytes, curl::BoundedBody::Overflow::kKeepAndStop);
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : trace_headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
      curl_slist_free_all(headers);
      out.status = InternalError("curl_easy_init failed");
      return out;
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t);
    curl::SetBaseOptions(curl, &body);  // NOSIGNAL, bounded body
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "minion-http_get/" MINION_VERSION);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.http_status);
    char* content_type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
    out.content_type = content_type ? content_type : "";
    char* redirect = nullptr;
    curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &redirect);
    out.redirect_url = redirect ? redirect : "";
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);

    if (t.refused_address) {
      out.status = Status(StatusCode::kPermissionDenied, "http_get may not connect to " +
                                                             t.refused_description + " (" + shown +
                                                             "); allowed: " + AllowedClasses());
      return out;
    }
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && body.overflowed)) {
      std::string msg = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
      out.status = rc == CURLE_OPERATION_TIMEDOUT
                       ? DeadlineExceededError("GET " + shown + ": " + msg)
                       : UnavailableError("GET " + shown + ": " + msg);
      return out;
    }
    if (!internal::IsValidUtf8(body.data)) {
      // Trim a character the size limit cut in half; anything else is binary.
      while (body.overflowed && !body.data.empty() && !internal::IsValidUtf8(body.data) &&
             (static_cast<unsigned char>(body.data.back()) & 0x80)) {
        body.data.pop_back();
      }
      if (!internal::IsValidUtf8(body.data)) {
        out.status = DataLossError("GET " + shown + ": the body is not UTF-8 text (" +
                                   out.content_type + ")");
        return out;
      }
    }
    out.body = std::move(body.data);
    out.truncated = body.overflowed;
    return out;
  }

  std::string AllowedClasses() const {
    std::string out;
    auto add = [&](bool on, std::string_view what) {
      if (on) out += (out.empty() ? "" : ", ") + std::string(what);
    };
    add(options_.allow_loopback, "loopback");
    add(options_.allow_private, "private");
    add(options_.allow_public, "public");
    return out.empty() ? "none" : out;
  }

  HttpGetOptions options_;
};

}  // namespace

bool HostAllowed(const std::vector<std::string>& allowed_hosts, std::string_view host) {
  std::string h = LowerAscii(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  for (const auto& entry : allowed_hosts) {
    std::string e = LowerAscii(entry);
    if (e.size() > 2 && e.compare(0, 2, "*.") == 0) {
      const std::string suffix = e.substr(1);  // ".example.com"
      if (h.size() > suffix.size() &&
          h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    } else if (!e.empty() && e == h) {
      return true;
    }
  }
  return false;
}

std::shared_ptr<Tool> MakeHttpGetTool(HttpGetOptions options) {
  return std::make_shared<HttpGetTool>(std::move(options));
}

Status RegisterBuiltinTools(ToolRegistry& registry, const std::filesystem::path& root) {
  FileToolOptions files{root};
  MINION_RETURN_IF_ERROR(registry.Register(MakeWriteFileTool(files)));
  MINION_RETURN_IF_ERROR(registry.Register(MakeReadFileTool(files)));
  MINION_RETURN_IF_ERROR(registry.Register(MakeCalculatorTool()));
  return registry.Register(MakeHttpGetTool());
}

}  // namespace minion::tools
