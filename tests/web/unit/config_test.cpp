#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "web/config/web_config.hpp"

namespace streamtrack::web {
namespace {

std::vector<std::string> errors(const std::string& text) {
  try {
    parse_web_config(text, "web.toml");
  } catch (const config::ConfigError& e) {
    return e.messages();
  }
  return {};
}

TEST(WebConfig, DefaultsAreTheDocumentedOnes) {
  const auto c = parse_web_config("[postgres]\ndsn = \"dbname=x\"\n", "web.toml");
  EXPECT_EQ(c.listen, "127.0.0.1:8090");
  EXPECT_EQ(c.ui_dir, "/usr/share/streamtrack/web");
  EXPECT_EQ(c.chartjs_dir, "/usr/share/javascript/chart.js");
  EXPECT_EQ(c.pool_max, 20);
  EXPECT_EQ(c.pool_idle, std::chrono::seconds(30));
  EXPECT_EQ(c.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.statement_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.keepalive, std::chrono::seconds(15));
  EXPECT_EQ(c.auth, AuthMode::none);
}

TEST(WebConfig, ErrorsNameFileLineColumnAndKey) {
  EXPECT_EQ(errors("[web]\nlisten = \"localhost:80\"\n[postgres]\ndsn = \"x\"\n"),
            (std::vector<std::string>{
                "web.toml:2:10: web: listen: expected an IP address (not a host name) like "
                "\"127.0.0.1:9464\", got \"localhost:80\""}));
  const auto missing = errors("[web]\n");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].find("postgres"), std::string::npos);
  const auto token = errors("[postgres]\ndsn = \"x\"\n[auth]\nmode = \"token\"\n");
  ASSERT_EQ(token.size(), 1u);
  EXPECT_EQ(token[0],
            "web.toml:4:8: auth: token_file: mode \"token\" needs token_file (or the "
            "credential \"web-token\")");
  const auto unused = errors("[postgres]\ndsn = \"x\"\n[auth]\ntoken_file = \"/x\"\n");
  ASSERT_FALSE(unused.empty());
}

TEST(WebConfig, TheShippedExampleValidates) {
  EXPECT_NO_THROW(load_web_config((streamtrack::testing::source_dir() / "conf/web.toml").string()));
}

}  // namespace
}  // namespace streamtrack::web
