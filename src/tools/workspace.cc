#include <system_error>

#include "minion/tools/builtin.h"

namespace minion::tools {

Result<std::filesystem::path> TaskWorkspace(const std::filesystem::path& base,
                                            std::string_view task_id) {
  if (task_id.empty()) return InvalidArgumentError("task workspace: the task id is empty");
  std::string name;
  for (char c : task_id.substr(0, 100)) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    name.push_back(safe ? c : '_');
  }
  // "." and ".." are made only of safe characters but still name a directory other than a new one.
  if (name.find_first_not_of('.') == std::string::npos) name = "task" + name;
  const std::filesystem::path dir = base / name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("creating the task workspace " + dir.string() + ": " + ec.message());
  return dir;
}

}  // namespace minion::tools
