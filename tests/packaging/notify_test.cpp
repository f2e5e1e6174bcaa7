// Each daemon under a fake NOTIFY_SOCKET (a datagram socket this test binds), with the watchdog
// enabled: READY=1, STATUS=, WATCHDOG=1, RELOADING=1 on SIGHUP and STOPPING=1 on SIGTERM; and
// READY=1 sent again when the socket's queue was full at start-up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/support/harness.hpp"
#include "tests/support/notify_receiver.hpp"

namespace streamtrack::testing {
namespace {

using ::testing::HasSubstr;

// Receives sd_notify datagrams on a socket in its own directory.
class NotifySocket {
 public:
  NotifySocket() : m_dir("notify") {
    m_path = (m_dir / "notify.sock").string();
    m_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    m_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (m_fd < 0 || bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind " + m_path);
    }
    timeval tv{0, 100'000};
    setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    m_thread = std::thread([this] {
      char buf[4096];
      while (!m_stop) {
        const auto n = recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::lock_guard lock(m_mutex);
        m_messages.emplace_back(buf, static_cast<std::size_t>(n));
      }
    });
  }
  ~NotifySocket() {
    m_stop = true;
    m_thread.join();
    close(m_fd);
  }
  const std::string& path() const { return m_path; }
  std::vector<std::string> messages() const {
    std::lock_guard lock(m_mutex);
    return m_messages;
  }
  // Index of the first message at or after `from` containing `needle` (a line of it).
  std::optional<std::size_t> find(const std::string& needle, std::size_t from = 0) const {
    const auto all = messages();
    for (auto i = from; i < all.size(); ++i) {
      if (("\n" + all[i] + "\n").find("\n" + needle) != std::string::npos) return i;
    }
    return std::nullopt;
  }
  bool wait_for(const std::string& needle, std::size_t from = 0) const {
    return wait_until([&] { return find(needle, from).has_value(); });
  }
  std::string dump() const {
    std::string out;
    for (const auto& m : messages()) out += "[" + m + "]\n";
    return out;
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

void expect_lifecycle(Process& daemon, const NotifySocket& notify) {
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.dump() << daemon.output();
  const auto ready = *notify.find("READY=1");
  EXPECT_TRUE(notify.find("STATUS=").has_value()) << notify.dump();
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", ready)) << notify.dump() << daemon.output();
  // Pings keep coming from the main loop (WATCHDOG_USEC=2s: one at least every second).
  const auto first_ping = *notify.find("WATCHDOG=1", ready);
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", first_ping + 1)) << notify.dump();

  const auto before_reload = notify.messages().size();
  daemon.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", before_reload)) << notify.dump() << daemon.output();
  EXPECT_TRUE(notify.wait_for("READY=1", *notify.find("RELOADING=1", before_reload) + 1))
      << notify.dump();
  EXPECT_TRUE(daemon.running()) << daemon.output();

  daemon.signal(SIGTERM);
  const auto code = daemon.wait();
  ASSERT_TRUE(code.has_value()) << daemon.output();
  EXPECT_EQ(*code, 0) << daemon.output();
  EXPECT_TRUE(notify.find("STOPPING=1", ready).has_value()) << notify.dump();
  for (const auto& m : notify.messages()) {
    if (m.starts_with("STATUS=")) {
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

Process::Options daemon_options(const std::string& daemon, const std::filesystem::path& config,
                                const std::string& notify_socket) {
  Process::Options options;
  options.argv = {(bin_dir() / daemon).string(), "--config", config.string()};
  options.env = {"NOTIFY_SOCKET=" + notify_socket, "WATCHDOG_USEC=2000000"};
  return options;
}

// PID 1 busy at start-up: its queue is full when the daemon sends READY=1, and the daemon sends
// it again once there is room (dropping it, systemd would kill the daemon at TimeoutStartSec).
// The daemon's log line after its READY=1 tells that it tried: its notifications cannot.
void expect_ready_after_a_full_queue(Process::Options options, NotifyReceiver& notify,
                                     const std::string& ready_line) {
  notify.hold();
  Process daemon(options);
  ASSERT_TRUE(daemon.wait_for_output(ready_line)) << daemon.output();
  EXPECT_EQ(notify.size(), 0u);
  notify.release();
  const auto ready = notify.wait_for("READY=1");
  ASSERT_TRUE(ready.has_value()) << daemon.output();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", *ready).has_value()) << daemon.output();
  EXPECT_EQ(daemon.stop(), 0) << daemon.output();
}

std::string collector_config(const MosquittoServer& broker, const std::string& dsn) {
  return "[collector]\nid = \"notify-test\"\nshutdown_timeout = \"2s\"\n"
         "[mqtt]\nurl = \"" +
         broker.url() + "\"\n[postgres]\ndsn = \"" + dsn +
         "\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(free_port()) + "\"\n";
}

TEST(Notify, CollectorSendsReadyAgainWhenSystemdsQueueWasFull) {
  MosquittoServer broker;
  PostgresServer postgres;
  const auto dsn = postgres.create_database("streamtrack");
  TempDir dir("collector-notify");
  write_file(dir / "collector.toml", collector_config(broker, dsn));
  NotifyReceiver notify;
  expect_ready_after_a_full_queue(
      daemon_options("streamtrack-collector", dir / "collector.toml", notify.path()), notify,
      "collector: ready");
}

TEST(Notify, CollectorReportsReadyStatusWatchdogReloadAndStopping) {
  MosquittoServer broker;
  PostgresServer postgres;
  const auto dsn = postgres.create_database("streamtrack");
  TempDir dir("collector-notify");
  write_file(dir / "collector.toml", collector_config(broker, dsn));
  NotifySocket notify;
  Process collector(daemon_options("streamtrack-collector", dir / "collector.toml", notify.path()));
  expect_lifecycle(collector, notify);
}

// An agent polling an Owncast fixture every second.
std::string agent_config(const MosquittoServer& broker, const HttpFixtureServer& owncast,
                         const TempDir& dir) {
  std::filesystem::create_directories(dir / "state");
  return "[agent]\nid = \"notify-test\"\nstate_dir = \"" + (dir / "state").string() +
         "\"\nshutdown_timeout = \"1s\"\n[mqtt]\nurl = \"" + broker.url() +
         "\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(free_port()) +
         "\"\n[[source]]\ntype = \"owncast\"\nname = \"o\"\nchannel = \"o\"\ninterval = \"1s\"\n"
         "url = \"" +
         owncast.url("/api/status") + "\"\n";
}

void route_owncast(HttpFixtureServer& owncast) {
  owncast.route("/api/status", {.status = 200,
                                .content_type = "application/json",
                                .body = R"({"online":true,"viewerCount":3})",
                                .headers = {},
                                .delay = {},
                                .hang = false});
}

TEST(Notify, AgentReportsReadyStatusWatchdogReloadAndStopping) {
  MosquittoServer broker;
  HttpFixtureServer owncast;
  route_owncast(owncast);
  TempDir dir("agent-notify");
  write_file(dir / "agent.toml", agent_config(broker, owncast, dir));
  NotifySocket notify;
  Process agent(daemon_options("streamtrack-agent", dir / "agent.toml", notify.path()));
  expect_lifecycle(agent, notify);
}

TEST(Notify, AgentSendsReadyAgainWhenSystemdsQueueWasFull) {
  MosquittoServer broker;
  HttpFixtureServer owncast;
  route_owncast(owncast);
  TempDir dir("agent-notify");
  write_file(dir / "agent.toml", agent_config(broker, owncast, dir));
  NotifyReceiver notify;
  expect_ready_after_a_full_queue(
      daemon_options("streamtrack-agent", dir / "agent.toml", notify.path()), notify,
      "agent: ready");
}

}  // namespace
}  // namespace streamtrack::testing
