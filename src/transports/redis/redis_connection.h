#pragma once
// One synchronous connection to Redis (hiredis) and the replies it returns, copied out of
// hiredis's structures so callers never free anything. Not thread-safe: a connection belongs to
// one thread at a time (the protocol keeps a pool for short commands and one per blocking reader).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "minion/common/status.h"
#include "minion/transports/redis_streams_protocol.h"

struct redisContext;

namespace minion::transports::redis {

struct Reply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  bool is_array() const { return type == Type::kArray; }
};

class Connection {
 public:
  // Connects, authenticates and selects the database. Unavailable when Redis cannot be reached
  // within `timeout`; PermissionDenied for a wrong password (the message never contains it).
  static Result<std::unique_ptr<Connection>> Open(const RedisEndpoint& endpoint,
                                                  std::chrono::milliseconds timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one command. A Redis error reply is returned as a Reply of type kError (the caller
  // decides); a broken connection is Unavailable, after which broken() is true.
  Result<Reply> Command(const std::vector<std::string>& args);
  // Sends all commands, then reads all replies (one round trip).
  Result<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);
  // Read timeout for the following commands (a blocking XREADGROUP needs more than its BLOCK).
  void SetTimeout(std::chrono::milliseconds timeout);
  bool broken() const { return broken_; }

 private:
  explicit Connection(redisContext* context) : context_(context) {}
  Status IoError(std::string_view what);

  redisContext* context_;
  bool broken_ = false;
};

}  // namespace minion::transports::redis
