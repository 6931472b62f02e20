#include "exporters/jaeger/node_receiver.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace minion::exporters::testing {

NodeReceiver::NodeReceiver(const std::vector<std::string>& args) {
  const char* root = std::getenv("MINION_SOURCE_DIR");
  if (root == nullptr) {
    error_ = "MINION_SOURCE_DIR is not set (run the test through ctest)";
    return;
  }
  const std::string script = std::string(root) + "/tests/interop/node/jaeger_receiver.js";
  int in_pipe[2];
  int out_pipe[2];
  if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) {
    error_ = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  std::vector<std::string> argv_s = {"node", script};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    close(in_pipe[0]);
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(out_pipe[1]);
    execvp("node", argv.data());
    static const char kMsg[] = "jaeger test: cannot exec node (is Node.js installed?)\n";
    (void)!write(2, kMsg, sizeof(kMsg) - 1);  // only async-signal-safe calls after fork
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  stdin_fd_ = in_pipe[1];
  out_ = fdopen(out_pipe[0], "r");
  auto first = Next();
  if (!first || !first->contains("port")) {
    error_ =
        "jaeger_receiver.js did not report a port (is node installed, and are the npm "
        "packages in tests/interop/node/node_modules? see its stderr above)";
    return;
  }
  port_ = (*first)["port"].get<int>();
}

void NodeReceiver::Stop() {
  if (stdin_fd_ >= 0) close(stdin_fd_);  // the script exits when its stdin closes
  stdin_fd_ = -1;
}

NodeReceiver::~NodeReceiver() {
  Stop();
  if (pid_ > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (out_ != nullptr) std::fclose(out_);
}

std::optional<nlohmann::json> NodeReceiver::Next() {
  if (out_ == nullptr) return std::nullopt;
  char* line = nullptr;
  std::size_t cap = 0;
  const ssize_t n = getline(&line, &cap, out_);
  std::optional<nlohmann::json> result;
  if (n > 0)
    result = nlohmann::json::parse(std::string(line, static_cast<std::size_t>(n)), nullptr, false);
  std::free(line);
  if (result && result->is_discarded()) return std::nullopt;
  return result;
}

}  // namespace minion::exporters::testing
