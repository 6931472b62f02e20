#pragma once
// Runs tests/interop/node/jaeger_receiver.js as a child process: a real HTTP server on
// 127.0.0.1 that decodes what it receives with Jaeger's own Thrift IDL. The test reads one JSON
// line per request from its stdout (blocking reads; no sleeps). Closing its stdin stops it.

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace minion::exporters::testing {

class NodeReceiver {
 public:
  // Starts `node jaeger_receiver.js args...`; on failure `error()` says why (node missing,
  // npm packages missing, script crashed) and port() is 0.
  explicit NodeReceiver(const std::vector<std::string>& args = {});
  ~NodeReceiver();
  NodeReceiver(const NodeReceiver&) = delete;
  NodeReceiver& operator=(const NodeReceiver&) = delete;

  int port() const { return port_; }
  const std::string& error() const { return error_; }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/api/traces";
  }
  // The next request line; nullopt when the process ended.
  std::optional<nlohmann::json> Next();
  // Closes the script's stdin: it exits, so Next() returns the lines already printed and then
  // nullopt instead of blocking.
  void Stop();

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::FILE* out_ = nullptr;
  int port_ = 0;
  std::string error_;
};

}  // namespace minion::exporters::testing
