// systemd/streamtrack-web.service as shipped: systemd-analyze verify and the exposure score,
// like the other daemons' units.
#include <gtest/gtest.h>

#include <regex>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

TEST(WebUnit, VerifiesAndIsHardened) {
  const auto unit = source_dir() / "systemd/streamtrack-web.service";
  auto text = read_file(unit);
  for (const std::string line :
       {"Type=notify", "WatchdogSec=", "--check-config", "ProtectSystem=strict",
        "NoNewPrivileges=yes", "\nCapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
        "UMask=0077", "User=streamtrack-web\n", "LoadCredential=postgres-password"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  TempDir dir("web-unit");
  const std::string installed = "/usr/bin/streamtrack-web";
  for (auto pos = text.find(installed); pos != std::string::npos;
       pos = text.find(installed, pos + 1)) {
    text.replace(pos, installed.size(), (bin_dir() / "streamtrack-web").string());
  }
  write_file(dir / "streamtrack-web.service", text);
  const auto verify = run_command(
      {"systemd-analyze", "verify", "--man=no", (dir / "streamtrack-web.service").string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(verify.output, "");
  const auto security =
      run_command({"systemd-analyze", "security", "--offline=true", "--no-pager", unit.string()});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(security.output, m,
                                std::regex(R"(Overall exposure level for [^:]+: ([0-9.]+))")))
      << security.output;
  EXPECT_LE(std::stod(m[1]), 2.0) << security.output;
}

}  // namespace
}  // namespace streamtrack::testing
