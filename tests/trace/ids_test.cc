#include "minion/trace/ids.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

namespace minion::trace {
namespace {

TEST(IdsTest, HexRoundTripIsLowerCase) {
  auto id = TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(id->IsValid());
  EXPECT_EQ(id->ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(id->bytes()[0], 0x4b);
  EXPECT_EQ(id->bytes()[15], 0x36);
}

TEST(IdsTest, RejectsUpperCaseWrongLengthAndNonHex) {
  EXPECT_FALSE(TraceId::FromHex("4BF92F3577B34DA6A3CE929D0E0E4736").has_value());
  EXPECT_FALSE(TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e473").has_value());
  EXPECT_FALSE(SpanId::FromHex("00f067aa0ba902bg").has_value());
  EXPECT_FALSE(SpanId::FromHex("").has_value());
}

TEST(IdsTest, AllZeroIsInvalid) {
  EXPECT_FALSE(TraceId().IsValid());
  EXPECT_FALSE(SpanId::FromHex("0000000000000000")->IsValid());
  // Any single non-zero byte, in either word, makes an id valid.
  for (std::size_t i = 0; i < 16; ++i) {
    TraceId id;
    id.mutable_bytes()[i] = 0x80;
    EXPECT_TRUE(id.IsValid()) << "byte " << i;
  }
}

// A forked child must not continue its parent's random stream (it would repeat the parent's
// ids: two processes, the same span ids).
TEST(IdsTest, ForkedChildDoesNotRepeatParentIds) {
  (void)DefaultIdGenerator().GenerateSpanId();  // this thread's stream exists before the fork
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const SpanId child = DefaultIdGenerator().GenerateSpanId();
    const bool ok = write(fds[1], child.data(), 8) == 8;
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  const SpanId parent = DefaultIdGenerator().GenerateSpanId();
  std::uint8_t bytes[8] = {};
  ASSERT_EQ(read(fds[0], bytes, 8), 8);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(SpanId(bytes), parent);
}

TEST(IdsTest, GeneratorNeverReturnsZeroAndDoesNotRepeatAcrossThreads) {
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::vector<SpanId>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ids[t].push_back(DefaultIdGenerator().GenerateSpanId());
        ASSERT_TRUE(DefaultIdGenerator().GenerateTraceId().IsValid());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<SpanId> all;
  for (auto& v : ids)
    for (auto& id : v) {
      EXPECT_TRUE(id.IsValid());
      all.insert(id);
    }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace minion::trace
