// The recipe of ARCHITECTURE.md ("adding a platform"): each directory of agent/sources/ but the
// shared oauth/ is one registered type of that name, declared by its own source_type(), whose
// keys start with the shared declarations and whose example validates.

#include "agent/sources/registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "agent/config/agent_config.hpp"
#include "agent/sources/source_config.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

std::set<std::string> key_names(const config::TableSpec& spec) {
  std::set<std::string> out;
  for (const auto& k : spec.keys) out.insert(k.name);
  return out;
}

TEST(SourceRegistry, EachTypeDirectoryIsOneRegisteredTypeAndNothingElseIs) {
  const std::set<std::string> shared{"oauth"};
  std::set<std::string> directories;
  for (const auto& entry :
       std::filesystem::directory_iterator(source_dir() / "agent" / "sources")) {
    const auto name = entry.path().filename().string();
    if (entry.is_directory() && !shared.count(name)) directories.insert(name);
  }
  std::set<std::string> registered;
  for (const auto& type : agent::source_types()) {
    EXPECT_TRUE(registered.insert(std::string(type.type)).second) << type.type << " twice";
    EXPECT_EQ(agent::find_source_type(type.type), &type);
  }
  EXPECT_EQ(registered, directories);
}

TEST(SourceRegistry, EveryTypeDeclaresTheCommonKeysAndThePlatformsTheirSharedOnes) {
  const auto common = key_names(agent::sources::source_common_spec());
  const std::set<std::string> platforms{"twitch", "youtube", "kick"};
  for (const auto& type : agent::source_types()) {
    const auto keys = key_names(type.spec());
    for (const auto& key : common) EXPECT_TRUE(keys.count(key)) << type.type << ": " << key;
    if (platforms.count(std::string(type.type))) {
      EXPECT_TRUE(keys.count("channels")) << type.type;
      EXPECT_TRUE(keys.count("api_base_url")) << type.type;
    }
    if (keys.count("url")) {
      for (const auto& key : key_names(agent::sources::http_source_spec()))
        EXPECT_TRUE(keys.count(key)) << type.type << ": " << key;
    }
  }
}

// Every [[source]] entry `config example` shows, commented out or not, is a valid entry.
TEST(SourceRegistry, EveryExampleValidatesAndNamesItsType) {
  for (const auto& type : agent::source_types()) {
    SCOPED_TRACE(std::string(type.type));
    const std::string text = "[agent]\nid = \"a\"\n[[source]]\n" + type.example.toml;
    EXPECT_NO_THROW(agent::parse_agent_config(text, "agent.toml"));
    EXPECT_THAT(type.example.toml,
                ::testing::HasSubstr("type = \"" + std::string(type.type) + "\""));
  }
}

}  // namespace
}  // namespace streamtrack::testing
