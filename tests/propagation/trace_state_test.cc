#include "minion/trace/trace_state.h"

#include <gtest/gtest.h>

#include <string>

namespace minion::trace {
namespace {

std::string Members(int n, const char* prefix = "k") {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ",";
    s += prefix + std::to_string(i) + "=v" + std::to_string(i);
  }
  return s;
}

TEST(TraceStateTest, ParsesAndSerializesInOrder) {
  auto ts = TraceState::FromHeader("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  ASSERT_TRUE(ts.has_value());
  ASSERT_EQ(ts->size(), 2u);
  EXPECT_EQ(ts->entries()[0].first, "rojo");
  EXPECT_EQ(ts->Get("congo"), "t61rcWkgMzE");
  EXPECT_EQ(ts->Get("missing"), std::nullopt);
  EXPECT_EQ(ts->ToHeader(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

TEST(TraceStateTest, OwsAndEmptyMembersAreAllowed) {
  auto ts = TraceState::FromHeader(" \t a=1 ,\t,  , b=2\t");
  ASSERT_TRUE(ts.has_value());
  EXPECT_EQ(ts->ToHeader(), "a=1,b=2");
  auto empty = TraceState::FromHeader("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  EXPECT_TRUE(TraceState::FromHeader(" , ,").has_value());
}

TEST(TraceStateTest, DuplicateKeysInvalidateHeader) {
  EXPECT_FALSE(TraceState::FromHeader("a=1,b=2,a=3").has_value());
  EXPECT_TRUE(TraceState::FromHeader("a=1,b=2,a@x=3").has_value());
}

TEST(TraceStateTest, ThirtyTwoMembersAllowedThirtyThreeNot) {
  auto ok = TraceState::FromHeader(Members(32));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->size(), 32u);
  EXPECT_EQ(ok->ToHeader(), Members(32));
  EXPECT_FALSE(TraceState::FromHeader(Members(33)).has_value());
}

TEST(TraceStateTest, SimpleKeyGrammar) {
  EXPECT_TRUE(TraceState::IsValidKey("a"));
  EXPECT_TRUE(TraceState::IsValidKey("a0_-*/z"));
  EXPECT_TRUE(TraceState::IsValidKey(std::string(256, 'a')));
  EXPECT_FALSE(TraceState::IsValidKey(std::string(257, 'a')));
  EXPECT_FALSE(TraceState::IsValidKey(""));
  EXPECT_FALSE(TraceState::IsValidKey("0abc"));  // must start with lcalpha unless multi-tenant
  EXPECT_FALSE(TraceState::IsValidKey("Abc"));
  EXPECT_FALSE(TraceState::IsValidKey("aBc"));
  EXPECT_FALSE(TraceState::IsValidKey("a.b"));
  EXPECT_FALSE(TraceState::IsValidKey("a b"));
  EXPECT_FALSE(TraceState::IsValidKey("a=b"));
  EXPECT_FALSE(TraceState::IsValidKey("_a"));
}

TEST(TraceStateTest, MultiTenantKeyGrammar) {
  EXPECT_TRUE(TraceState::IsValidKey("tenant@system"));
  EXPECT_TRUE(TraceState::IsValidKey("0tenant@sys"));  // tenant may start with a digit
  EXPECT_TRUE(TraceState::IsValidKey(std::string(241, 't') + "@" + std::string(14, 's')));
  EXPECT_FALSE(TraceState::IsValidKey(std::string(242, 't') + "@s"));
  EXPECT_FALSE(TraceState::IsValidKey("t@" + std::string(15, 's')));
  EXPECT_FALSE(TraceState::IsValidKey("@system"));
  EXPECT_FALSE(TraceState::IsValidKey("tenant@"));
  EXPECT_FALSE(TraceState::IsValidKey("tenant@0sys"));  // system must start with lcalpha
  EXPECT_FALSE(TraceState::IsValidKey("a@b@c"));
  EXPECT_FALSE(TraceState::IsValidKey("Tenant@sys"));
  EXPECT_FALSE(TraceState::IsValidKey("_t@sys"));
}

TEST(TraceStateTest, ValueGrammar) {
  EXPECT_TRUE(TraceState::IsValidValue("x"));
  EXPECT_TRUE(TraceState::IsValidValue(" leading-space-ok"));
  EXPECT_TRUE(TraceState::IsValidValue("in ner"));
  EXPECT_TRUE(TraceState::IsValidValue("!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~"));
  EXPECT_TRUE(TraceState::IsValidValue(std::string(256, 'v')));
  EXPECT_FALSE(TraceState::IsValidValue(std::string(257, 'v')));
  EXPECT_FALSE(TraceState::IsValidValue(""));
  EXPECT_FALSE(TraceState::IsValidValue("trailing "));
  EXPECT_FALSE(TraceState::IsValidValue("a,b"));
  EXPECT_FALSE(TraceState::IsValidValue("a=b"));
  EXPECT_FALSE(TraceState::IsValidValue("tab\there"));
  EXPECT_FALSE(TraceState::IsValidValue("\x7f"));
  EXPECT_FALSE(TraceState::IsValidValue("caf\xc3\xa9"));
}

TEST(TraceStateTest, InvalidMembersInvalidateHeader) {
  EXPECT_FALSE(TraceState::FromHeader("a=1,novalue").has_value());
  EXPECT_FALSE(TraceState::FromHeader("a=").has_value());
  EXPECT_FALSE(TraceState::FromHeader("=1").has_value());
  EXPECT_FALSE(TraceState::FromHeader("a = 1").has_value());
  EXPECT_FALSE(TraceState::FromHeader("A=1").has_value());
  EXPECT_FALSE(TraceState::FromHeader("a=1=2").has_value());
  EXPECT_TRUE(TraceState::FromHeader("a= 1").has_value());  // value may start with a space
}

// Cases named after the W3C trace-context test suite (test/test.py).
TEST(TraceStateTest, W3CSuiteIllegalVendorFormatsAndValues) {
  for (const char* bad :
       {"foo@=1,bar=2", "@foo=1,bar=2", "foo@@bar=1,bar=2", "foo@bar@baz=1,bar=2", "foo=bar=baz",
        "foo=,bar=3", "foo=1,bar=2,foo=3", "foo\x01=1", "foo=\x7f"}) {
    EXPECT_FALSE(TraceState::FromHeader(bad).has_value()) << bad;
  }
  for (const char* good : {"foo=1", "foo=1,bar=2", "foo@bar=1", "1foo@bar=1", "foo=1 ,  bar=2"}) {
    EXPECT_TRUE(TraceState::FromHeader(good).has_value()) << good;
  }
}

TEST(TraceStateTest, SetMovesKeyToFrontAndDropsRightmostBeyond32) {
  auto ts = *TraceState::FromHeader("a=1,b=2,c=3");
  auto updated = ts.Set("b", "9");
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->ToHeader(), "b=9,a=1,c=3");
  EXPECT_EQ(ts.ToHeader(), "a=1,b=2,c=3");  // immutable

  auto full = *TraceState::FromHeader(Members(32));
  auto added = full.Set("new", "x");
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->size(), 32u);
  EXPECT_EQ(added->entries().front().first, "new");
  EXPECT_EQ(added->Get("k31"), std::nullopt);
  EXPECT_EQ(added->Get("k30"), "v30");

  EXPECT_FALSE(ts.Set("Bad", "1").has_value());
  EXPECT_FALSE(ts.Set("ok", "bad,value").has_value());
}

TEST(TraceStateTest, DeleteRemovesOnlyThatKey) {
  auto ts = *TraceState::FromHeader("a=1,b=2,c=3");
  EXPECT_EQ(ts.Delete("b").ToHeader(), "a=1,c=3");
  EXPECT_EQ(ts.Delete("zz").ToHeader(), "a=1,b=2,c=3");
}

}  // namespace
}  // namespace minion::trace
