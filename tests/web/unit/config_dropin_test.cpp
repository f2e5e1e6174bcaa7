// Drop-in directories: web.d/*.toml merged after web.toml.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/harness.hpp"
#include "web/config/web_config.hpp"

namespace streamtrack {
namespace {

namespace fs = std::filesystem;

TEST(ConfigDropIns, WebReadsWebD) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "web.toml", "[postgres]\ndsn = \"host=127.0.0.1\"\n");
  fs::create_directory(dir / "web.d");
  testing::write_file(dir / "web.d" / "x.toml", "[postgres]\nbogus = 1\n");
  try {
    web::load_web_config((dir / "web.toml").string());
    ADD_FAILURE() << "web.d was not read";
  } catch (const config::ConfigError& e) {
    ASSERT_FALSE(e.messages().empty());
    EXPECT_THAT(e.messages()[0], ::testing::StartsWith((dir / "web.d" / "x.toml").string() +
                                                       ":2:1: postgres: bogus"));
  }
}

}  // namespace
}  // namespace streamtrack
