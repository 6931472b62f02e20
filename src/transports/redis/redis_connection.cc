#include "redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace minion::transports::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

// Recursive on purpose: the nesting depth is fixed by the commands we send (at most four levels,
// XAUTOCLAIM's), never by message content, which arrives as flat strings.
Reply Copy(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(Copy(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
}

void ToArgv(const std::vector<std::string>& args, std::vector<const char*>* argv,
            std::vector<size_t>* lens) {
  argv->clear();
  lens->clear();
  for (const auto& a : args) {
    argv->push_back(a.data());
    lens->push_back(a.size());
  }
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const RedisEndpoint& endpoint,
                                                     std::chrono::milliseconds timeout) {
  const bool unix_socket = !endpoint.unix_path.empty();
  redisContext* c =
      unix_socket
          ? redisConnectUnixWithTimeout(endpoint.unix_path.c_str(), ToTimeval(timeout))
          : redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(timeout));
  if (!c)
    return UnavailableError("redis " + endpoint.Describe() + ": cannot allocate a connection");
  if (c->err) {
    std::string why = c->errstr;
    redisFree(c);
    return UnavailableError("redis " + endpoint.Describe() + " is not reachable: " + why);
  }
  std::unique_ptr<Connection> conn(new Connection(c));
  // TCP keep-alive (hiredis would fail setting TCP options on a unix socket).
  if (!unix_socket) redisEnableKeepAlive(c);
  conn->SetTimeout(timeout);
  if (!endpoint.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!endpoint.user.empty()) auth.push_back(endpoint.user);
    auth.push_back(endpoint.password);
    MINION_ASSIGN_OR_RETURN(Reply r, conn->Command(auth));
    if (r.is_error()) {
      // Redis's own text ("WRONGPASS invalid username-password pair ...") never echoes the secret.
      return Status(StatusCode::kPermissionDenied,
                    "redis " + endpoint.Describe() + " refused the credentials: " + r.str);
    }
  }
  if (endpoint.db != 0) {
    MINION_ASSIGN_OR_RETURN(Reply r, conn->Command({"SELECT", std::to_string(endpoint.db)}));
    if (r.is_error())
      return InvalidArgumentError("redis " + endpoint.Describe() + ": SELECT failed: " + r.str);
  }
  MINION_ASSIGN_OR_RETURN(Reply ping, conn->Command({"PING"}));
  if (ping.is_error()) {
    StatusCode code =
        ping.str.rfind("NOAUTH", 0) == 0 ? StatusCode::kPermissionDenied : StatusCode::kUnavailable;
    return Status(code, "redis " + endpoint.Describe() + ": " + ping.str);
  }
  return conn;
}

Connection::~Connection() { redisFree(context_); }

void Connection::SetTimeout(std::chrono::milliseconds timeout) {
  redisSetTimeout(context_, ToTimeval(timeout));
}

Status Connection::IoError(std::string_view what) {
  broken_ = true;
  return UnavailableError(std::string("redis connection lost during ") + std::string(what) + ": " +
                          (context_->err ? context_->errstr : "no reply"));
}

Result<Reply> Connection::Command(const std::vector<std::string>& args) {
  if (broken_) return UnavailableError("redis connection is broken");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  ToArgv(args, &argv, &lens);
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!r) return IoError(args.empty() ? "command" : args[0]);
  Reply out = Copy(r);
  freeReplyObject(r);
  return out;
}

Result<std::vector<Reply>> Connection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (broken_) return UnavailableError("redis connection is broken");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& args : commands) {
    ToArgv(args, &argv, &lens);
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      return IoError("pipeline");
    }
  }
  std::vector<Reply> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || !raw) return IoError("pipeline");
    out.push_back(Copy(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return out;
}

}  // namespace minion::transports::redis
