// Real nginx-rtmp, a real ffmpeg publisher and two ffmpeg players, observed with
// `streamtrack-agent --once`.

#include <gtest/gtest.h>

#include <sstream>

#include "common/wire/codec.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/nginx_rtmp.hpp"

namespace streamtrack::testing {
namespace {

struct OnceRun {
  int exit_code = -1;
  std::vector<Sample> samples;
  std::string output;
};

OnceRun run_once(const std::filesystem::path& config) {
  const auto r = run_command(
      {(bin_dir() / "streamtrack-agent").string(), "--config", config.string(), "--once"});
  OnceRun out;
  out.exit_code = r.exit_code;
  out.output = r.output;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;  // log lines start with "<4>" etc.
    auto sample = wire::decode_sample(line);
    EXPECT_TRUE(sample) << sample.error() << ": " << line;
    if (sample) out.samples.push_back(std::move(sample).value());
  }
  return out;
}

std::unique_ptr<Process> ffmpeg(std::vector<std::string> args, const std::filesystem::path& log) {
  Process::Options o;
  o.argv = {"/usr/bin/ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.log_file = log;
  return std::make_unique<Process>(std::move(o));
}

// Runs --once until `accept` likes the sample for live/test (at most every 300 ms).
std::optional<Sample> poll_until(const std::filesystem::path& config,
                                 const std::function<bool(const Sample&)>& accept,
                                 std::string& last_output) {
  std::optional<Sample> found;
  auto last_run = std::chrono::steady_clock::time_point{};
  wait_until([&] {
    if (std::chrono::steady_clock::now() - last_run < std::chrono::milliseconds(300)) return false;
    last_run = std::chrono::steady_clock::now();
    const auto run = run_once(config);
    last_output = run.output;
    for (const auto& s : run.samples) {
      if (s.channel == "live/test" && accept(s)) found = s;
    }
    return found.has_value();
  });
  return found;
}

TEST(NginxRtmpIntegration, LiveWithTwoViewersThenOffline) {
  NginxRtmpServer nginx;
  TempDir dir;
  const auto config = dir / "agent.toml";
  write_file(config,
             "[agent]\nid = \"it\"\nlog_level = \"debug\"\n\n[[source]]\n"
             "type = \"nginx_rtmp\"\nname = \"rtmp\"\nurl = \"" +
                 nginx.stat_url() +
                 "\"\ninterval = \"1s\"\ntimeout = \"10s\"\nstreams = [\"live/test\"]\n");

  // Nothing published yet: the listed stream is offline, and that is a successful poll.
  const auto before = run_once(config);
  ASSERT_EQ(before.exit_code, 0) << before.output;
  ASSERT_EQ(before.samples.size(), 1u) << before.output;
  EXPECT_FALSE(before.samples[0].live);

  const std::string url = nginx.rtmp_url("live/test");
  auto publisher =
      ffmpeg({"-re",     "-f",      "lavfi",     "-i",    "testsrc=size=320x240:rate=25",
              "-f",      "lavfi",   "-i",        "sine",  "-c:v",
              "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
              "-g",      "25",      "-c:a",      "aac",   "-f",
              "flv",     url},
             dir / "publisher.log");
  std::string output;
  const auto publishing = poll_until(
      config, [](const Sample& s) { return s.live; }, output);
  ASSERT_TRUE(publishing) << output << "\nnginx:\n"
                          << nginx.log() << "\npublisher:\n"
                          << read_file(dir / "publisher.log");

  auto player1 = ffmpeg({"-i", url, "-f", "null", "-"}, dir / "player1.log");
  auto player2 = ffmpeg({"-i", url, "-f", "null", "-"}, dir / "player2.log");
  // bw_in is measured over 10 s intervals, so a non-zero bitrate takes a while.
  const auto watched = poll_until(
      config,
      [](const Sample& s) { return s.live && s.viewers == 2 && s.bitrate_kbps.value_or(0) > 0; },
      output);
  ASSERT_TRUE(watched) << output << "\nnginx:\n" << nginx.log();
  EXPECT_EQ(watched->platform, "nginx_rtmp");
  EXPECT_EQ(watched->agent, "it");
  EXPECT_EQ(watched->width, 320);
  EXPECT_EQ(watched->height, 240);
  EXPECT_EQ(watched->video_codec, "H264");
  EXPECT_EQ(watched->audio_codec, "AAC");
  EXPECT_TRUE(watched->started_at);

  publisher->stop();
  const auto stopped = poll_until(
      config, [](const Sample& s) { return !s.live; }, output);
  ASSERT_TRUE(stopped) << output << "\nnginx:\n" << nginx.log();
  EXPECT_FALSE(stopped->bitrate_kbps);
}

}  // namespace
}  // namespace streamtrack::testing
