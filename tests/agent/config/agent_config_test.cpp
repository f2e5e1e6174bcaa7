// agent.toml: its schema, defaults, secrets and the messages that name each problem.

#include "agent/config/agent_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>

#include "tests/support/harness.hpp"

namespace streamtrack {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

const char* k_minimal_agent = R"(
[agent]
id = "rig-1"
state_dir = "/tmp/st"

[[source]]
type = "nginx_rtmp"
name = "rtmp"
url = "http://127.0.0.1:8080/stat"
interval = "10s"
)";

// Every message the config produces, or {"OK"}.
std::vector<std::string> agent_errors(const std::string& text) {
  try {
    agent::parse_agent_config(text, "agent.toml");
    return {"OK"};
  } catch (const config::ConfigError& e) {
    return e.messages();
  }
}

TEST(AgentConfig, MinimalConfigGetsDocumentedDefaults) {
  const auto c = agent::parse_agent_config(k_minimal_agent, "agent.toml");
  EXPECT_EQ(c.id, "rig-1");
  EXPECT_EQ(c.state_dir, "/tmp/st");
  EXPECT_EQ(c.mqtt.url, "mqtt://127.0.0.1:1883");
  EXPECT_EQ(c.mqtt.host, "127.0.0.1");
  EXPECT_EQ(c.mqtt.port, 1883);
  EXPECT_FALSE(c.mqtt.tls);
  EXPECT_EQ(c.mqtt.topic_prefix, "streamtrack/v1");
  EXPECT_EQ(c.mqtt.keepalive, 30s);
  EXPECT_EQ(c.max_inflight, 256);
  EXPECT_EQ(c.delivery, agent::Delivery::committed);
  EXPECT_EQ(c.buffer_policy, agent::DropPolicy::drop_oldest);
  EXPECT_EQ(c.http_listen, "127.0.0.1:9464");
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_EQ(c.sources[0].type, "nginx_rtmp");
  EXPECT_EQ(c.sources[0].name, "rtmp");
  EXPECT_EQ(c.sources[0].interval, 10s);
  EXPECT_EQ(c.sources[0].timeout, 10s);
  EXPECT_EQ(c.sources[0].section.string("url"), "http://127.0.0.1:8080/stat");
  EXPECT_TRUE(c.sources[0].section.strings("streams").empty());
}

TEST(AgentConfig, MqttsUrlWithPortAndIdDefaultsToHostName) {
  const auto c = agent::parse_agent_config(std::string(R"(
[mqtt]
url = "mqtts://broker.example:8884"
delivery = "broker"
)") + strstr(k_minimal_agent, "[[source]]"),
                                           "agent.toml");
  EXPECT_TRUE(c.mqtt.tls);
  EXPECT_EQ(c.mqtt.host, "broker.example");
  EXPECT_EQ(c.mqtt.port, 8884);
  EXPECT_EQ(c.delivery, agent::Delivery::broker);
  EXPECT_FALSE(c.id.empty());
}

TEST(AgentConfig, TypoedKeyNamesFileLineColumnAndKey) {
  EXPECT_THAT(agent_errors("[mqtt]\nurll = \"mqtt://x\"\n" +
                           std::string(strstr(k_minimal_agent, "[[source]]"))),
              ElementsAre("agent.toml:2:1: mqtt: urll: unknown key (did you mean \"url\"?)"));
  EXPECT_THAT(agent_errors(std::string(k_minimal_agent) + "colour = \"blue\"\n"),
              ElementsAre("agent.toml:11:1: source \"rtmp\": colour: unknown key"));
  EXPECT_THAT(agent_errors("[mqt]\nurl = \"mqtt://x\"\n" +
                           std::string(strstr(k_minimal_agent, "[[source]]"))),
              ElementsAre("agent.toml:1:2: mqt: unknown key (did you mean \"mqtt\"?)"));
}

