// Builds both Debian packages with scripts/package (once: the whole project compiles again),
// lints them, installs them with dpkg on this machine, checks what landed, upgrades in place,
// removes and purges. Needs root (dpkg) and debhelper, lintian and systemd-analyze.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>

#include "tests/support/alertmanager.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr auto k_build_timeout = std::chrono::milliseconds(60min);
constexpr auto k_dpkg_timeout = std::chrono::milliseconds(10min);
const std::vector<std::string> k_daemons = {"streamtrack-agent", "streamtrack-collector"};

std::string project_version() {
  const auto text = read_file(source_dir() / "CMakeLists.txt");
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(R"(project\(streamtrack VERSION ([0-9.]+))"))) {
    return "";
  }
  return m[1];
}

// Documents each package installs in /usr/share/doc/<package>/ (dh_compress may gzip them).
const std::map<std::string, std::vector<std::string>> k_docs = {
    {"streamtrack-agent", {"operations.md", "mqtt.md", "sample.schema.json", "frame.schema.json"}},
    {"streamtrack-collector",
     {"operations.md", "mqtt.md", "alerts.md", "api.md", "integrations.md", "sample.schema.json",
      "frame.schema.json"}},
};

bool doc_installed(const std::string& package, const std::string& name) {
  const fs::path dir = "/usr/share/doc/" + package;
  return fs::exists(dir / name) || fs::exists(dir / (name + ".gz"));
}

// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_open(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool open =
      fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) ::close(fd);
  return open;
}

std::string short_name(const std::string& daemon) {
  return daemon.substr(std::string("streamtrack-").size());  // "agent", "collector"
}

CommandResult run(const std::vector<std::string>& argv,
                  std::chrono::milliseconds timeout = k_dpkg_timeout) {
  return run_command(argv, timeout, {"DEBIAN_FRONTEND=noninteractive"});
}

struct FileInfo {
  bool exists = false;
  mode_t mode = 0;
  std::string owner;
  std::string group;
};

FileInfo stat_file(const fs::path& path) {
  struct stat st {};
  FileInfo info;
  if (lstat(path.c_str(), &st) != 0) return info;
  info.exists = true;
  info.mode = st.st_mode & 07777;
  const auto* pw = getpwuid(st.st_uid);
  const auto* gr = getgrgid(st.st_gid);
  info.owner = pw != nullptr ? pw->pw_name : std::to_string(st.st_uid);
  info.group = gr != nullptr ? gr->gr_name : std::to_string(st.st_gid);
  return info;
}

void purge_installed() {
  run({"dpkg", "--purge", "streamtrack-agent", "streamtrack-collector"});
}

class Packaging : public ::testing::Test {
 protected:
  void TearDown() override { purge_installed(); }
};

