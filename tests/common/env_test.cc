#include "minion/common/env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace minion {
namespace {

TEST(EnvTest, EmptyIsUnset) {
  setenv("MINION_TEST_EMPTY", "", 1);
  EXPECT_FALSE(env::Get("MINION_TEST_EMPTY").has_value());
  unsetenv("MINION_TEST_EMPTY");
}

TEST(EnvTest, ParsesBooleansCaseInsensitively) {
  EXPECT_TRUE(*env::ParseBool("TRUE"));
  EXPECT_FALSE(*env::ParseBool(" false "));
  EXPECT_FALSE(env::ParseBool("maybe").ok());
}

TEST(EnvTest, InvalidIntegerFallsBack) {
  setenv("MINION_TEST_INT", "12x", 1);
  EXPECT_EQ(env::IntOr("MINION_TEST_INT", 7), 7);
  setenv("MINION_TEST_INT", "-3", 1);
  EXPECT_EQ(env::IntOr("MINION_TEST_INT", 7), 7);
  setenv("MINION_TEST_INT", "42", 1);
  EXPECT_EQ(env::IntOr("MINION_TEST_INT", 7), 42);
  unsetenv("MINION_TEST_INT");
}

}  // namespace
}  // namespace minion
