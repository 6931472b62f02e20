// RedisStreamsProtocol against a real redis-server started by the test (free port, temporary
// directory, AOF on): the Protocol conformance suite, then what only a networked transport has
// (entries readable with XRANGE, reclaiming from a dead consumer, dead letters, passwords,
// a Redis that is down or restarts).
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "agents/protocol_conformance.h"
#include "minion/transports/redis_streams_protocol.h"
#include "transports/redis/redis_connection.h"
#include "transports/redis/redis_server.h"

namespace minion::transports {
namespace {

using agents::Message;
using agents::MessageType;
using agents::testing::Deliveries;
using agents::testing::ProtocolConformanceTest;
using agents::testing::ProtocolUnderTest;
using minion::testing::RedisServer;
using minion::testing::TracingRig;

RedisServer* g_server = nullptr;

class RedisEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    server_ = RedisServer::Start();
    ASSERT_NE(server_, nullptr) << "redis-server did not start";
    g_server = server_.get();
  }
  void TearDown() override {
    g_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<RedisServer> server_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new RedisEnvironment);

// Every protocol a test makes gets its own key namespace, so tests never see each other's keys.
std::string FreshNamespace() {
  static std::atomic<int> n{0};
  return "t" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

RedisStreamsOptions TestOptions(std::shared_ptr<trace::Tracer> tracer,
                                const std::string& ns = FreshNamespace(),
                                bool unix_socket = false) {
  RedisStreamsOptions o;
  o.endpoint = RedisEndpoint::Parse(unix_socket ? g_server->UnixUrl() : g_server->Url()).value();
  o.key_namespace = ns;
  o.reclaim_idle = std::chrono::milliseconds(1000);
  o.block = std::chrono::milliseconds(100);
  o.max_deliveries = 3;
  o.tracer = std::move(tracer);
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Transports, ProtocolConformanceTest,
    ::testing::Values(
        ProtocolUnderTest{
            "Redis",
            [](std::shared_ptr<trace::Tracer> tracer) -> std::unique_ptr<agents::Protocol> {
              auto p = RedisStreamsProtocol::Connect(TestOptions(std::move(tracer)));
              EXPECT_TRUE(p.ok()) << p.status().ToString();
              return p.ok() ? std::move(p).value() : nullptr;
            }},
        // The same server over its unix socket (unix:// endpoint).
        ProtocolUnderTest{
            "RedisUnixSocket",
            [](std::shared_ptr<trace::Tracer> tracer) -> std::unique_ptr<agents::Protocol> {
              auto p = RedisStreamsProtocol::Connect(
                  TestOptions(std::move(tracer), FreshNamespace(), /*unix_socket=*/true));
              EXPECT_TRUE(p.ok()) << p.status().ToString();
              return p.ok() ? std::move(p).value() : nullptr;
            }}),
    agents::testing::ProtocolName);

WorkerAdvert Advert(std::string id, std::string kind, std::vector<std::string> capabilities) {
  WorkerAdvert a;
  a.id = std::move(id);
  a.kind = std::move(kind);
  a.capabilities = std::move(capabilities);
  return a;
}

std::unique_ptr<redis::Connection> Raw(const std::string& url = "") {
  auto c = redis::Connection::Open(
      RedisEndpoint::Parse(url.empty() ? g_server->Url() : url).value(), std::chrono::seconds(2));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(RedisEndpointTest, ParsesUrlsAndNeverPrintsThePassword) {
  auto e = RedisEndpoint::Parse("redis://bob:s3cret@example.com:6380/2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "example.com");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 2);
  EXPECT_EQ(e->user, "bob");
  EXPECT_EQ(e->password, "s3cret");
  EXPECT_EQ(e->Describe().find("s3cret"), std::string::npos);
  auto only = RedisEndpoint::Parse("redis://:pw@127.0.0.1:7000");
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->password, "pw");
  EXPECT_EQ(only->db, 0);
  EXPECT_FALSE(RedisEndpoint::Parse("http://x:1").ok());
  EXPECT_FALSE(RedisEndpoint::Parse("redis://host:99999").ok());
  auto bad = RedisEndpoint::Parse("redis://u:topsecret@host:notaport");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("topsecret"), std::string::npos);
}

TEST(RedisEndpointTest, ParsesUnixSocketUrls) {
  auto e = RedisEndpoint::Parse("unix://bob:s3cret@/run/redis/redis.sock?db=3");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(e->db, 3);
  EXPECT_EQ(e->user, "bob");
  EXPECT_EQ(e->password, "s3cret");
  EXPECT_EQ(e->Describe(), "unix:///run/redis/redis.sock?db=3");
  auto plain = RedisEndpoint::Parse("unix:///tmp/r@1.sock");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->unix_path, "/tmp/r@1.sock") << "an '@' in the path is not userinfo";
  EXPECT_TRUE(plain->password.empty());
  EXPECT_EQ(plain->db, 0);
  EXPECT_FALSE(RedisEndpoint::Parse("unix://relative.sock").ok());
  EXPECT_FALSE(RedisEndpoint::Parse("unix:///tmp/r.sock?db=x").ok());
  EXPECT_FALSE(RedisEndpoint::Parse("unix:///tmp/r.sock?timeout=1").ok());
}

TEST(RedisEndpointTest, UnixSocketConnectsAndAMissingSocketIsUnavailable) {
  auto ok = redis::Connection::Open(RedisEndpoint::Parse(g_server->UnixUrl()).value(),
                                    std::chrono::seconds(2));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto pong = (*ok)->Command({"PING"});
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->str, "PONG");
  auto missing = redis::Connection::Open(
      RedisEndpoint::Parse("unix://:pw@" + g_server->dir() + "/no-such.sock").value(),
      std::chrono::seconds(2));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.status().message().find("no-such.sock"), std::string::npos);
}

