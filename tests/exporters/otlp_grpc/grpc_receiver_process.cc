#include "exporters/otlp_grpc/grpc_receiver_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

extern char** environ;

namespace minion::exporters::testing {

std::string NodeScript(const std::string& name) {
  const char* root = std::getenv("MINION_SOURCE_DIR");
  return std::string(root != nullptr ? root : MINION_TEST_SOURCE_DIR) + "/tests/interop/node/" +
         name;
}

GrpcReceiverProcess::GrpcReceiverProcess(const std::vector<std::string>& args) {
  int out[2];
  if (::pipe(out) != 0) {
    error_ = "pipe failed";
    return;
  }
  std::vector<std::string> argv_s = {"node", NodeScript("otlp_grpc_receiver.js")};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addclose(&fa, out[1]);
  const int rc = posix_spawnp(&pid_, "node", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    pid_ = -1;
    error_ = "cannot run node (is Node.js installed and on PATH?)";
    return;
  }
  reader_ = std::thread([this, fd = out[0]] { ReadLoop(fd); });
  std::unique_lock<std::mutex> lock(mu_);
  // Bounded so a broken node install fails the test instead of hanging it.
  cv_.wait_for(lock, std::chrono::seconds(60), [this] { return have_port_ || ended_; });
  if (!have_port_) {
    error_ =
        "otlp_grpc_receiver.js did not print its port (see its stderr above: missing npm "
        "packages? run npm ci in tests/interop/node)";
  }
}

GrpcReceiverProcess::~GrpcReceiverProcess() { Kill(); }

void GrpcReceiverProcess::ReadLoop(int fd) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      auto j = nlohmann::json::parse(buf.substr(0, nl), nullptr, /*allow_exceptions=*/false);
      buf.erase(0, nl + 1);
      std::lock_guard<std::mutex> lock(mu_);
      if (j.is_object() && j.contains("port") && !have_port_) {
        port_ = j["port"].get<int>();
        have_port_ = true;
      } else if (!j.is_discarded()) {
        calls_.push_back(std::move(j));
      }
      cv_.notify_all();
    }
  }
  ::close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

std::vector<nlohmann::json> GrpcReceiverProcess::WaitForCalls(std::size_t n,
                                                              std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, limit, [&] { return calls_.size() >= n || ended_; });
  return calls_;
}

std::vector<nlohmann::json> GrpcReceiverProcess::Calls() {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void GrpcReceiverProcess::Kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (reader_.joinable()) reader_.join();
}

}  // namespace minion::exporters::testing
