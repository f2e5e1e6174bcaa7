// Merging a drop-in file into the main one (config::merge_into).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/schema.hpp"
#include "common/config/toml_file.hpp"

namespace streamtrack {
namespace {

TEST(ConfigDropIns, MergeKeepsSourcePositions) {
  auto base = config::parse_toml_text("[a]\nx = 1\n", "main.toml");
  config::merge_into(base, config::parse_toml_text("\n[a]\ny = 2\n[[t]]\nk = 1\n", "d.toml"));
  const auto* y = base.at_path("a.y").node();
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(config::position_of(*y).file, "d.toml");
  EXPECT_EQ(config::position_of(*y).line, 3u);
  const auto* k = base.at_path("t[0].k").node();
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(config::position_of(*k).file, "d.toml");
  EXPECT_EQ(config::position_of(*k).line, 5u);
}

}  // namespace
}  // namespace streamtrack
