// streamtrack-web under a fake NOTIFY_SOCKET with the watchdog on: READY=1 once the database
// answers, WATCHDOG=1 from the main loop, RELOADING=1 then READY=1 on SIGHUP (which re-reads
// [auth]), STOPPING=1 and exit 0 on SIGTERM; READY=1 sent again when the socket's queue was
// full at start-up.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/support/notify_receiver.hpp"
#include "tests/web/integration/web_fixture.hpp"

namespace streamtrack::web::testing {
namespace {

using streamtrack::testing::NotifyReceiver;

class LifecycleTest : public WebTest {};

TEST_F(LifecycleTest, NotifiesReadyWatchdogReloadAndStoppingAndReloadRotatesTheToken) {
  auto collector = start_stack_collector();
  write_file(m_dir / "token", "first-token-0123456789\n");
  const auto config = write_web_config(
      {"[auth]\nmode = \"token\"\ntoken_file = \"" + (m_dir / "token").string() + "\"\n", ""},
      "web-notify.toml");
  NotifyReceiver notify;
  Process::Options p;
  p.argv = {(bin_dir() / "streamtrack-web").string(), "--config", config.string()};
  p.env = {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000"};
  p.log_file = m_dir / "web-notify.log";
  Process web(p);

  const auto ready = notify.wait_for("READY=1");
  ASSERT_TRUE(ready.has_value()) << web.output();
  std::smatch m;
  const auto out = web.output();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("port=(\\d+)")));
  m_web_port = static_cast<std::uint16_t>(std::stoi(m[1]));
  EXPECT_TRUE(notify.find("STATUS=").has_value());
  const auto ping = notify.wait_for("WATCHDOG=1", *ready);
  ASSERT_TRUE(ping.has_value());
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", *ping + 1).has_value());
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Bearer first-token-0123456789"}}).status, 200);

  write_file(m_dir / "token", "second-token-0123456789\n");
  const auto before = notify.size();
  web.signal(SIGHUP);
  const auto reloading = notify.wait_for("RELOADING=1", before);
  ASSERT_TRUE(reloading.has_value()) << web.output();
  EXPECT_TRUE(notify.wait_for("READY=1", *reloading + 1).has_value());
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Bearer first-token-0123456789"}}).status, 401);
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Bearer second-token-0123456789"}}).status,
            200);

  // A broken config on reload is refused; the running one stays.
  write_file(config, read_file(config) + "\n[nonsense]\n");
  const auto before_bad = notify.size();
  web.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("READY=1", before_bad).has_value());
  EXPECT_TRUE(web.wait_for_output("web: reload refused:"));
  EXPECT_EQ(get("/api/v1/stats", {{"Authorization", "Bearer second-token-0123456789"}}).status,
            200);

  web.signal(SIGTERM);
  const auto code = web.wait();
  ASSERT_TRUE(code.has_value()) << web.output();
  EXPECT_EQ(*code, 0) << web.output();
  EXPECT_TRUE(notify.find("STOPPING=1", *ready).has_value());
}

// PID 1 busy at start-up: its queue is full when the daemon sends READY=1, and the daemon sends
// it again once there is room (dropping it, systemd would kill the daemon at TimeoutStartSec).
// The log line after READY=1 tells that the daemon tried: its notifications cannot.
TEST_F(LifecycleTest, SendsReadyAgainWhenSystemdsQueueWasFull) {
  auto collector = start_stack_collector();
  const auto config = write_web_config({}, "web-notify.toml");
  NotifyReceiver notify;
  notify.hold();
  Process::Options p;
  p.argv = {(bin_dir() / "streamtrack-web").string(), "--config", config.string()};
  p.env = {"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=2000000"};
  p.log_file = m_dir / "web-notify.log";
  Process web(p);
  ASSERT_TRUE(web.wait_for_output("web: ready")) << web.output();
  EXPECT_EQ(notify.size(), 0u);
  notify.release();
  const auto ready = notify.wait_for("READY=1");
  ASSERT_TRUE(ready.has_value()) << web.output();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", *ready).has_value()) << web.output();
  EXPECT_EQ(web.stop(), 0) << web.output();
}

// log_format is declared reloadable: a drop-in switching it to json takes effect on SIGHUP
// (the reload's own log line is the first one in the new format).
TEST_F(LifecycleTest, ReloadAppliesLogFormat) {
  auto collector = start_stack_collector();
  auto web = start_web();
  std::filesystem::create_directory(m_dir / "web.d");
  write_file(m_dir / "web.d" / "50-log.toml", "[web]\nlog_format = \"json\"\n");
  web->signal(SIGHUP);
  EXPECT_TRUE(web->wait_for_output(R"("level":"info","component":"web","msg":"reloaded)"))
      << web->output();
  EXPECT_EQ(web->output().find("<6>web: reloaded"), std::string::npos) << web->output();
}

}  // namespace
}  // namespace streamtrack::web::testing
