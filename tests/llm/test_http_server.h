#pragma once
// A small real HTTP/1.1 server for tests: listens on 127.0.0.1 port 0, answers each request
// from a handler on its own thread, one request per connection (Connection: close). It can
// also hold a request unanswered until Stop() (a "slow" server) without any sleep.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace minion::testing {

struct HttpRequest {
  std::string method;
  std::string target;                          // "/v1/chat/completions"
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Never answer; the connection stays open until Stop().
  bool hang = false;
};

class TestHttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  explicit TestHttpServer(Handler handler);
  ~TestHttpServer();  // Stop()
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  // Binds 127.0.0.1:0 and starts accepting. Returns false (with `error`) on failure.
  bool Start(std::string* error);
  void Stop();

  int port() const { return port_; }
  std::string url(const std::string& path = "") const;
  std::vector<HttpRequest> requests() const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;                 // guarded by mu_
  std::vector<std::thread> connections_;  // guarded by mu_
  std::vector<HttpRequest> requests_;     // guarded by mu_
};

}  // namespace minion::testing
