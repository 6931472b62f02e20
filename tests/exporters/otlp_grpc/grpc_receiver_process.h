#pragma once
// Runs tests/interop/node/otlp_grpc_receiver.js as a child process: a real gRPC server on
// 127.0.0.1 (@grpc/grpc-js) that decodes each Export with the OpenTelemetry project's
// generated protobuf code. A reader thread collects its JSON lines; tests wait on a condition
// variable for the n-th call (no sleeps). Kill() ends the process like a crash would.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace minion::exporters::testing {

class GrpcReceiverProcess {
 public:
  // Starts `node otlp_grpc_receiver.js args...`. On failure error() says why (node missing,
  // npm packages missing, script crashed) and port() is 0.
  explicit GrpcReceiverProcess(const std::vector<std::string>& args = {});
  ~GrpcReceiverProcess();
  GrpcReceiverProcess(const GrpcReceiverProcess&) = delete;
  GrpcReceiverProcess& operator=(const GrpcReceiverProcess&) = delete;

  int port() const { return port_; }
  const std::string& error() const { return error_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Waits until at least `n` calls were printed (or the process ended, or `limit` passed: a
  // guard against a hung test, not a timing assertion). Returns the calls seen so far.
  std::vector<nlohmann::json> WaitForCalls(
      std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(60));
  std::vector<nlohmann::json> Calls();

  // SIGKILL and reap; idempotent.
  void Kill();

 private:
  void ReadLoop(int fd);

  pid_t pid_ = -1;
  int port_ = 0;
  std::string error_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> calls_;  // guarded by mu_
  bool ended_ = false;                 // guarded by mu_
  bool have_port_ = false;             // guarded by mu_
};

// Path of a script in tests/interop/node (from MINION_SOURCE_DIR, else the compile-time root).
std::string NodeScript(const std::string& name);

}  // namespace minion::exporters::testing
