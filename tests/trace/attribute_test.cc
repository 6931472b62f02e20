#include "minion/trace/attribute.h"

#include <gtest/gtest.h>

namespace minion::trace {
namespace {

TEST(AttributeListTest, StoresEveryTypeAndOverwritesSameKey) {
  AttributeList list;
  std::vector<std::int64_t> ints = {1, 2, 3};
  std::vector<std::string> strings = {"a", "b"};
  std::vector<bool> bools = {true, false};
  std::vector<double> doubles = {0.5};
  list.Set("s", "text");
  list.Set("i", 42);
  list.Set("d", 1.5);
  list.Set("b", true);
  list.Set("ia", ints);
  list.Set("sa", strings);
  list.Set("ba", bools);
  list.Set("da", doubles);
  EXPECT_EQ(list.size(), 8u);
  EXPECT_EQ(std::get<std::string>(*list.Find("s")), "text");
  EXPECT_EQ(std::get<std::int64_t>(*list.Find("i")), 42);
  EXPECT_EQ(std::get<double>(*list.Find("d")), 1.5);
  EXPECT_EQ(std::get<bool>(*list.Find("b")), true);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(*list.Find("ia")), ints);
  EXPECT_EQ(std::get<std::vector<std::string>>(*list.Find("sa")), strings);
  EXPECT_EQ(std::get<std::vector<bool>>(*list.Find("ba")), bools);
  list.Set("i", "now a string");
  EXPECT_EQ(list.size(), 8u);
  EXPECT_EQ(std::get<std::string>(*list.Find("i")), "now a string");
}

TEST(AttributeListTest, CStringIsAStringNotABool) {
  AttributeList list;
  list.Set("k", "v");
  EXPECT_EQ(TypeOf(*list.Find("k")), AttributeType::kString);
}

TEST(AttributeListTest, DropsAndCountsBeyondMaxCount) {
  AttributeList list;
  EXPECT_TRUE(list.Set("a", 1, 2));
  EXPECT_TRUE(list.Set("b", 2, 2));
  EXPECT_FALSE(list.Set("c", 3, 2));
  EXPECT_TRUE(list.Set("a", 5, 2));  // replacing an existing key is always allowed
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.dropped(), 1u);
}

TEST(AttributeListTest, TruncatesOnUtf8Boundary) {
  AttributeList list;
  // "héllo": h(1) é(2) l l o; a limit of 2 bytes must not split é.
  list.Set("k", "h\xc3\xa9llo", AttributeList::kUnlimited, 2);
  EXPECT_EQ(std::get<std::string>(*list.Find("k")), "h");
  std::vector<std::string> arr = {"abcdef"};
  list.Set("arr", arr, AttributeList::kUnlimited, 3);
  EXPECT_EQ(std::get<std::vector<std::string>>(*list.Find("arr"))[0], "abc");
}

TEST(AttributeListTest, EmptyKeyIsRejected) {
  AttributeList list;
  EXPECT_FALSE(list.Set("", 1));
  EXPECT_TRUE(list.empty());
}

TEST(AttributeListTest, ClearKeepsSlotsForReuse) {
  AttributeList list;
  list.Set("a.rather.long.key.that.does.not.fit.sso", "a value that is longer than sso too");
  const char* before = list.begin()->key.data();
  list.Clear();
  EXPECT_TRUE(list.empty());
  list.Set("a.rather.long.key.that.does.not.fit.sso", "another value longer than sso storage");
  EXPECT_EQ(list.begin()->key.data(), before);  // same buffer: no allocation
}

TEST(AttributeValueTest, ToStringRendersArrays) {
  AttributeValue v = std::vector<std::int64_t>{1, 2};
  EXPECT_EQ(AttributeValueToString(v), "[1, 2]");
  EXPECT_EQ(AttributeValueToString(AttributeValue(true)), "true");
}

}  // namespace
}  // namespace minion::trace