TEST(RedisStreamsProtocolTest, EntriesAreReadableWithXrange) {
  TracingRig traces;
  auto p = RedisStreamsProtocol::Connect(TestOptions(traces.tracer)).value();
  // A subscriber whose handler never finishes keeps the entry in the stream to look at.
  agents::testing::Gate gate;
  std::promise<void> got;
  ASSERT_TRUE(p->Subscribe("reader", {}, [&](const trace::Context&, Message) {
                 got.set_value();
                 gate.Wait();
               }).ok());
  Message m;
  m.type = MessageType::kTask;
  m.from = "writer";
  m.to = "reader";
  m.content = {{"text", "hello"}};
  m.metadata["task_id"] = "t-1";
  auto [ctx, span] = observability::StartSpan(*traces.tracer, trace::Context(), "root",
                                              observability::Component::kMultiAgent);
  ASSERT_TRUE(p->Send(ctx, m).ok());
  span.End();
  ASSERT_EQ(got.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto raw = Raw();
  auto r = raw->Command({"XRANGE", p->StreamKey("reader"), "-", "+"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->elements.size(), 1u);
  std::map<std::string, std::string> fields;
  const auto& kv = r->elements[0].elements[1].elements;
  for (std::size_t i = 0; i + 1 < kv.size(); i += 2) fields[kv[i].str] = kv[i + 1].str;
  EXPECT_EQ(fields["type"], "task");
  EXPECT_EQ(fields["from"], "writer");
  EXPECT_EQ(fields["to"], "reader");
  EXPECT_EQ(fields.count("id"), 1u);
  EXPECT_EQ(fields["content"], R"({"text":"hello"})");
  EXPECT_EQ(fields["metadata"], R"({"task_id":"t-1"})");
  ASSERT_EQ(fields.count("traceparent"), 1u);
  EXPECT_NE(fields["traceparent"].find(ctx.span_context().trace_id().ToHex()), std::string::npos);
  gate.Open();
  ASSERT_TRUE(p->Shutdown(std::chrono::seconds(10)).ok());
  // Acknowledged entries are deleted: the stream holds no backlog.
  auto len = raw->Command({"XLEN", p->StreamKey("reader")});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 0);
  const auto spans = traces.Spans();
  auto sends = minion::testing::Named(spans, "protocol.send");
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(minion::testing::Str(*sends[0], "messaging.system"), "redis");
  EXPECT_EQ(minion::testing::Str(*sends[0], "messaging.destination.name"), p->StreamKey("reader"));
  EXPECT_EQ(minion::testing::Str(*sends[0], "messaging.operation.type"), "send");
  EXPECT_NE(minion::testing::Str(*sends[0], "messaging.message.id"), "<missing>");
}

// Two worker processes would compete through the capability's consumer group; here a raw
// consumer takes an entry and "dies" (never acknowledges), and the protocol's consumer reclaims
// it after the idle time, seeing delivery count 2.
TEST(RedisStreamsProtocolTest, EntryHeldByADeadConsumerIsReclaimed) {
  TracingRig traces;
  auto options = TestOptions(traces.tracer);
  auto p = RedisStreamsProtocol::Connect(options).value();
  ASSERT_TRUE(p->Advertise(Advert("w1", "coder", {"code_generation"})).ok());
  Deliveries d;
  ASSERT_TRUE(p->Subscribe("w1", {}, [&](const trace::Context&, Message m) { d.Add(m); }).ok());
  // w1 unsubscribes so the raw consumer below is the one that takes the entry and dies.
  auto raw = Raw();
  const std::string key = p->StreamKey(RedisStreamsProtocol::CapabilityAgentId("code_generation"));
  ASSERT_TRUE(p->Unsubscribe("w1").ok());  // nobody reads; the entry waits for the dead consumer
  Message m;
  m.type = MessageType::kTask;
  m.from = "orch";
  m.to = RedisStreamsProtocol::CapabilityAgentId("code_generation");
  m.content = {{"n", 1}};
  ASSERT_TRUE(p->Send(trace::Context(), m).ok());
  auto taken = raw->Command(
      {"XREADGROUP", "GROUP", options.group, "dead-consumer", "COUNT", "1", "STREAMS", key, ">"});
  ASSERT_TRUE(taken.ok());
  ASSERT_TRUE(taken->is_array() && !taken->elements.empty()) << "the dead consumer got nothing";
  ASSERT_TRUE(p->Subscribe("w1", {}, [&](const trace::Context&, Message m) { d.Add(m); }).ok());
  ASSERT_TRUE(d.WaitFor(1));
  auto seen = d.Seen();
  EXPECT_EQ(seen[0].content["n"], 1);
  EXPECT_EQ(seen[0].metadata["messaging.redis.message.delivery_count"], "2");
  EXPECT_EQ(seen[0].metadata["messaging.consumer.group.name"], options.group);
  ASSERT_TRUE(p->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(p->stats().redelivered, 1u);
  auto pending = raw->Command({"XPENDING", key, options.group});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].integer, 0) << "the reclaimed entry was acknowledged";
}