TEST(AgentConfig, WrongTypesAndValues) {
  const std::string sources = strstr(k_minimal_agent, "[[source]]");
  EXPECT_THAT(
      agent_errors("[mqtt]\nkeepalive = 30\n" + sources),
      ElementsAre(
          "agent.toml:2:13: mqtt: keepalive: expected a duration like \"10s\", got integer"));
  EXPECT_THAT(
      agent_errors("[mqtt]\nkeepalive = \"fast\"\n" + sources),
      ElementsAre(
          "agent.toml:2:13: mqtt: keepalive: expected a duration like \"10s\", got \"fast\""));
  EXPECT_THAT(agent_errors("[buffer]\npolicy = \"drop_all\"\n" + sources),
              ElementsAre("agent.toml:2:10: buffer: policy: expected one of \"drop_oldest\", "
                          "\"drop_newest\", got \"drop_all\""));
  EXPECT_THAT(agent_errors("[buffer]\nmax_rows = 0\n" + sources),
              ElementsAre("agent.toml:2:12: buffer: max_rows: must be at least 1, got 0"));
  EXPECT_THAT(
      agent_errors("[mqtt]\nmax_inflight = \"many\"\n" + sources),
      ElementsAre("agent.toml:2:16: mqtt: max_inflight: expected an integer, got \"many\""));
  EXPECT_THAT(agent_errors("[agent]\nid = \"alerts\"\n" + sources),
              ElementsAre("agent.toml:2:6: agent: id: \"alerts\" is reserved (it is the "
                          "collector's alert topic)"));
}

TEST(AgentConfig, MqttUrlAndTopicPrefixAreChecked) {
  const std::string sources = strstr(k_minimal_agent, "[[source]]");
  EXPECT_THAT(agent_errors("[mqtt]\nurl = \"http://x\"\n" + sources),
              ElementsAre("agent.toml:2:7: mqtt: url: expected mqtt://host[:port] or "
                          "mqtts://host[:port], got \"http://x\""));
  EXPECT_THAT(agent_errors("[mqtt]\nurl = \"mqtt://x:99999\"\n" + sources),
              ElementsAre("agent.toml:2:7: mqtt: url: invalid port, got \"mqtt://x:99999\""));
  EXPECT_THAT(agent_errors("[mqtt]\nurl = \"mqtt://:1883\"\n" + sources),
              ElementsAre("agent.toml:2:7: mqtt: url: invalid host, got \"mqtt://:1883\""));
  EXPECT_THAT(agent_errors("[mqtt]\ntopic_prefix = \"a/#\"\n" + sources),
              ElementsAre("agent.toml:2:16: mqtt: topic_prefix: must not contain the wildcards "
                          "'+' or '#'"));
  EXPECT_THAT(agent_errors("[mqtt]\nca_file = \"/ca.pem\"\n" + sources),
              ElementsAre("agent.toml:2:11: mqtt: ca_file: only applies to mqtts:// URLs"));
}

TEST(AgentConfig, SourceProblems) {
  EXPECT_THAT(agent_errors("[[source]]\ntype = \"nginx_rtmp\"\nname = \"a\"\nurl = \"http://x\"\n"),
              ElementsAre("agent.toml:1:1: source \"a\": interval: required key is missing"));
  EXPECT_THAT(
      agent_errors("[[source]]\ntype = \"nginx_rtmp\"\nname = \"a\"\nurl = \"http://x\"\ninterval "
                   "= \"10ms\"\n"),
      ElementsAre("agent.toml:5:12: source \"a\": interval: must be at least 100ms, got \"10ms\""));
  EXPECT_THAT(
      agent_errors("[[source]]\ntype = \"ustream\"\nname = \"a\"\n"),
      ElementsAre("agent.toml:2:8: source \"a\": type: unknown source type \"ustream\" (known: "
                  "nginx_rtmp, owncast, mediamtx, srs, icecast, http_json, twitch, youtube, kick, "
                  "synthetic)"));
  EXPECT_THAT(agent_errors("[[source]]\nname = \"a\"\n"),
              ElementsAre("agent.toml:1:1: source \"a\": type: required key is missing"));
  EXPECT_THAT(agent_errors("[[source]]\ntype = \"srs\"\nurl = \"http://x\"\ninterval = \"1s\"\n"),
              ElementsAre("agent.toml:1:1: source #1: name: required key is missing"));
  EXPECT_THAT(agent_errors(std::string(k_minimal_agent) + strstr(k_minimal_agent, "[[source]]")),
              ElementsAre("agent.toml:13:8: source \"rtmp\": name: another source already has the "
                          "name \"rtmp\""));
  EXPECT_THAT(agent_errors("[agent]\nid = \"x\"\n"),
              ElementsAre("agent.toml:1:1: source: at least one [[source]] is required"));
}

