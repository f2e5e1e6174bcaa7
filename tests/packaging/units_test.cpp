// The systemd units as shipped: systemd-analyze verify and the security exposure score.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

class Units : public ::testing::TestWithParam<std::string> {};

std::filesystem::path unit_file(const std::string& daemon) {
  return source_dir() / "systemd" / (daemon + ".service");
}

TEST_P(Units, SecurityExposureIsAtMostTwo) {
  const auto daemon = GetParam();
  const auto result = run_command(
      {"systemd-analyze", "security", "--offline=true", "--no-pager", unit_file(daemon).string()});
  std::smatch m;
  const std::regex overall(R"(Overall exposure level for [^:]+: ([0-9]+\.[0-9]+))");
  ASSERT_TRUE(std::regex_search(result.output, m, overall)) << result.output;
  const double exposure = std::stod(m[1]);
  std::cout << daemon << ".service: systemd-analyze security exposure " << m[1] << "\n";
  RecordProperty("exposure", m[1]);
  EXPECT_LE(exposure, 2.0) << result.output;
}

// verify needs the executables named in Exec*= to exist; point them at the built daemon.
TEST_P(Units, VerifyPasses) {
  const auto daemon = GetParam();
  const auto binary = bin_dir() / daemon;
  ASSERT_TRUE(std::filesystem::exists(binary)) << binary;
  TempDir dir("units");
  auto text = read_file(unit_file(daemon));
  const std::string installed = "/usr/bin/" + daemon;
  for (auto pos = text.find(installed); pos != std::string::npos;
       pos = text.find(installed, pos + 1)) {
    text.replace(pos, installed.size(), binary.string());
  }
  write_file(dir / (daemon + ".service"), text);
  // --man=no: the man page is checked after installing the package (packaging_test).
  const auto result = run_command(
      {"systemd-analyze", "verify", "--man=no", (dir / (daemon + ".service")).string()});
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "");
}

TEST_P(Units, KeepsTheNotifyWatchdogAndReloadContract) {
  const auto text = read_file(unit_file(GetParam()));
  const std::string d = GetParam();
  for (const std::string& line : std::vector<std::string>{
           "Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID",
           "ExecStartPre=/usr/bin/" + GetParam() + " --config /etc/streamtrack/", "--check-config",
           "Restart=on-failure", "StartLimitBurst=", "ProtectSystem=strict", "NoNewPrivileges=yes",
           "\nCapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
           "SystemCallFilter=@system-service", "UMask=0077", "LoadCredential=mqtt-password",
           "StateDirectory=" + GetParam() + "\n", "User=" + GetParam() + "\n"}) {
    EXPECT_THAT(text, ::testing::HasSubstr(line));
  }
}

// Ordered after the network and, when they run on the same host, after the broker and the
// database; never bound to them: a daemon starts (not ready) without either, so a missing or
// stopped PostgreSQL or Mosquitto never fails its unit.
class UnitOrdering : public ::testing::TestWithParam<std::string> {};

TEST_P(UnitOrdering, OrdersItselfAfterTheNetworkBrokerAndDatabaseWithoutRequiringThem) {
  const auto text = read_file(unit_file(GetParam()));
  EXPECT_THAT(text, ::testing::HasSubstr("\nWants=network-online.target\n"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(\nAfter=([^\n]*)\n)"))) << text;
  const std::string after = m[1];
  EXPECT_THAT(after, ::testing::HasSubstr("network-online.target"));
  const bool is_agent = GetParam() == "streamtrack-agent";
  const bool is_web = GetParam() == "streamtrack-web";
  if (!is_web) {
    EXPECT_THAT(after, ::testing::HasSubstr("mosquitto.service"));
  }
  if (!is_agent) {
    EXPECT_THAT(after, ::testing::HasSubstr("postgresql.service"));
  }
  for (const char* hard : {"\nRequires=", "\nBindsTo=", "\nRequisite=", "\nPartOf="}) {
    EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr(hard)));
  }
}

INSTANTIATE_TEST_SUITE_P(Daemons, Units,
                         ::testing::Values("streamtrack-agent", "streamtrack-collector"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param == "streamtrack-agent" ? "agent" : "collector";
                         });

INSTANTIATE_TEST_SUITE_P(Daemons, UnitOrdering,
                         ::testing::Values("streamtrack-agent", "streamtrack-collector",
                                           "streamtrack-web"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param.substr(std::string("streamtrack-").size());
                         });

}  // namespace
}  // namespace streamtrack::testing
