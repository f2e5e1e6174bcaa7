#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

namespace fs = std::filesystem;

// A zombie waiting for its (possibly slow) reaper counts as dead.
bool pid_alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

Process::Options command(std::vector<std::string> argv) {
  Process::Options options;
  options.argv = std::move(argv);
  return options;
}

TEST(TempDirTest, CreatesAndRemovesItsDirectory) {
  fs::path kept;
  {
    TempDir dir("harness-selftest");
    kept = dir.path();
    ASSERT_TRUE(fs::is_directory(kept));
    EXPECT_NE(kept.filename().string().find("harness-selftest-"), std::string::npos);
    fs::create_directories(dir / "a" / "b");
    write_file(dir / "a" / "b" / "f.txt", "x");
  }
  EXPECT_FALSE(fs::exists(kept));
}

TEST(TempDirTest, TwoDirectoriesDiffer) {
  TempDir a;
  TempDir b;
  EXPECT_NE(a.path(), b.path());
}

TEST(FileTest, WriteThenReadRoundTripsBinary) {
  TempDir dir;
  std::string text("line1\nline2\0binary", 18);
  write_file(dir / "f", text);
  EXPECT_EQ(read_file(dir / "f"), text);
  write_file(dir / "f", "short");
  EXPECT_EQ(read_file(dir / "f"), "short");
  EXPECT_THROW(read_file(dir / "missing"), std::runtime_error);
}

TEST(FreePortTest, PortsAreDistinctAndBindable) {
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 20; ++i) ports.insert(free_port());
  EXPECT_EQ(ports.size(), 20u);
  for (auto p : ports) EXPECT_FALSE(port_accepts(p)) << p;
}

TEST(WaitUntilTest, ReturnsTrueOnceThePredicateHolds) {
  int calls = 0;
  EXPECT_TRUE(wait_until([&] { return ++calls >= 3; }, 5s));
  EXPECT_EQ(calls, 3);
}

TEST(WaitUntilTest, ReturnsFalseAfterTheTimeout) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_until([] { return false; }, 100ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

TEST(SourceDirTest, PointsAtTheSourceTree) {
  EXPECT_TRUE(fs::exists(source_dir() / "tests" / "support" / "harness.hpp")) << source_dir();
  EXPECT_FALSE(bin_dir().empty());
}

TEST(RunCommandTest, CapturesStdoutStderrAndExitCode) {
  auto result = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.output.find("out\n"), std::string::npos);
  EXPECT_NE(result.output.find("err\n"), std::string::npos);
}