TEST(RedisStreamsProtocolTest, GarbageEntryIsDeadLetteredAfterMaxDeliveriesWithoutCrashing) {
  TracingRig traces;
  auto options = TestOptions(traces.tracer);
  auto p = RedisStreamsProtocol::Connect(options).value();
  ASSERT_TRUE(p->Advertise(Advert("w1", "coder", {"code_generation"})).ok());
  Deliveries d;
  ASSERT_TRUE(p->Subscribe("w1", {}, [&](const trace::Context&, Message m) { d.Add(m); }).ok());
  const std::string key = p->StreamKey(RedisStreamsProtocol::CapabilityAgentId("code_generation"));
  auto raw = Raw();
  ASSERT_TRUE(raw->Command({"XADD", key, "*", "garbage", "\xff\xfe not a message"}).ok());
  // A good message behind it still flows.
  Message m;
  m.type = MessageType::kTask;
  m.from = "orch";
  m.to = RedisStreamsProtocol::CapabilityAgentId("code_generation");
  m.content = {{"n", 2}};
  ASSERT_TRUE(p->Send(trace::Context(), m).ok());
  ASSERT_TRUE(d.WaitFor(1));
  // Dead-lettering needs max_deliveries (3) reclaims of about a second each: wait on the
  // observable state with a deadline (no event crosses from Redis).
  const std::string dead =
      p->DeadLetterKey(RedisStreamsProtocol::CapabilityAgentId("code_generation"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  long long dead_len = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto len = raw->Command({"XLEN", dead});
    ASSERT_TRUE(len.ok());
    dead_len = len->integer;
    if (dead_len > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(dead_len, 1);
  auto entry = raw->Command({"XRANGE", dead, "-", "+"});
  ASSERT_TRUE(entry.ok());
  std::map<std::string, std::string> fields;
  const auto& kv = entry->elements[0].elements[1].elements;
  for (std::size_t i = 0; i + 1 < kv.size(); i += 2) fields[kv[i].str] = kv[i + 1].str;
  EXPECT_EQ(fields["dead.stream"], key);
  EXPECT_EQ(fields["dead.deliveries"], "4");
  EXPECT_EQ(fields["garbage"], "\xff\xfe not a message");
  auto len = raw->Command({"XLEN", key});
  EXPECT_EQ(len->integer, 0);
  EXPECT_EQ(d.Seen().size(), 1u);
  ASSERT_TRUE(p->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(p->stats().dead_lettered, 1u);
  EXPECT_GE(p->stats().unparseable, 1u);
}

TEST(RedisStreamsProtocolTest, DeadLetteredTaskFailsItsSenderWithAClearError) {
  TracingRig traces;
  auto options = TestOptions(traces.tracer);
  options.max_deliveries = 1;
  auto p = RedisStreamsProtocol::Connect(options).value();
  std::promise<Message> reply;
  agents::SubscribeOptions ro;
  ro.types = {MessageType::kResult, MessageType::kError};
  ASSERT_TRUE(
      p->Subscribe("orch", ro, [&](const trace::Context&, Message m) { reply.set_value(m); }).ok());
  ASSERT_TRUE(p->Advertise(Advert("w1", "coder", {"code_generation"})).ok());
  ASSERT_TRUE(p->Subscribe("w1", {}, [&](const trace::Context&, Message) {}).ok());
  ASSERT_TRUE(p->Unsubscribe("w1").ok());
  Message m;
  m.type = MessageType::kTask;
  m.from = "orch";
  m.to = RedisStreamsProtocol::CapabilityAgentId("code_generation");
  m.content = {{"subtask_id", "s1"}, {"task_id", "t1"}};
  ASSERT_TRUE(p->Send(trace::Context(), m).ok());
  // A consumer takes it and dies; the next delivery would be the second: over the limit.
  auto raw = Raw();
  const std::string key = p->StreamKey(m.to);
  ASSERT_TRUE(raw->Command({"XREADGROUP", "GROUP", options.group, "dead", "COUNT", "1", "STREAMS",
                            key, ">"})
                  .ok());
  ASSERT_TRUE(p->Subscribe("w1", {}, [&](const trace::Context&, Message) {
                 ADD_FAILURE() << "handled a dead letter";
               }).ok());
  auto f = reply.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  Message r = f.get();
  EXPECT_EQ(r.type, MessageType::kError);
  EXPECT_EQ(r.content.value("subtask_id", ""), "s1");
  EXPECT_EQ(r.content.value("code", ""), "ABORTED");
  EXPECT_NE(r.content.value("error", "").find("dead-lettered"), std::string::npos)
      << r.content.dump();
  ASSERT_TRUE(p->Shutdown(std::chrono::seconds(10)).ok());
}

TEST(RedisStreamsProtocolTest, ListsLiveWorkersAndForgetsWithdrawnOnes) {
  TracingRig traces;
  auto p = RedisStreamsProtocol::Connect(TestOptions(traces.tracer)).value();
  ASSERT_TRUE(p->Advertise(Advert("w1", "coder", {"code_generation", "debugging"})).ok());
  ASSERT_TRUE(p->Advertise(Advert("w2", "writer", {"editing"})).ok());
  auto list = p->ListWorkers();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "w1");
  EXPECT_EQ((*list)[0].capabilities, (std::vector<std::string>{"code_generation", "debugging"}));
  EXPECT_EQ((*list)[0].pid, getpid());
  EXPECT_GT((*list)[0].last_heartbeat_ms, 0);
  ASSERT_TRUE(p->Withdraw("w2").ok());
  EXPECT_EQ(p->ListWorkers()->size(), 1u);
  ASSERT_TRUE(p->Shutdown(std::chrono::seconds(10)).ok());
}

TEST(RedisStreamsProtocolTest, RedisDownAtStartIsAClearErrorWithinFiveSeconds) {
  auto start = std::chrono::steady_clock::now();
  RedisStreamsOptions o;
  // A port nothing listens on: the one a stopped server had.
  auto s = RedisServer::Start();
  ASSERT_NE(s, nullptr);
  o.endpoint = RedisEndpoint::Parse(s->Url()).value();
  s->Stop();
  auto p = RedisStreamsProtocol::Connect(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(p.status().message().find("not reachable"), std::string::npos) << p.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::seconds(5) + std::chrono::seconds(2));
}

TEST(RedisStreamsProtocolTest, RequirePassAcceptsTheRightPasswordAndNamesTheWrongOne) {
  auto server = RedisServer::Start({.password = "correct horse"});
  ASSERT_NE(server, nullptr);
  RedisStreamsOptions o;
  o.endpoint = RedisEndpoint::Parse(server->Url()).value();
  auto good = RedisStreamsProtocol::Connect(o);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  Deliveries d;
  ASSERT_TRUE(
      (*good)->Subscribe("b", {}, [&](const trace::Context&, Message m) { d.Add(m); }).ok());
  Message m;
  m.from = "a";
  m.to = "b";
  ASSERT_TRUE((*good)->Send(trace::Context(), m).ok());
  ASSERT_TRUE(d.WaitFor(1));
  ASSERT_TRUE((*good)->Shutdown().ok());

  o.endpoint = RedisEndpoint::Parse(server->Url("wrong password")).value();
  auto bad = RedisStreamsProtocol::Connect(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kPermissionDenied) << bad.status().ToString();
  EXPECT_EQ(bad.status().message().find("wrong password"), std::string::npos);
  o.endpoint = RedisEndpoint::Parse(server->Url("")).value();
  auto none = RedisStreamsProtocol::Connect(o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kPermissionDenied) << none.status().ToString();
}

TEST(RedisStreamsProtocolTest, MessagesFlowAgainAfterRedisRestartsWithTheSameAof) {
  auto server = RedisServer::Start();
  ASSERT_NE(server, nullptr);
  TracingRig traces;
  RedisStreamsOptions o;
  o.endpoint = RedisEndpoint::Parse(server->Url()).value();
  o.block = std::chrono::milliseconds(100);
  o.reclaim_idle = std::chrono::milliseconds(1000);
  o.tracer = traces.tracer;
  auto p = RedisStreamsProtocol::Connect(o).value();
  Deliveries d;
  agents::testing::Gate gate;
  std::atomic<bool> first{true};
  ASSERT_TRUE(p->Subscribe("b", {}, [&](const trace::Context&, Message m) {
                 if (first.exchange(false)) gate.Wait();  // in flight while Redis restarts
                 d.Add(m);
               }).ok());
  Message m;
  m.from = "a";
  m.to = "b";
  m.content = 1;
  ASSERT_TRUE(p->Send(trace::Context(), m).ok());
  m.content = 2;
  ASSERT_TRUE(p->Send(trace::Context(), m).ok());  // waits in the stream (and the AOF)
  server->Kill();
  ASSERT_TRUE(server->Restart());
  gate.Open();
  m.content = 3;
  // The first send after the restart may meet a dead pooled connection; it reconnects once.
  Status s = p->Send(trace::Context(), m);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(d.WaitFor(3));
  std::set<int> got;
  for (const auto& x : d.Seen()) got.insert(x.content.get<int>());
  EXPECT_EQ(got, (std::set<int>{1, 2, 3}));
  ASSERT_TRUE(p->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_GE(p->stats().reconnects, 1u);
}

}  // namespace
}  // namespace minion::transports
