// A child process for the external-command worker tests. Reads all of stdin, then acts on
// argv[1]: "echo" writes {"input": <stdin JSON>, "traceparent": $TRACEPARENT, "extra": $EXTRA};
// "fail" writes to stderr and exits 3; "badjson" writes non-JSON; "hang" never exits;
// "flood" writes 10 MB of output. "pidfifo <path>" writes its pid to the FIFO at <path> (so a
// test knows the child is up without sleeping) and then never exits; "pidfifo-ignore-term
// <path>" does the same after ignoring SIGTERM (only SIGKILL stops it). The never-exiting
// modes give up by themselves after 120 s (SIGALRM), so a broken kill path fails a test
// instead of leaking a process.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "echo";
  if (mode == "hang") {
    alarm(120);
    for (;;) pause();
  }
  if (mode == "pidfifo" || mode == "pidfifo-ignore-term") {
    if (argc < 3) return 2;
    if (mode == "pidfifo-ignore-term") signal(SIGTERM, SIG_IGN);
    alarm(120);
    int fd = open(argv[2], O_WRONLY);
    if (fd < 0) return 4;
    std::string pid = std::to_string(getpid()) + "\n";
    if (write(fd, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) return 5;
    close(fd);
    for (;;) pause();
  }
  std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (mode == "fail") {
    std::cerr << "helper failed on purpose";
    return 3;
  }
  if (mode == "badjson") {
    std::cout << "this is { not json";
    return 0;
  }
  if (mode == "flood") {
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 10; ++i) std::cout << chunk;
    return 0;
  }
  nlohmann::json out;
  out["input"] = nlohmann::json::parse(in, nullptr, false);
  const char* tp = std::getenv("TRACEPARENT");
  out["traceparent"] = tp ? tp : "";
  const char* extra = std::getenv("EXTRA");
  out["extra"] = extra ? extra : "";
  std::cout << out.dump();
  return 0;
}