TEST(AgentConfig, NestedTablesReportTheirPath) {
  const std::string text = R"([[source]]
type = "http_json"
name = "studio"
url = "http://127.0.0.1:8000/status.json"
interval = "5s"
[source.fields]
vieweers = "/stats/viewers"
)";
  EXPECT_THAT(
      agent_errors(text),
      ElementsAre("agent.toml:7:1: source \"studio\".fields: vieweers: unknown key (did you "
                  "mean \"viewers\"?)",
                  "agent.toml:6:1: source \"studio\".fields: live: required key is missing"));
}

TEST(AgentConfig, ReportsEveryErrorAtOnce) {
  EXPECT_THAT(
      agent_errors(
          "[buffer]\nmax_rows = 0\npolicy = \"x\"\n[[source]]\ntype = \"srs\"\nname = \"s\"\n"),
      ElementsAre("agent.toml:2:12: buffer: max_rows: must be at least 1, got 0",
                  "agent.toml:3:10: buffer: policy: expected one of \"drop_oldest\", "
                  "\"drop_newest\", got \"x\"",
                  "agent.toml:4:1: source \"s\": interval: required key is missing",
                  "agent.toml:4:1: source \"s\": url: required key is missing"));
}

TEST(AgentConfig, SyntaxErrorsCarryThePosition) {
  EXPECT_THAT(agent_errors("[agent]\nid = \n"),
              ElementsAre(::testing::StartsWith("agent.toml:2:6: syntax error: ")));
}

TEST(AgentConfig, MissingFileIsAnError) {
  try {
    agent::load_agent_config("/nonexistent/agent.toml");
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(
        e.messages(),
        ElementsAre("/nonexistent/agent.toml: cannot open config file: No such file or directory"));
  }
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : m_name(name) {
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(m_name); }

 private:
  const char* m_name;
};

TEST(Secrets, FromFileFromCredentialsDirectoryAndErrors) {
  testing::TempDir dir;
  testing::write_file(dir / "mqtt.password", "s3cret\n");
  const std::string sources = strstr(k_minimal_agent, "[[source]]");
  auto c = agent::parse_agent_config("[mqtt]\nusername = \"u\"\npassword_file = \"" +
                                         (dir / "mqtt.password").string() + "\"\n" + sources,
                                     "agent.toml");
  EXPECT_EQ(c.mqtt.password, "s3cret");

  {
    ScopedEnv env("CREDENTIALS_DIRECTORY", dir.path().string());
    c = agent::parse_agent_config("[mqtt]\npassword_file = \"mqtt.password\"\n" + sources,
                                  "agent.toml");
    EXPECT_EQ(c.mqtt.password, "s3cret");
    testing::write_file(dir / "mqtt-password", "fromcred");
    c = agent::parse_agent_config(sources, "agent.toml");
    EXPECT_EQ(c.mqtt.password, "fromcred");
  }
  c = agent::parse_agent_config(sources, "agent.toml");
  EXPECT_FALSE(c.mqtt.password.has_value());

  EXPECT_THAT(agent_errors("[mqtt]\npassword_file = \"/nonexistent/pw\"\n" + sources),
              ElementsAre("agent.toml:2:17: mqtt: password_file: cannot read secret file "
                          "\"/nonexistent/pw\""));
  testing::write_file(dir / "empty", "\n");
  EXPECT_THAT(
      agent_errors("[mqtt]\npassword_file = \"" + (dir / "empty").string() + "\"\n" + sources),
      ElementsAre("agent.toml:2:17: mqtt: password_file: secret file \"" +
                  (dir / "empty").string() + "\" is empty"));
}

TEST(AgentConfig, ShippedExamplePassesValidation) {
  EXPECT_NO_THROW(agent::load_agent_config((testing::source_dir() / "conf/agent.toml").string()));
}

}  // namespace
}  // namespace streamtrack
