// parse_toml_text on inputs that toml++ 3.3.0 (Debian bookworm) mishandles, worked around in
// common/config/toml_impl.cpp. Under scripts/test's sanitizer pass each aborted the test before.
//
// A table header whose first character cannot start a key: toml++ enters parse_key() without
// checking it and asserts it there (marzer/tomlplusplus#301); an assertion-enabled build aborted
// on such a config, and an NDEBUG clang build compiled the check as an assumption. Each must be
// an ordinary syntax error at the offending character.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config/schema.hpp"
#include "common/config/toml_file.hpp"

namespace streamtrack {
namespace {

std::string syntax_error_of(const std::string& text) {
  try {
    config::parse_toml_text(text, "x.toml");
  } catch (const config::ConfigError& e) {
    return e.messages().empty() ? std::string("(no message)") : e.messages().front();
  }
  return "(parsed)";
}

TEST(TomlText, TableHeaderWhoseFirstCharacterCannotStartAKeyIsASyntaxErrorThere) {
  using ::testing::StartsWith;
  EXPECT_THAT(syntax_error_of("[=a]\n"), StartsWith("x.toml:1:2: syntax error: "));
  EXPECT_THAT(syntax_error_of("[a]\nk = 1\n[,]\n"), StartsWith("x.toml:3:2: syntax error: "));
  EXPECT_THAT(syntax_error_of("[ =a]\n"), StartsWith("x.toml:1:3: syntax error: "));
  EXPECT_THAT(syntax_error_of("[[=a]]\n"), StartsWith("x.toml:1:3: syntax error: "));
  EXPECT_THAT(syntax_error_of("[[[1]]]\n"), StartsWith("x.toml:1:3: syntax error: "));
  // The fuzzers' find: a control character where a section name starts.
  EXPECT_THAT(syntax_error_of(std::string("[\x03ingest]\n")),
              StartsWith("x.toml:1:2: syntax error: "));
}

// toml++ 3.3.0's is_non_ascii_horizontal_whitespace() reaches __builtin_unreachable() for most
// code points that are not whitespace (marzer/tomlplusplus#190, #295): valid TOML whose
// line-ending backslash is followed by such a character, and invalid TOML with one where
// whitespace may stand. Each is parsed (or refused) like any other character.
TEST(TomlText, NonAsciiCharacterWhereWhitespaceMayStandIsNotWhitespace) {
  const auto table = config::parse_toml_text("s = \"\"\"\\\n\u00a7x\"\"\"\n", "x.toml");
  EXPECT_EQ(table["s"].value_or(std::string()), "\u00a7x");
  EXPECT_THAT(syntax_error_of("a = 1 \u00e9\n"),
              ::testing::StartsWith("x.toml:1:7: syntax error: "));
  EXPECT_THAT(syntax_error_of("\u00e9 = 1\n"), ::testing::StartsWith("x.toml:1:1: syntax error: "));
  EXPECT_THAT(syntax_error_of("[a]\n\u3001\n"),
              ::testing::StartsWith("x.toml:2:1: syntax error: "));
}

}  // namespace
}  // namespace streamtrack
