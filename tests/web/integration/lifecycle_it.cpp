// streamtrack-web under a fake NOTIFY_SOCKET with the watchdog on: READY=1 once the database
// answers, WATCHDOG=1 from the main loop, RELOADING=1 then READY=1 on SIGHUP (which re-reads
// [auth]), STOPPING=1 and exit 0 on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/web/integration/web_fixture.hpp"

namespace streamtrack::web::testing {
namespace {

class NotifyReceiver {
 public:
  NotifyReceiver() : m_dir("web-notify") {
    m_path = (m_dir / "notify.sock").string();
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    m_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind " + m_path);
    }
    timeval tv{0, 100'000};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    m_thread = std::thread([this] {
      char buf[4096];
      while (!m_stop) {
        const auto n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::lock_guard lock(m_mutex);
        m_messages.emplace_back(buf, static_cast<std::size_t>(n));
      }
    });
  }
  ~NotifyReceiver() {
    m_stop = true;
    m_thread.join();
    ::close(m_fd);
  }
  const std::string& path() const { return m_path; }
  // Index of the first message at or after `from` with a line starting with `needle`.
  std::optional<std::size_t> find(const std::string& needle, std::size_t from = 0) const {
    std::lock_guard lock(m_mutex);
    for (auto i = from; i < m_messages.size(); ++i) {
      if (("\n" + m_messages[i]).find("\n" + needle) != std::string::npos) return i;
    }
    return std::nullopt;
  }
  std::optional<std::size_t> wait_for(const std::string& needle, std::size_t from = 0) const {
    std::optional<std::size_t> found;
    wait_until([&] { return (found = find(needle, from)).has_value(); });
    return found;
  }
  std::size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_messages.size();
  }

 private:
  TempDir m_dir;
  std::string m_path;
  int m_fd = -1;
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::vector<std::string> m_messages;
  std::thread m_thread;
};

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

}  // namespace
}  // namespace streamtrack::web::testing
