#pragma once
// A private redis-server for tests: 127.0.0.1, a free port (and a unix socket in its
// directory), a temporary directory, AOF on.
// Stop() (or the destructor) terminates it and removes the directory; Kill() is kill -9;
// Restart() starts it again on the same port and directory (so it replays the same AOF).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace minion::testing {

struct RedisServerOptions {
  std::string password;  // non-empty: requirepass
  bool aof = true;
};

class RedisServer {
 public:
  using Options = RedisServerOptions;

  static std::unique_ptr<RedisServer> Start() { return Start(Options()); }
  // Null when redis-server could not be started.
  static std::unique_ptr<RedisServer> Start(Options options) {
    std::unique_ptr<RedisServer> s(new RedisServer(std::move(options)));
    char dir[] = "/tmp/minion-redis-XXXXXX";
    if (!mkdtemp(dir)) return nullptr;
    s->dir_ = dir;
    // A port the kernel just handed out and released; retried if another process takes it first.
    for (int attempt = 0; attempt < 5; ++attempt) {
      s->port_ = FreePort();
      if (s->port_ > 0 && s->Launch()) return s;
    }
    return nullptr;
  }

  ~RedisServer() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  // redis://[:password@]127.0.0.1:port/0
  std::string Url(const std::string& password_override = "-") const {
    std::string pw = password_override == "-" ? options_.password : password_override;
    return "redis://" + (pw.empty() ? "" : ":" + pw + "@") + "127.0.0.1:" + std::to_string(port_) +
           "/0";
  }

  // unix://[:password@]<dir>/redis.sock?db=0: the same server over its unix socket.
  std::string UnixUrl() const {
    const std::string& pw = options_.password;
    return "unix://" + (pw.empty() ? "" : ":" + pw + "@") + dir_ + "/redis.sock?db=0";
  }

  void Stop() { Signal(SIGTERM); }
  void Kill() { Signal(SIGKILL); }
  bool Restart() {
    Stop();
    return Launch();
  }

 private:
  explicit RedisServer(Options options) : options_(std::move(options)) {}

  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  void Signal(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool Launch() {
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_,
                                     "--appendonly",
                                     options_.aof ? "yes" : "no",
                                     "--appendfsync",
                                     "always",
                                     "--save",
                                     "",
                                     "--daemonize",
                                     "no",
                                     "--logfile",
                                     dir_ + "/redis.log",
                                     "--unixsocket",
                                     dir_ + "/redis.sock",
                                     "--unixsocketperm",
                                     "700"};
    if (!options_.password.empty()) {
      args.push_back("--requirepass");
      args.push_back(options_.password);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      execvp("redis-server", argv.data());
      _exit(127);
    }
    pid_ = pid;
    // Waiting for another process to accept connections: there is no event to wait on, so poll
    // with a deadline (and notice an early exit, e.g. the port was taken).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (Accepts()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Signal(SIGKILL);
    return false;
  }

  // True once the server answers (any reply to PING counts, NOAUTH included) and has loaded
  // its data (no LOADING reply).
  bool Accepts() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const char ping[] = "PING\r\n";
      if (write(fd, ping, sizeof ping - 1) == static_cast<ssize_t>(sizeof ping - 1)) {
        char buf[64] = {};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        ok = n > 0 &&
             std::string(buf, static_cast<std::size_t>(n)).find("LOADING") == std::string::npos;
      }
    }
    close(fd);
    return ok;
  }

  Options options_;
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

}  // namespace minion::testing
