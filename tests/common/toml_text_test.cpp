// parse_toml_text on inputs that toml++ 3.3.0 (Debian bookworm) mishandles, worked around in
// common/config/toml_impl.cpp. Each aborted the test before under scripts/test's sanitizer pass
// (no NDEBUG: the assertions are live, UBSan traps __builtin_unreachable()); the Debian package's
// build (CMAKE_BUILD_TYPE None, no NDEBUG either) would have aborted on the headers and arrays.
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
  const auto not_a_key = [](const std::string& at, const std::string& saw) {
    return at +
           ": syntax error: Error while parsing key: expected bare key starting character or "
           "string delimiter, saw '" +
           saw + "'";
  };
  EXPECT_EQ(syntax_error_of("[=a]\n"), not_a_key("x.toml:1:2", "="));
  EXPECT_EQ(syntax_error_of("[a]\nk = 1\n[,]\n"), not_a_key("x.toml:3:2", ","));
  EXPECT_EQ(syntax_error_of("[ =a]\n"), not_a_key("x.toml:1:3", "="));
  EXPECT_EQ(syntax_error_of("[[=a]]\n"), not_a_key("x.toml:1:3", "="));
  EXPECT_EQ(syntax_error_of("[[[1]]]\n"), not_a_key("x.toml:1:3", "["));
  // The fuzzers' find: a control character where a section name starts (toml++ names it).
  EXPECT_THAT(syntax_error_of(std::string("[\x03ingest]\n")),
              ::testing::StartsWith("x.toml:1:2: syntax error: Error while parsing key: expected "
                                    "bare key starting character or string delimiter, saw "));
}

// The same kind of defect in parse_array(): it calls parse_value() on a character that cannot
// start a value, which asserts that it can (toml++'s parser.inl, parse_value()) and otherwise
// reports "could not determine value type".
TEST(TomlText, ArrayElementThatCannotStartAValueIsASyntaxErrorThere) {
  const auto no_value = [](const std::string& at) {
    return at + ": syntax error: Error while parsing value: could not determine value type";
  };
  EXPECT_EQ(syntax_error_of("a = [}]\n"), no_value("x.toml:1:6"));
  EXPECT_EQ(syntax_error_of("a = [1,}]\n"), no_value("x.toml:1:8"));
  EXPECT_EQ(syntax_error_of("a = {b=[}]}\n"), no_value("x.toml:1:9"));
  EXPECT_EQ(syntax_error_of("a = [\u2028]\n"), no_value("x.toml:1:6"));
}

// toml++ 3.3.0's is_non_ascii_horizontal_whitespace() reaches __builtin_unreachable() for most
// code points that are not whitespace (marzer/tomlplusplus#190, #295): valid TOML whose
// line-ending backslash is followed by such a character, and invalid TOML with one where
// whitespace may stand. Each is parsed (or refused) like any other character.
TEST(TomlText, NonAsciiCharacterWhereWhitespaceMayStandIsNotWhitespace) {
  const auto table = config::parse_toml_text("s = \"\"\"\\\n\u00a7x\"\"\"\n", "x.toml");
  EXPECT_EQ(table["s"].value_or(std::string()), "\u00a7x");
  EXPECT_EQ(syntax_error_of("a = 1 \u00e9\n"),
            "x.toml:1:7: syntax error: Error while parsing key-value pair: expected a comment or "
            "whitespace, saw '\u00e9'");
  EXPECT_EQ(syntax_error_of("\u00e9 = 1\n"),
            "x.toml:1:1: syntax error: Error while parsing root table: expected keys, tables, "
            "whitespace or comments, saw '\u00e9'");
  EXPECT_EQ(syntax_error_of("[a]\n\u3001\n"),
            "x.toml:2:1: syntax error: Error while parsing root table: expected keys, tables, "
            "whitespace or comments, saw '\u3001'");
}

}  // namespace
}  // namespace streamtrack
