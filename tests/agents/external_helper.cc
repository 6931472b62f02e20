// A child process for the external-command worker tests. Reads all of stdin, then acts on
// argv[1]: "echo" writes {"input": <stdin JSON>, "traceparent": $TRACEPARENT, "extra": $EXTRA};
// "fail" writes to stderr and exits 3; "badjson" writes non-JSON; "hang" never exits;
// "flood" writes 10 MB of output.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "echo";
  if (mode == "hang") {
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
