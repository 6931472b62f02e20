#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <string>
#include <vector>

#include "minion/tools/builtin.h"

namespace minion::tools {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxExpressionLength = 4096;
constexpr int kMaxDepth = 64;

// Recursive descent over:
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/' | '%') unary)*
//   unary   := ('-' | '+') unary | power
//   power   := primary (('^' | '**') unary)?      right-associative; -2^2 is -(2^2)
//   primary := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<double> Parse() {
    double v = Expr();
    if (error_.empty()) {
      SkipSpace();
      if (pos_ < text_.size()) Fail("unexpected '" + std::string(1, text_[pos_]) + "'");
    }
    if (!error_.empty()) return InvalidArgumentError(error_);
    return v;
  }

 private:
  void Fail(const std::string& what) {
    if (error_.empty()) error_ = what + " at position " + std::to_string(pos_ + 1);
  }
  bool Failed() const { return !error_.empty(); }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Eat(std::string_view token) {
    SkipSpace();
    if (text_.substr(pos_, token.size()) == token) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  double Check(double v, const char* op) {
    if (!Failed() && !std::isfinite(v))
      Fail(std::string("result of ") + op + " is not a finite number");
    return v;
  }

  double Expr() {
    double v = Term();
    while (!Failed()) {
      if (Eat("+"))
        v = Check(v + Term(), "+");
      else if (Eat("-"))
        v = Check(v - Term(), "-");
      else
        break;
    }
    return v;
  }

  double Term() {
    double v = Unary();
    while (!Failed()) {
      SkipSpace();
      if (text_.substr(pos_, 2) == "**") break;  // power, handled below us
      if (Eat("*")) {
        v = Check(v * Unary(), "*");
      } else if (Eat("/")) {
        std::size_t at = pos_;
        double d = Unary();
        if (!Failed() && d == 0) {
          pos_ = at;
          Fail("division by zero");
        }
        v = Check(v / d, "/");
      } else if (Eat("%")) {
        std::size_t at = pos_;
        double d = Unary();
        if (!Failed() && d == 0) {
          pos_ = at;
          Fail("modulo by zero");
        }
        v = Check(std::fmod(v, d), "%");
      } else {
        break;
      }
    }
    return v;
  }

  double Unary() {
    if (++depth_ > kMaxDepth) {
      Fail("expression nested too deeply");
      return 0;
    }
    double v;
    if (Eat("-"))
      v = -Unary();
    else if (Eat("+"))
      v = Unary();
    else
      v = Power();
    --depth_;
    return v;
  }

  double Power() {
    double base = Primary();
    if (Failed()) return 0;
    if (Eat("**") || Eat("^")) {
      double exponent = Unary();
      return Check(std::pow(base, exponent), "^");
    }
    return base;
  }

  double Primary() {
    SkipSpace();
    if (pos_ >= text_.size()) {
      Fail("unexpected end of expression");
      return 0;
    }
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      if (++depth_ > kMaxDepth) {
        Fail("expression nested too deeply");
        return 0;
      }
      double v = Expr();
      --depth_;
      if (!Failed() && !Eat(")")) Fail("expected ')'");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return Number();
    if (std::isalpha(static_cast<unsigned char>(c))) return NameOrCall();
    Fail("unexpected '" + std::string(1, c) + "'");
    return 0;
  }

  double Number() {
    std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
      ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t mark = pos_++;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      } else {
        pos_ = mark;  // "2e" is 2 followed by the name e: leave it for the caller to reject
      }
    }
    std::string token(text_.substr(start, pos_ - start));
    if (std::count(token.begin(), token.end(), '.') > 1 || token == ".") {
      pos_ = start;
      Fail("malformed number \"" + token + "\"");
      return 0;
    }
    char* end = nullptr;
    double v = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size()) {
      pos_ = start;
      Fail("malformed number \"" + token + "\"");
      return 0;
    }
    return Check(v, "number literal");
  }

  double NameOrCall() {
    std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    std::string name(text_.substr(start, pos_ - start));
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      std::vector<double> args;
      if (!Eat(")")) {
        do {
          args.push_back(Expr());
          if (Failed()) return 0;
        } while (Eat(","));
        if (!Eat(")")) {
          Fail("expected ')' after the arguments of " + name);
          return 0;
        }
      }
      return Call(name, args, start);
    }
    if (name == "pi") return std::numbers::pi;
    if (name == "e") return std::numbers::e;
    pos_ = start;
    Fail("unknown name \"" + name + "\"");
    return 0;
  }

  double Call(const std::string& name, const std::vector<double>& a, std::size_t at) {
    auto want = [&](std::size_t n) {
      if (a.size() == n) return true;
      pos_ = at;
      Fail(name + " takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") + ", got " +
           std::to_string(a.size()));
      return false;
    };
    auto domain = [&](bool ok) {
      if (!ok) {
        pos_ = at;
        Fail(name + " argument out of domain");
      }
      return ok;
    };
    double v = 0;
    if (name == "sqrt") {
      if (!want(1) || !domain(a[0] >= 0)) return 0;
      v = std::sqrt(a[0]);
    } else if (name == "abs") {
      if (!want(1)) return 0;
      v = std::fabs(a[0]);
    } else if (name == "floor") {
      if (!want(1)) return 0;
      v = std::floor(a[0]);
    } else if (name == "ceil") {
      if (!want(1)) return 0;
      v = std::ceil(a[0]);
    } else if (name == "round") {
      if (!want(1)) return 0;
      v = std::round(a[0]);
    } else if (name == "exp") {
      if (!want(1)) return 0;
      v = std::exp(a[0]);
    } else if (name == "ln") {
      if (!want(1) || !domain(a[0] > 0)) return 0;
      v = std::log(a[0]);
    } else if (name == "log10") {
      if (!want(1) || !domain(a[0] > 0)) return 0;
      v = std::log10(a[0]);
    } else if (name == "sin") {
      if (!want(1)) return 0;
      v = std::sin(a[0]);
    } else if (name == "cos") {
      if (!want(1)) return 0;
      v = std::cos(a[0]);
    } else if (name == "tan") {
      if (!want(1)) return 0;
      v = std::tan(a[0]);
    } else if (name == "pow") {
      if (!want(2)) return 0;
      v = std::pow(a[0], a[1]);
    } else if (name == "min" || name == "max") {
      if (a.empty()) {
        pos_ = at;
        Fail(name + " needs at least one argument");
        return 0;
      }
      v = a[0];
      for (double x : a) v = name == "min" ? std::min(v, x) : std::max(v, x);
    } else {
      pos_ = at;
      Fail("unknown function \"" + name + "\"");
      return 0;
    }
    return Check(v, name.c_str());
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
};

