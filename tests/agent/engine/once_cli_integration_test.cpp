// `streamtrack-agent --once` as a user runs it.

#include <gtest/gtest.h>

#include <sstream>

#include "common/wire/codec.hpp"
#include "tests/agent/engine/engine_support.hpp"

namespace streamtrack::testing {
namespace {

struct Lines {
  std::vector<Sample> samples;
  std::vector<std::string> other;
};

Lines split(const std::string& output) {
  Lines out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '{') {
      auto s = wire::decode_sample(line);
      EXPECT_TRUE(s) << s.error() << ": " << line;
      if (s) out.samples.push_back(std::move(s).value());
    } else if (!line.empty()) {
      out.other.push_back(line);
    }
  }
  return out;
}

CommandResult once(const std::filesystem::path& config) {
  return run_command(
      {(bin_dir() / "streamtrack-agent").string(), "--config", config.string(), "--once"});
}

TEST(OnceCli, PrintsNumberedSamplesAndExitsZeroWhenEverySourceSucceeded) {
  HttpFixtureServer server;
  server.route("/a", ok_body("{\"online\":true,\"viewers\":3}"));
  server.route("/b", ok_body("{\"online\":false}"));
  TempDir dir;
  write_file(dir / "agent.toml", "[agent]\nid = \"cli\"\n\n" + json_source("a", server.url("/a")) +
                                     json_source("b", server.url("/b")));
  const auto r = once(dir / "agent.toml");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto lines = split(r.output);
  ASSERT_EQ(lines.samples.size(), 2u) << r.output;
  std::vector<std::int64_t> seqs{lines.samples[0].seq, lines.samples[1].seq};
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2}));
  for (const auto& s : lines.samples) {
    EXPECT_EQ(s.agent, "cli");
    EXPECT_EQ(s.platform, "http_json");
    if (s.channel == "a") {
      EXPECT_TRUE(s.live);
      EXPECT_EQ(s.viewers, 3);
    } else {
      EXPECT_EQ(s.channel, "b");
      EXPECT_FALSE(s.live);
    }
  }
  EXPECT_EQ(server.request_count("/a"), 1u);
  EXPECT_EQ(server.request_count("/b"), 1u);
}

TEST(OnceCli, AFailingSourceIsLoggedAndMakesTheExitCodeOne) {
  HttpFixtureServer server;
  server.route("/a", ok_body("{\"online\":true,\"viewers\":3}"));
  server.route("/b", server_error());
  TempDir dir;
  write_file(dir / "agent.toml", "[agent]\nid = \"cli\"\n\n" + json_source("a", server.url("/a")) +
                                     json_source("b", server.url("/b")));
  const auto r = once(dir / "agent.toml");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const auto lines = split(r.output);
  ASSERT_EQ(lines.samples.size(), 1u) << r.output;
  EXPECT_EQ(lines.samples[0].channel, "a");
  EXPECT_EQ(lines.samples[0].seq, 1);
  ASSERT_EQ(lines.other.size(), 1u) << r.output;
  EXPECT_EQ(lines.other[0],
            "<4>poll failed source=b type=http_json consecutive_errors=1 error=\"HTTP 500: boom\"");
}

TEST(OnceCli, ASourceThatNeverAnswersEndsAtItsTimeout) {
  SilentListener silent;
  TempDir dir;
  write_file(dir / "agent.toml",
             "[agent]\nid = \"cli\"\n\n" + json_source("dead", silent.url(), "1s", "500ms"));
  const auto r = once(dir / "agent.toml");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error=\"timed out after 500ms\""), std::string::npos) << r.output;
}

}  // namespace
// GnuTLS is mapped only because Debian's libcurl links librtmp; the agent opts out of its implicit
// initialisation (agent/main.cpp). The dynamic linker shows whose definition of the opt-out
// GnuTLS's constructor calls: the agent's (which returns 1), not GnuTLS's own weak default.
TEST(AgentBinary, GnuTlsConstructorCallsTheAgentsInitialisationOptOut) {
  const auto r = run_command({(bin_dir() / "streamtrack-agent").string(), "--version"},
                             k_event_timeout, {"LD_DEBUG=bindings"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream in(r.output);
  std::string line, binding;
  bool gnutls_loaded = false;
  while (std::getline(in, line)) {
    if (line.find("libgnutls.so") != std::string::npos) gnutls_loaded = true;
    if (line.find("`_gnutls_global_init_skip'") != std::string::npos) binding = line;
  }
  if (!gnutls_loaded) {
    SUCCEED() << "this libcurl does not map GnuTLS: nothing to opt out of";
    return;
  }
  ASSERT_FALSE(binding.empty()) << "GnuTLS's constructor never looked the opt-out up";
  EXPECT_NE(binding.find(" to " + (bin_dir() / "streamtrack-agent").string() + " "),
            std::string::npos)
      << binding;
}

}  // namespace streamtrack::testing