TEST_F(Packaging, BuildLintInstallUpgradeRemovePurge) {
  ASSERT_EQ(geteuid(), 0u) << "installing packages with dpkg needs root (CI runs as root)";
  const auto version = project_version();
  ASSERT_FALSE(version.empty());
  purge_installed();  // leftovers of an interrupted run

  // 1. Build once.
  TempDir out("packages");
  const auto built = run_command(
      {(source_dir() / "scripts/package").string(), "--out", out.path().string(), "--jobs", "2"},
      k_build_timeout, {"DEB_BUILD_OPTIONS=nocheck noddebs"});
  ASSERT_EQ(built.exit_code, 0) << built.output.substr(
      built.output.size() > 20000 ? built.output.size() - 20000 : 0);
  std::map<std::string, fs::path> debs;
  for (const auto& daemon : k_daemons) {
    const auto deb = out / (daemon + "_" + version + "_amd64.deb");
    ASSERT_TRUE(fs::exists(deb)) << deb << "\n" << built.output;
    debs[daemon] = deb;
  }

  // 2. lintian: no errors, no warnings.
  for (const auto& [daemon, deb] : debs) {
    const auto lint = run({"lintian", "--fail-on", "error,warning", deb.string()});
    std::cout << "lintian " << deb.filename().string() << ": exit " << lint.exit_code << "\n"
              << lint.output;
    EXPECT_EQ(lint.exit_code, 0) << lint.output;
    EXPECT_FALSE(std::regex_search(lint.output, std::regex("(^|\n)[EW]: "))) << lint.output;
  }

  // 3. Install both.
  auto installed = run(
      {"dpkg", "-i", debs["streamtrack-agent"].string(), debs["streamtrack-collector"].string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.output;
  // A first install says what to do next.
  EXPECT_THAT(installed.output,
              HasSubstr("sudo -u postgres streamtrack-collector setup-db --admin-dsn"));
  EXPECT_THAT(installed.output, HasSubstr("/usr/share/streamtrack/sql/setup-db.sql"));
  EXPECT_EQ(read_file("/usr/share/streamtrack/sql/setup-db.sql"),
            read_file(bin_dir().parent_path() / "sql/setup-db.sql"));

  for (const auto& daemon : k_daemons) {
    SCOPED_TRACE(daemon);
    const auto name = short_name(daemon);
    const fs::path binary = "/usr/bin/" + daemon;
    const fs::path config = "/etc/streamtrack/" + name + ".toml";
    const fs::path state = "/var/lib/" + daemon;

    const auto bin = stat_file(binary);
    EXPECT_TRUE(bin.exists);
    EXPECT_EQ(bin.mode, 0755u);
    const auto ver = run({binary.string(), "--version"});
    EXPECT_EQ(ver.exit_code, 0);
    EXPECT_EQ(ver.output, daemon + " " + version + "\n");

    // The service user and group, without a login shell.
    const auto* pw = getpwnam(daemon.c_str());
    ASSERT_NE(pw, nullptr) << "no user " << daemon;
    EXPECT_STREQ(pw->pw_shell, "/usr/sbin/nologin");
    EXPECT_EQ(std::string(pw->pw_dir), state.string());
    EXPECT_LT(pw->pw_uid, 1000u) << "a system user";
    ASSERT_NE(getgrnam(daemon.c_str()), nullptr) << "no group " << daemon;

    // Config: a conffile, 0640 root:<service group>.
    const auto conf = stat_file(config);
    EXPECT_TRUE(conf.exists);
    EXPECT_EQ(conf.mode, 0640u);
    EXPECT_EQ(conf.owner, "root");
    EXPECT_EQ(conf.group, daemon);
    const auto conffiles = run({"dpkg-query", "-W", "-f=${Conffiles}", daemon});
    EXPECT_THAT(conffiles.output, HasSubstr(config.string() + " "));
    const auto check = run({binary.string(), "--config", config.string(), "--check-config"});
    EXPECT_EQ(check.exit_code, 0) << check.output;

    // State directory owned by the service user, private.
    const auto st = stat_file(state);
    EXPECT_TRUE(st.exists);
    EXPECT_EQ(st.mode, 0700u);
    EXPECT_EQ(st.owner, daemon);

    // Unit, man page, docs.
    const fs::path unit = "/lib/systemd/system/" + daemon + ".service";
    EXPECT_TRUE(fs::exists(unit));
    EXPECT_TRUE(fs::exists("/usr/share/man/man8/" + daemon + ".8.gz"));
    EXPECT_TRUE(fs::exists("/usr/share/doc/" + daemon + "/copyright"));
    const auto verify = run({"systemd-analyze", "verify", unit.string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
    EXPECT_EQ(verify.output, "") << "systemd-analyze verify " << unit;
    EXPECT_TRUE(fs::exists("/usr/lib/sysusers.d/" + daemon + ".conf"));
    for (const auto& doc : k_docs.at(daemon)) {
      EXPECT_TRUE(doc_installed(daemon, doc)) << doc;
    }
    // Every source type is named where a user looks first.
    const auto description = run({"dpkg-query", "-W", "-f=${Description}", daemon}).output;
    const auto man = run({"sh", "-c", "zcat /usr/share/man/man8/" + daemon + ".8.gz"}).output;
    for (const std::string type : {"Twitch", "YouTube", "Kick", "nginx-rtmp", "Owncast", "MediaMTX",
                                   "SRS", "Icecast", "JSON"}) {
      if (daemon == "streamtrack-agent") {
        EXPECT_THAT(description, HasSubstr(type));
      }
      EXPECT_THAT(man, HasSubstr(type == "nginx-rtmp" ? "nginx\\-rtmp" : type)) << daemon;
    }
  }

  // 3b. The first start on a machine without PostgreSQL (nor a broker): the service, as its
  // unit starts it with the shipped config, gets ready at once (systemd's start returns, no
  // failed unit) and /readyz names the database.
  ASSERT_FALSE(port_open(5432)) << "something listens on 127.0.0.1:5432; this test needs it free";
  {
    Process::Options p;
    p.argv = {"/usr/bin/streamtrack-collector", "--config", "/etc/streamtrack/collector.toml"};
    TempDir logs("first-start");
    p.log_file = logs / "collector.log";
    Process collector(p);
    EXPECT_TRUE(collector.wait_for_output("collector: ready", 15s)) << collector.output();
    std::string readyz;
    EXPECT_TRUE(wait_until([&] {
      const auto [code, body] = http_get(9465, "/readyz");
      readyz = body;
      return code == 503 && body.find("unreachable") != std::string::npos;
    })) << readyz
        << "\n"
        << collector.output();
    EXPECT_THAT(readyz, HasSubstr("\"database\""));
    EXPECT_THAT(readyz, HasSubstr("5432"));
    EXPECT_EQ(collector.stop(), 0) << collector.output();
  }

  // 4. Upgrade in place (reinstall): a changed config and the outbox survive.
  const fs::path agent_conf = "/etc/streamtrack/agent.toml";
  const fs::path outbox = "/var/lib/streamtrack-agent/outbox.db";
  { std::ofstream(agent_conf, std::ios::app) << "# local change kept across upgrades\n"; }
  write_file(outbox, "unsent samples");
  installed = run({"dpkg", "--force-confold", "-i", debs["streamtrack-agent"].string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.output;
  EXPECT_THAT(read_file(agent_conf), HasSubstr("# local change kept across upgrades"));
  EXPECT_EQ(read_file(outbox), "unsent samples");
  EXPECT_EQ(stat_file(agent_conf).mode, 0640u);
  EXPECT_EQ(stat_file(agent_conf).group, "streamtrack-agent");

  // 5. Remove: binaries go, config and state stay.
  auto removed = run({"dpkg", "-r", "streamtrack-agent", "streamtrack-collector"});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  for (const auto& daemon : k_daemons) {
    EXPECT_FALSE(fs::exists("/usr/bin/" + daemon));
    EXPECT_TRUE(fs::exists("/etc/streamtrack/" + short_name(daemon) + ".toml"));
    EXPECT_TRUE(fs::exists("/var/lib/" + daemon));
  }
  EXPECT_EQ(read_file(outbox), "unsent samples");

  // 6. Purge: config, state and the permission override go.
  removed = run({"dpkg", "--purge", "streamtrack-agent", "streamtrack-collector"});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  for (const auto& daemon : k_daemons) {
    const fs::path config = "/etc/streamtrack/" + short_name(daemon) + ".toml";
    EXPECT_FALSE(fs::exists(config));
    EXPECT_FALSE(fs::exists("/var/lib/" + daemon));
    EXPECT_NE(run({"dpkg-statoverride", "--list", config.string()}).exit_code, 0);
    const auto status = run({"dpkg-query", "-W", "-f=${db:Status-Status}", daemon});
    EXPECT_TRUE(status.exit_code != 0 || status.output == "not-installed") << status.output;
  }
  EXPECT_FALSE(fs::exists("/etc/streamtrack"));
}

}  // namespace
}  // namespace streamtrack::testing
