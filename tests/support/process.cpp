#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "tests/support/harness.hpp"

extern char** environ;

namespace streamtrack::testing {

namespace fs = std::filesystem;

namespace {

std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    fs::path candidate = fs::path(path.substr(start, end - start)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return program;
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto key_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    bool overridden = false;
    for (const auto& add : extra) overridden = overridden || key_of(add) == key_of(entry);
    if (!overridden) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void child_fail(const char* what) {
  const char* reason = std::strerror(errno);
  auto ignored = ::write(STDERR_FILENO, "streamtrack harness: ", 21);
  ignored = ::write(STDERR_FILENO, what, std::strlen(what));
  ignored = ::write(STDERR_FILENO, ": ", 2);
  ignored = ::write(STDERR_FILENO, reason, std::strlen(reason));
  ignored = ::write(STDERR_FILENO, "\n", 1);
  (void)ignored;
  ::_exit(127);
}

int decode_status(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;
}

}  // namespace

Process::Process(Options options) {
  if (options.argv.empty()) throw std::invalid_argument("Process: empty argv");
  if (options.log_file.empty()) {
    m_own_dir = std::make_unique<TempDir>("streamtrack-proc");
    m_log = m_own_dir->path() / "output.log";
  } else {
    m_log = options.log_file;
  }

  // Everything the child needs is prepared before fork(): after it, only async-signal-safe
  // calls are allowed (the test process has Paho and civetweb threads).
  std::string program = resolve_program(options.argv[0]);
  std::vector<std::string> argv = options.argv;
  std::vector<std::string> env = merged_environment(options.env);
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);
  std::string log = m_log.string();
  std::string cwd = options.cwd.string();

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("Process: fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log_fd < 0) child_fail("open log file");
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) child_fail("chdir");
    if (options.gid) {
      if (::setgroups(0, nullptr) != 0) child_fail("setgroups");
      if (::setgid(*options.gid) != 0) child_fail("setgid");
    }
    if (options.uid && ::setuid(*options.uid) != 0) child_fail("setuid");
    // Set after setuid (which clears it): a crashed or killed test run leaves no servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::execve(program.c_str(), c_argv.data(), c_env.data());
    child_fail(program.c_str());
  }
  ::setpgid(pid, pid);  // also done in the child; whichever runs first wins the race
  m_pid = pid;
}

Process::~Process() {
  if (m_pid > 0 && !m_exit) stop(5s);
}

bool Process::running() {
  if (m_pid <= 0 || m_exit) return false;
  siginfo_t info{};
  // WNOWAIT keeps the zombie, so the process group id cannot be reused while we kill
  // whatever the child left behind in its group.
  if (::waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    m_exit = -1;
    return false;
  }
  if (info.si_pid == 0) return true;
  ::kill(-m_pid, SIGKILL);
  ::waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED);
  m_exit = decode_status(info);
  return false;
}

void Process::signal(int sig) {
  if (running()) ::kill(m_pid, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  wait_until([this] { return !running(); }, timeout);
  if (running()) return std::nullopt;
  return m_exit;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (running()) {
    ::kill(-m_pid, SIGTERM);
    if (!wait(grace)) {
      ::kill(-m_pid, SIGKILL);
      wait(k_event_timeout);
    }
  }
  return m_exit.value_or(-1);
}

std::string Process::output() const {
  std::error_code ec;
  if (!fs::exists(m_log, ec)) return {};
  return read_file(m_log);
}

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) const {
  return wait_until([&] { return output().find(needle) != std::string::npos; }, timeout);
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::string>& env) {
  Process::Options options;
  options.argv = argv;
  options.env = env;
  Process process(std::move(options));
  CommandResult result;
  auto code = process.wait(timeout);
  if (!code) {
    process.stop(1s);
    result.exit_code = -1;
    result.output = process.output() + "\n[timed out]\n";
    return result;
  }
  result.exit_code = *code;
  result.output = process.output();
  return result;
}

}  // namespace streamtrack::testing
