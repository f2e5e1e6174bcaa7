// The systemd notify protocol (common/daemon/notify) against real AF_UNIX datagram sockets bound
// by the test, on a path and in the abstract namespace, and the watchdog variables.
#include "common/daemon/notify.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/harness.hpp"

namespace streamtrack {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

// A datagram socket bound to `name`: a path, or '@' and an abstract name.
class Listener {
 public:
  explicit Listener(const std::string& name) : m_name(name) {
    m_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (m_fd < 0 || name.size() > sizeof address.sun_path - 1) {
      throw std::runtime_error("cannot make a socket for " + name);
    }
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name.front() == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (bind(m_fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
      throw std::runtime_error("cannot bind " + name + ": " + std::strerror(errno));
    }
    timeval deadline{10, 0};  // generous: a datagram is queued before the send returns
    setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
  }
  ~Listener() { close(m_fd); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  const std::string& name() const { return m_name; }

  // The next datagram, or "<none>" when none came within the deadline.
  std::string next() const {
    char buffer[4096];
    const auto n = recv(m_fd, buffer, sizeof buffer, 0);
    if (n < 0) return "<none>";
    return {buffer, static_cast<std::size_t>(n)};
  }

  // Fills the kernel's queue for this socket (net.unix.max_dgram_qlen datagrams: 10 by the
  // kernel's default, 512 under systemd's sysctl.d) with STATUS= notifications until a send
  // finds no room.
  void fill() const {
    for (int i = 0; i < 100'000; ++i) {
      const auto sent = notify::send_state(m_name, "STATUS=filler");
      if (!sent.ok()) {
        if (sent.error().ends_with("Resource temporarily unavailable")) return;
        throw std::runtime_error(sent.error());
      }
    }
    throw std::runtime_error("the queue of " + m_name + " never filled");
  }

  // Everything queued now, in order, but the filler.
  std::vector<std::string> drain() const {
    std::vector<std::string> got;
    char buffer[4096];
    while (true) {
      const auto n = recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0) return got;
      std::string datagram(buffer, static_cast<std::size_t>(n));
      if (datagram != "STATUS=filler") got.push_back(std::move(datagram));
    }
  }

 private:
  std::string m_name;
  int m_fd = -1;
};

std::string unique_abstract_name() {
  static std::atomic<int> counter{0};
  return "@streamtrack-notify-test/" + std::to_string(getpid()) + "/" + std::to_string(counter++);
}

// Sets an environment variable for the lifetime of the guard; restores what was there.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    setenv(name, value.c_str(), 1);
  }
  ~EnvGuard() {
    if (m_old) {
      setenv(m_name, m_old->c_str(), 1);
    } else {
      unsetenv(m_name);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

void expect_every_notification(const Listener& listener) {
  EnvGuard socket("NOTIFY_SOCKET", listener.name());
  notify::ready();
  EXPECT_EQ(listener.next(), "READY=1");
  notify::watchdog();
  EXPECT_EQ(listener.next(), "WATCHDOG=1");
  notify::status("samples=3 queued=0");
  EXPECT_EQ(listener.next(), "STATUS=samples=3 queued=0");
  notify::stopping();
  EXPECT_EQ(listener.next(), "STOPPING=1");
  notify::reloading();
  EXPECT_THAT(listener.next(), MatchesRegex("RELOADING=1\nMONOTONIC_USEC=[0-9]+"));
}

TEST(NotifyProtocol, EachNotificationIsOneDatagramToAPathSocket) {
  testing::TempDir dir("notify");
  Listener listener((dir / "notify.sock").string());
  expect_every_notification(listener);
}

TEST(NotifyProtocol, EachNotificationIsOneDatagramToAnAbstractSocket) {
  Listener listener(unique_abstract_name());
  expect_every_notification(listener);
}

TEST(NotifyProtocol, AStatusCannotPoseAsAnotherAssignment) {
  Listener listener(unique_abstract_name());
  EnvGuard socket("NOTIFY_SOCKET", listener.name());
  notify::status("fine\nREADY=1\rWATCHDOG=1");
  EXPECT_EQ(listener.next(), "STATUS=fine READY=1 WATCHDOG=1");
}

TEST(NotifyProtocol, GarbledSocketNamesAreRefusedWithTheReason) {
  const auto refused = [](std::string_view name) {
    const auto sent = notify::send_state(name, "READY=1");
    return sent.ok() ? std::string("<sent>") : sent.error();
  };
  EXPECT_EQ(refused(""), "NOTIFY_SOCKET=\"\": empty");
  EXPECT_EQ(refused("run/notify"),
            "NOTIFY_SOCKET=run/notify: neither an absolute path nor '@' and an abstract name");
  EXPECT_EQ(refused("vsock:2:1234"),
            "NOTIFY_SOCKET=vsock:2:1234: neither an absolute path nor '@' and an abstract name");
  EXPECT_EQ(refused("@"), "NOTIFY_SOCKET=@: '@' without a name");
  EXPECT_EQ(refused("/" + std::string(107, 'x')),
            "NOTIFY_SOCKET=/" + std::string(107, 'x') +
                ": longer than the 107 bytes a socket address holds");
  EXPECT_EQ(refused("@" + std::string(108, 'x')),
            "NOTIFY_SOCKET=@" + std::string(108, 'x') +
                ": longer than the 108 bytes a socket address holds");
  EXPECT_EQ(refused(std::string("/tmp/a\0b", 8)),
            "NOTIFY_SOCKET=\"/tmp/a\\x00b\": a path with a NUL byte");
  testing::TempDir dir("notify");
  EXPECT_EQ(
      refused((dir / "nobody.sock").string()),
      "NOTIFY_SOCKET=" + (dir / "nobody.sock").string() + ": send: No such file or directory");
  // The longest abstract name fits; nobody listens there.
  EXPECT_EQ(refused("@" + std::string(107, 'x')),
            "NOTIFY_SOCKET=@" + std::string(107, 'x') + ": send: Connection refused");
}

TEST(NotifyProtocol, AListenerThatNeverReadsMakesSendsFailInsteadOfBlocking) {
  Listener listener(unique_abstract_name());
  std::string error;
  // The kernel queues a bounded number of datagrams for a socket (net.unix.max_dgram_qlen: 10 by
  // the kernel's default, 512 under systemd's sysctl.d).
  for (int i = 0; i < 100'000 && error.empty(); ++i) {
    const auto sent = notify::send_state(listener.name(), "WATCHDOG=1");
    if (!sent.ok()) error = sent.error();
  }
  EXPECT_EQ(error, "NOTIFY_SOCKET=" + listener.name() + ": send: Resource temporarily unavailable");
}

TEST(NotifyProtocol, AFailingSocketIsLoggedOnceUntilANotificationGoesThrough) {
  testing::TempDir dir("notify");
  const auto nobody = (dir / "nobody.sock").string();
  Listener listener(unique_abstract_name());
  {
    EnvGuard socket("NOTIFY_SOCKET", listener.name());
    notify::ready();  // a notification that goes through: whatever failed before is forgotten
  }
  ASSERT_EQ(listener.next(), "READY=1");
  ::testing::internal::CaptureStderr();
  {
    EnvGuard socket("NOTIFY_SOCKET", nobody);
    notify::ready();
    notify::watchdog();
  }
  auto log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(log, "<4>notify: cannot notify systemd: NOTIFY_SOCKET=" + nobody +
                     ": send: No such file or directory (dropped; logged again only after a "
                     "notification went through)\n");
  EXPECT_FALSE(notify::pending());  // nobody there could ever take them: nothing to resend

  ::testing::internal::CaptureStderr();
  {
    EnvGuard socket("NOTIFY_SOCKET", listener.name());
    notify::watchdog();  // goes through: the next failure is logged again
  }
  {
    EnvGuard socket("NOTIFY_SOCKET", nobody);
    notify::watchdog();
  }
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(listener.next(), "WATCHDOG=1");
  EXPECT_THAT(log, HasSubstr("cannot notify systemd"));
  EXPECT_FALSE(notify::pending());
}

// A listener that $NOTIFY_SOCKET names, its queue already full: every send finds no room until
// the test drains it.
struct FullQueue {
  FullQueue() { listener.fill(); }
  Listener listener{unique_abstract_name()};
  EnvGuard socket{"NOTIFY_SOCKET", listener.name()};
};

// A daemon's loop: waits until its notifier's next wake-up, after checking that the wake-up is
// soon (not half a watchdog interval away), and turns once.
void turn_when_due(notify::Notifier& loop) {
  const auto due = loop.next_due();
  ASSERT_TRUE(due.has_value());
  ASSERT_LT(*due, std::chrono::steady_clock::now() + 5s);
  std::this_thread::sleep_until(*due);
  loop.turn();
}

TEST(NotifyRetry, AReadyThatFindsTheQueueFullIsSentByTheNextLoopTurn) {
  FullQueue full;
  const auto& listener = full.listener;
  notify::Notifier loop;
  ::testing::internal::CaptureStderr();
  notify::ready();
  ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(notify::pending());
  EXPECT_THAT(listener.drain(), IsEmpty());
  loop.turn();
  EXPECT_EQ(listener.next(), "READY=1");
  EXPECT_THAT(listener.drain(), IsEmpty());
  EXPECT_FALSE(notify::pending());
  EXPECT_EQ(loop.next_due(), std::nullopt);  // nothing left to do: no watchdog here
}

// Only a full queue is worth waiting for: with nobody listening at $NOTIFY_SOCKET (a container
// that inherited the variable without the socket) no later send can succeed, and keeping the
// notification would wake the loop every k_retry_after for the daemon's life.
TEST(NotifyRetry, ANotificationNobodyCanReceiveIsNotKept) {
  testing::TempDir dir("notify");
  EnvGuard socket("NOTIFY_SOCKET", (dir / "nobody.sock").string());
  notify::Notifier loop;
  ::testing::internal::CaptureStderr();
  notify::ready();
  notify::status("up");
  notify::watchdog();
  const auto logged = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logged, HasSubstr("No such file or directory"));
  EXPECT_FALSE(notify::pending());
  loop.turn();
  EXPECT_EQ(loop.next_due(), std::nullopt);
}

TEST(NotifyRetry, TheLoopKeepsTryingWhileTheQueueStaysFull) {
  FullQueue full;
  const auto& listener = full.listener;
  notify::Notifier loop;
  ::testing::internal::CaptureStderr();
  notify::ready();
  const auto before = std::chrono::steady_clock::now();
  loop.turn();  // still no room: the next try comes k_retry_after later, not at every turn
  EXPECT_GE(loop.next_due(), before + notify::Notifier::k_retry_after);
  loop.turn();
  ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(listener.drain(), IsEmpty());
  turn_when_due(loop);
  EXPECT_EQ(listener.next(), "READY=1");
}

TEST(NotifyRetry, AReloadIsSentAsBothItsMessagesInOrder) {
  FullQueue full;
  const auto& listener = full.listener;
  notify::Notifier loop;
  ::testing::internal::CaptureStderr();
  notify::reloading();
  notify::ready();
  ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(listener.drain(), IsEmpty());
  turn_when_due(loop);
  EXPECT_THAT(listener.drain(),
              ElementsAre(MatchesRegex("RELOADING=1\nMONOTONIC_USEC=[0-9]+"), "READY=1"));
}

TEST(NotifyRetry, TheLatestStateAndStatusWin) {
  FullQueue full;
  const auto& listener = full.listener;
  notify::Notifier loop;
  ::testing::internal::CaptureStderr();
  notify::ready();
  notify::status("first");
  notify::reloading();
  notify::stopping();
  notify::status("second");
  ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(listener.drain(), IsEmpty());
  turn_when_due(loop);
  EXPECT_THAT(listener.drain(), ElementsAre("STOPPING=1", "STATUS=second"));
}

TEST(NotifyRetry, ANewNotificationSendsWhatIsPendingFirst) {
  FullQueue full;
  const auto& listener = full.listener;
  ::testing::internal::CaptureStderr();
  notify::ready();
  notify::watchdog();
  ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(listener.drain(), IsEmpty());
  notify::status("up");
  EXPECT_THAT(listener.drain(), ElementsAre("READY=1", "STATUS=up", "WATCHDOG=1"));
  EXPECT_FALSE(notify::pending());
}

TEST(NotifyRetry, AWatchdogPingThatFindsTheQueueFullIsSentByTheNextLoopTurns) {
  FullQueue full;
  const auto& listener = full.listener;
  EnvGuard usec("WATCHDOG_USEC", "3600000000");  // a ping every 30 minutes
  EnvGuard pid("WATCHDOG_PID", std::to_string(getpid()));
  notify::Notifier loop;
  ::testing::internal::CaptureStderr();
  loop.turn();  // the first ping is due at once, and finds no room
  ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(listener.drain(), IsEmpty());
  turn_when_due(loop);
  EXPECT_EQ(listener.next(), "WATCHDOG=1");
  EXPECT_THAT(listener.drain(), IsEmpty());
  // The next ping is half the timeout after the one that failed.
  const auto due = loop.next_due();
  ASSERT_TRUE(due.has_value());
  EXPECT_GT(*due, std::chrono::steady_clock::now() + 29min);
}

using Timeout = std::optional<std::chrono::microseconds>;

Timeout parsed(std::optional<std::string_view> usec, std::optional<std::string_view> pid,
               long self = 42) {
  const auto timeout = notify::parse_watchdog(usec, pid, self);
  if (!timeout.ok()) throw std::runtime_error(timeout.error());
  return *timeout;
}

std::string refused(std::optional<std::string_view> usec, std::optional<std::string_view> pid) {
  const auto timeout = notify::parse_watchdog(usec, pid, 42);
  return timeout.ok() ? "<accepted>" : timeout.error();
}

TEST(NotifyWatchdog, TheTimeoutIsForThisProcessOnly) {
  EXPECT_EQ(parsed(std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(parsed(std::nullopt, "42"), std::nullopt);
  EXPECT_EQ(parsed("2000000", std::nullopt), Timeout{2s});
  EXPECT_EQ(parsed("2000000", "42"), Timeout{2s});
  EXPECT_EQ(parsed("2000000", "43"), std::nullopt);
  EXPECT_EQ(parsed("1", std::nullopt), Timeout{1us});
  EXPECT_EQ(parsed(std::to_string(notify::k_max_watchdog_usec), std::nullopt),
            Timeout{std::chrono::microseconds{notify::k_max_watchdog_usec}});
}

TEST(NotifyWatchdog, GarbageInTheVariablesIsRefusedWithTheValue) {
  const std::string usec_error = ": not a number of microseconds from 1 to 315360000000000";
  EXPECT_EQ(refused("soon", std::nullopt), "WATCHDOG_USEC=soon" + usec_error);
  EXPECT_EQ(refused("", std::nullopt), "WATCHDOG_USEC=\"\"" + usec_error);
  EXPECT_EQ(refused("0", std::nullopt), "WATCHDOG_USEC=0" + usec_error);
  EXPECT_EQ(refused("-5", std::nullopt), "WATCHDOG_USEC=-5" + usec_error);
  EXPECT_EQ(refused("+5", std::nullopt), "WATCHDOG_USEC=+5" + usec_error);
  EXPECT_EQ(refused(" 5", std::nullopt), "WATCHDOG_USEC=\" 5\"" + usec_error);
  EXPECT_EQ(refused("5s", std::nullopt), "WATCHDOG_USEC=5s" + usec_error);
  EXPECT_EQ(refused("315360000000001", std::nullopt), "WATCHDOG_USEC=315360000000001" + usec_error);
  EXPECT_EQ(refused("18446744073709551615", std::nullopt),
            "WATCHDOG_USEC=18446744073709551615" + usec_error);
  EXPECT_EQ(refused("99999999999999999999999999", std::nullopt),
            "WATCHDOG_USEC=99999999999999999999999999" + usec_error);
  EXPECT_EQ(refused("2000000", "me"), "WATCHDOG_PID=me: not a process id");
  EXPECT_EQ(refused("2000000", "0"), "WATCHDOG_PID=0: not a process id");
  EXPECT_EQ(refused("2000000", "-42"), "WATCHDOG_PID=-42: not a process id");
  EXPECT_EQ(refused("2000000", "99999999999999999999"),
            "WATCHDOG_PID=99999999999999999999: not a process id");
}

TEST(NotifyWatchdog, TheIntervalIsHalfTheTimeoutFromTheEnvironment) {
  {
    EnvGuard usec("WATCHDOG_USEC", "3000000");
    EnvGuard pid("WATCHDOG_PID", std::to_string(getpid()));
    EXPECT_EQ(notify::watchdog_interval(), Timeout{1500ms});
  }
  {
    EnvGuard usec("WATCHDOG_USEC", "3000000");
    EnvGuard pid("WATCHDOG_PID", std::to_string(getpid() + 1));
    EXPECT_EQ(notify::watchdog_interval(), std::nullopt);
  }
  ::testing::internal::CaptureStderr();
  {
    EnvGuard usec("WATCHDOG_USEC", "yes");
    EXPECT_EQ(notify::watchdog_interval(), std::nullopt);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "<3>notify: watchdog off: WATCHDOG_USEC=yes: not a number of microseconds from 1 to "
            "315360000000000\n");
}

}  // namespace
}  // namespace streamtrack