class CalculatorTool final : public Tool {
 public:
  std::string Name() const override { return "calculator"; }
  std::string Description() const override {
    return "Evaluates an arithmetic expression: + - * / % ^, parentheses, pi, e, sqrt, abs, "
           "floor, ceil, round, exp, ln, log10, sin, cos, tan, pow, min, max.";
  }
  json InputSchema() const override {
    return {
        {"type", "object"},
        {"properties", {{"expression", {{"type", "string"}, {"description", "e.g. (2+3)*4^2"}}}}},
        {"required", {"expression"}},
        {"additionalProperties", false}};
  }
  Result<json> Invoke(const trace::Context&, const json& input) override {
    MINION_ASSIGN_OR_RETURN(double v, EvaluateExpression(input["expression"].get<std::string>()));
    return json{{"result", v}};
  }
};

}  // namespace

Result<double> EvaluateExpression(std::string_view expression) {
  if (expression.size() > kMaxExpressionLength) {
    return InvalidArgumentError("expression longer than " + std::to_string(kMaxExpressionLength) +
                                " characters");
  }
  bool blank = true;
  for (char c : expression) blank = blank && std::isspace(static_cast<unsigned char>(c));
  if (blank) return InvalidArgumentError("expression is empty");
  return Parser(expression).Parse();
}

std::shared_ptr<Tool> MakeCalculatorTool() { return std::make_shared<CalculatorTool>(); }

}  // namespace minion::tools
