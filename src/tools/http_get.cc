#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <mutex>

#include "minion/tools/builtin.h"
#include "minion/propagation/carriers.h"
#include "minion/propagation/trace_context.h"
#include "tools/text.h"
#include "minion/common/text.h"

namespace minion::tools {
namespace {

using nlohmann::json;

bool IsLoopback(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

struct Transfer {
  bool allow_non_loopback = false;
  bool refused_address = false;
  std::string refused_description;
  std::size_t max_bytes = 0;
  bool truncated = false;
  std::string body;
};

// Runs for every socket curl opens (each redirect, each address it tries), so the loopback
// rule holds on the address actually connected to, whatever DNS said.
curl_socket_t OpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN && !t->allow_non_loopback && !IsLoopback(&address->addr)) {
    t->refused_address = true;
    char buf[INET6_ADDRSTRLEN] = {0};
    if (address->family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr, buf, sizeof buf);
    } else if (address->family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr, buf, sizeof buf);
    }
    t->refused_description = buf;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  std::size_t room = t->max_bytes - t->body.size();
  if (len > room) {
    t->body.append(data, room);
    t->truncated = true;
    return 0;  // stop the transfer; we have what we keep
  }
  t->body.append(data, len);
  return len;
}

class HttpGetTool final : public Tool {
 public:
  explicit HttpGetTool(HttpGetOptions options) : options_(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }
  std::string Name() const override { return "http_get"; }
  std::string Description() const override {
    return options_.allow_non_loopback ? "Fetches a URL over HTTP(S) with GET."
                                       : "Fetches a URL on this machine (loopback only) with GET.";
  }
  json InputSchema() const override {
    return {{"type", "object"},
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
    Transfer t;
    t.allow_non_loopback = options_.allow_non_loopback;
    t.max_bytes = options_.max_body_bytes;
    std::vector<std::pair<std::string, std::string>> trace_headers;
    if (options_.inject_trace_context) {
      propagation::HttpHeaderCarrier carrier(trace_headers);
      propagation::W3CTraceContextPropagator().Inject(ctx, carrier);
    }
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : trace_headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
      curl_slist_free_all(headers);
      return InternalError("curl_easy_init failed");
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "minion-http_get/" MINION_VERSION);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    char* content_type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
    std::string type = content_type ? content_type : "";
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);

    if (t.refused_address) {
      return Status(StatusCode::kPermissionDenied,
                    "http_get may only connect to loopback addresses; " + url + " resolved to " +
                        t.refused_description);
    }
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.truncated)) {
      std::string msg = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
      if (rc == CURLE_OPERATION_TIMEDOUT) return DeadlineExceededError("GET " + shown + ": " + msg);
      return UnavailableError("GET " + shown + ": " + msg);
    }
    if (!internal::IsValidUtf8(t.body)) {
      // Trim a character the size limit cut in half; anything else is binary.
      while (t.truncated && !t.body.empty() && !internal::IsValidUtf8(t.body) &&
             (static_cast<unsigned char>(t.body.back()) & 0x80)) {
        t.body.pop_back();
      }
      if (!internal::IsValidUtf8(t.body)) {
        return DataLossError("GET " + shown + ": the body is not UTF-8 text (" + type + ")");
      }
    }
    return json{{"status", status}, {"body", t.body}, {"content_type", type},
                {"truncated", t.truncated}};
  }

 private:
  HttpGetOptions options_;
};

}  // namespace

std::shared_ptr<Tool> MakeHttpGetTool(HttpGetOptions options) {
  return std::make_shared<HttpGetTool>(options);
}

Status RegisterBuiltinTools(ToolRegistry& registry, const std::filesystem::path& root) {
  FileToolOptions files{root};
  MINION_RETURN_IF_ERROR(registry.Register(MakeWriteFileTool(files)));
  MINION_RETURN_IF_ERROR(registry.Register(MakeReadFileTool(files)));
  MINION_RETURN_IF_ERROR(registry.Register(MakeCalculatorTool()));
  return registry.Register(MakeHttpGetTool());
}

}  // namespace minion::tools