TEST(RunCommandTest, PassesExtraEnvironment) {
  auto result = run_command({"sh", "-c", "printf '%s' \"$HARNESS_VALUE\""}, 10s,
                            {"HARNESS_VALUE=hello world"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.output, "hello world");
}

TEST(RunCommandTest, TimesOutAndKills) {
  auto start = std::chrono::steady_clock::now();
  auto result = run_command({"sleep", "30"}, 200ms);
  EXPECT_EQ(result.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(RunCommandTest, MissingProgramExits127) {
  auto result = run_command({"/nonexistent/program"});
  EXPECT_EQ(result.exit_code, 127);
  EXPECT_NE(result.output.find("/nonexistent/program"), std::string::npos);
}

TEST(ProcessTest, OutputIsCapturedAndAwaitable) {
  Process p(command({"sh", "-c", "echo starting; sleep 0.2; echo ready-now; exec sleep 30"}));
  EXPECT_TRUE(p.wait_for_output("ready-now", 10s));
  EXPECT_TRUE(p.running());
  EXPECT_NE(p.output().find("starting"), std::string::npos);
  EXPECT_FALSE(p.wait_for_output("never printed", 100ms));
}

TEST(ProcessTest, StopReturnsSignalExitCode) {
  Process p(command({"sleep", "30"}));
  ASSERT_TRUE(p.running());
  EXPECT_EQ(p.stop(), 128 + SIGTERM);
  EXPECT_FALSE(p.running());
  EXPECT_FALSE(pid_alive(p.pid()));
}

TEST(ProcessTest, StopEscalatesToSigkill) {
  Process p(command({"sh", "-c", "trap '' TERM; echo trapped; while :; do sleep 0.05; done"}));
  ASSERT_TRUE(p.wait_for_output("trapped", 10s));
  EXPECT_EQ(p.stop(300ms), 128 + SIGKILL);
}

TEST(ProcessTest, StopAlsoKillsGrandchildren) {
  TempDir dir;
  auto pidfile = dir / "child.pid";
  Process p(command({"sh", "-c", "sleep 60 & echo $! > " + pidfile.string() + "; wait"}));
  ASSERT_TRUE(wait_until([&] { return fs::exists(pidfile) && !read_file(pidfile).empty(); }, 10s));
  pid_t child = std::stoi(read_file(pidfile));
  ASSERT_TRUE(pid_alive(child));
  p.stop();
  EXPECT_TRUE(wait_until([&] { return !pid_alive(child); }, 10s));
}

TEST(ProcessTest, DestructorKillsTheProcess) {
  pid_t pid = -1;
  {
    Process p(command({"sleep", "30"}));
    pid = p.pid();
    ASSERT_TRUE(pid_alive(pid));
  }
  EXPECT_FALSE(pid_alive(pid));
}

TEST(ProcessTest, ChildDiesWhenTheTestProcessDies) {
  TempDir dir;
  auto pidfile = dir / "pid";
  // A stand-in for a crashing test binary: starts a server-like child, then exits without
  // running any destructor. (This unit test binary has no other threads, so fork is safe.)
  pid_t test_process = ::fork();
  ASSERT_GE(test_process, 0);
  if (test_process == 0) {
    auto options = command({"sleep", "60"});
    options.log_file = dir / "sleep.log";  // inside `dir`: nothing of the child's is left over
    auto* child = new Process(options);
    write_file(pidfile, std::to_string(child->pid()));
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(test_process, &status, 0), test_process);
  ASSERT_TRUE(fs::exists(pidfile));
  pid_t orphan = std::stoi(read_file(pidfile));
  EXPECT_TRUE(wait_until([&] { return !pid_alive(orphan); }, 10s));
}

TEST(ProcessTest, WaitReturnsExitCodeOrNulloptOnTimeout) {
  Process quick(command({"sh", "-c", "exit 7"}));
  EXPECT_EQ(quick.wait(10s), 7);
  Process slow(command({"sleep", "30"}));
  EXPECT_EQ(slow.wait(100ms), std::nullopt);
  EXPECT_TRUE(slow.running());
}

TEST(ProcessTest, SignalReachesTheProcess) {
  Process p(
      command({"sh", "-c", "trap 'echo got-hup' HUP; echo armed; while :; do sleep 0.05; done"}));
  ASSERT_TRUE(p.wait_for_output("armed", 10s));
  p.signal(SIGHUP);
  EXPECT_TRUE(p.wait_for_output("got-hup", 10s));
}

TEST(ProcessTest, CwdEnvAndLogFileOptions) {
  TempDir dir;
  auto options = command({"sh", "-c", "pwd; echo \"v=$HARNESS_X\""});
  options.env = {"HARNESS_X=42"};
  options.log_file = dir / "my.log";
  options.cwd = dir.path();
  Process p(options);
  EXPECT_EQ(p.wait(10s), 0);
  EXPECT_EQ(p.log_file(), dir / "my.log");
  auto out = read_file(dir / "my.log");
  EXPECT_NE(out.find(fs::canonical(dir.path()).string() + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("v=42\n"), std::string::npos) << out;
}

TEST(ProcessTest, RunsAsAnotherUserWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const passwd* pw = ::getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  auto options = command({"id", "-u"});
  options.uid = pw->pw_uid;
  options.gid = pw->pw_gid;
  Process p(options);
  EXPECT_EQ(p.wait(10s), 0);
  EXPECT_EQ(p.output(), std::to_string(pw->pw_uid) + "\n");
}

}  // namespace
}  // namespace streamtrack::testing
