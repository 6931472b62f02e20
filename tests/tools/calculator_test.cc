#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "minion/tools/builtin.h"

namespace minion::tools {
namespace {

using ::testing::HasSubstr;

double Eval(std::string_view e) {
  auto r = EvaluateExpression(e);
  EXPECT_TRUE(r.ok()) << e << ": " << r.status().ToString();
  return r.ok() ? *r : std::nan("");
}

Status Err(std::string_view e) {
  auto r = EvaluateExpression(e);
  EXPECT_FALSE(r.ok()) << e << " evaluated to " << (r.ok() ? *r : 0);
  return r.status();
}

TEST(CalculatorTest, PrecedenceAndAssociativity) {
  EXPECT_EQ(Eval("1 + 2 * 3"), 7);
  EXPECT_EQ(Eval("(1 + 2) * 3"), 9);
  EXPECT_EQ(Eval("10 - 4 - 3"), 3);   // left-associative
  EXPECT_EQ(Eval("2 ^ 3 ^ 2"), 512);  // right-associative
  EXPECT_EQ(Eval("2 ** 10"), 1024);
  EXPECT_EQ(Eval("100 / 10 / 5"), 2);
  EXPECT_EQ(Eval("7 % 4"), 3);
  EXPECT_EQ(Eval("2 * 3 ** 2"), 18);
}

TEST(CalculatorTest, UnaryOperators) {
  EXPECT_EQ(Eval("-2 ^ 2"), -4);  // as in mathematics: -(2^2)
  EXPECT_EQ(Eval("(-2) ^ 2"), 4);
  EXPECT_EQ(Eval("2 ^ -1"), 0.5);
  EXPECT_EQ(Eval("--3"), 3);
  EXPECT_EQ(Eval("+-+3"), -3);
  EXPECT_EQ(Eval("4 - -2"), 6);
}

TEST(CalculatorTest, NumbersConstantsAndFunctions) {
  EXPECT_EQ(Eval("1.5e3"), 1500);
  EXPECT_EQ(Eval(".25 * 4"), 1);
  EXPECT_EQ(Eval("2E-2"), 0.02);
  EXPECT_DOUBLE_EQ(Eval("pi"), std::numbers::pi);
  EXPECT_DOUBLE_EQ(Eval("ln(e)"), 1);
  EXPECT_EQ(Eval("sqrt(16) + abs(-3)"), 7);
  EXPECT_EQ(Eval("max(1, 7, 3) - min(4, 2)"), 5);
  EXPECT_EQ(Eval("pow(2, 8)"), 256);
  EXPECT_EQ(Eval("round(2.5) + floor(-1.5) + ceil(1.2)"), 3 + -2 + 2);
  EXPECT_NEAR(Eval("sin(pi / 2)"), 1.0, 1e-12);
}

TEST(CalculatorTest, DivisionByZeroIsAnError) {
  EXPECT_THAT(Err("1 / 0").message(), HasSubstr("division by zero"));
  EXPECT_THAT(Err("1 / (2 - 2)").message(), HasSubstr("division by zero"));
  EXPECT_THAT(Err("5 % 0").message(), HasSubstr("modulo by zero"));
}

TEST(CalculatorTest, NonFiniteResultsAreErrors) {
  EXPECT_THAT(Err("10 ^ 400").message(), HasSubstr("not a finite number"));
  EXPECT_THAT(Err("1e308 * 10").message(), HasSubstr("not a finite number"));
  EXPECT_THAT(Err("exp(1000)").message(), HasSubstr("not a finite number"));
  EXPECT_THAT(Err("(-8) ^ 0.5").message(), HasSubstr("not a finite number"));
  EXPECT_THAT(Err("sqrt(-1)").message(), HasSubstr("out of domain"));
  EXPECT_THAT(Err("ln(0)").message(), HasSubstr("out of domain"));
  EXPECT_THAT(Err("1e999").message(), HasSubstr("not a finite number"));
}

TEST(CalculatorTest, MalformedInputSaysWhere) {
  EXPECT_EQ(Err("").code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Err("   ").message(), HasSubstr("empty"));
  EXPECT_THAT(Err("1 +").message(), HasSubstr("unexpected end"));
  EXPECT_THAT(Err("(1 + 2").message(), HasSubstr("expected ')'"));
  EXPECT_THAT(Err("1 + 2)").message(), HasSubstr("unexpected ')' at position 6"));
  EXPECT_THAT(Err("1..2").message(), HasSubstr("malformed number"));
  EXPECT_THAT(Err("2 3").message(), HasSubstr("unexpected '3'"));
  EXPECT_THAT(Err("x + 1").message(), HasSubstr("unknown name \"x\""));
  EXPECT_THAT(Err("system(1)").message(), HasSubstr("unknown function"));
  EXPECT_THAT(Err("sqrt(1, 2)").message(), HasSubstr("takes 1 argument"));
  EXPECT_THAT(Err("max()").message(), HasSubstr("at least one"));
  EXPECT_THAT(Err("1; 2").message(), HasSubstr("unexpected ';'"));
  EXPECT_THAT(Err("2e").message(), HasSubstr("unexpected 'e'"));
}

TEST(CalculatorTest, HostileNestingIsRejectedNotACrash) {
  EXPECT_THAT(Err(std::string(10000, '(') + "1" + std::string(10000, ')')).message(),
              HasSubstr("longer than"));
  EXPECT_THAT(Err(std::string(1000, '(') + "1" + std::string(1000, ')')).message(),
              HasSubstr("nested too deeply"));
  EXPECT_THAT(Err(std::string(1000, '-') + "1").message(), HasSubstr("nested too deeply"));
  std::string towers = "2";
  for (int i = 0; i < 200; ++i) towers += "^1";
  EXPECT_THAT(Err(towers).message(), HasSubstr("nested too deeply"));
  EXPECT_EQ(Eval(std::string(30, '(') + "1" + std::string(30, ')')), 1);
}

}  // namespace
}  // namespace minion::tools
