// Fuzz target: the body of POST /v1/tasks, exactly as the task API parses it (any client that
// reaches the port sends it). An accepted request is serialised again the way the API echoes
// it: name and input are not trusted to be UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "minion/common/json.h"
#include "service/task_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto request = minion::service::ParseTaskRequest(body, 64);
  if (!request.ok()) {
    (void)minion::DumpJson(nlohmann::json{{"error", request.status().message()}});
    return 0;
  }
  nlohmann::json echo = {{"name", request->name},
                         {"type", request->type},
                         {"description", request->description},
                         {"priority", request->priority},
                         {"input", request->input}};
  (void)minion::DumpJson(echo);
  if (request->priority < 1 || request->priority > 10 || request->name.empty()) __builtin_trap();
  return 0;
}
