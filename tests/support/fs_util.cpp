#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

namespace fs = std::filesystem;

namespace {

fs::path env_path(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  if (value != nullptr && *value != '\0') return fs::path(value);
  return fs::path(fallback);
}

bool can_listen(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // No SO_REUSEADDR on purpose: a port with connections in TIME_WAIT is treated as taken.
  bool ok =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

// Ports below the kernel's ephemeral range, so an outgoing connection never grabs one
// between free_port() and the server's bind().
std::pair<int, int> port_range() {
  int low = 32768;
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 0;
  int hi = 0;
  if (in >> lo >> hi && lo > 20000) low = lo;
  return {15000, low - 1};
}

// Test processes run in parallel (ctest -j): a port stays reserved for the whole life of the
// process that took it, through an flock on a file named after it, so that another test
// process never hands out the same port before the first one's server has bound it. The
// descriptor is close-on-exec and intentionally never closed: the kernel drops the lock when
// the process exits, however it exits.
bool reserve_across_processes(std::uint16_t port) {
  const fs::path dir = fs::temp_directory_path() / "streamtrack-test-ports";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::permissions(dir, fs::perms::all, fs::perm_options::add, ec);
  const auto path = dir / (std::to_string(port) + ".lock");
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0) return true;  // cannot coordinate: fall back to the bind check alone
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  return true;
}

}  // namespace

fs::path source_dir() {
  return env_path("STREAMTRACK_SOURCE_DIR", STREAMTRACK_DEFAULT_SOURCE_DIR);
}

fs::path bin_dir() {
  return env_path("STREAMTRACK_BIN_DIR", STREAMTRACK_DEFAULT_BIN_DIR);
}

TempDir::TempDir(const std::string& prefix) : TempDir(prefix, fs::temp_directory_path()) {}

TempDir::TempDir(const std::string& prefix, const fs::path& base) {
  std::string templ = (base / (prefix + "-XXXXXX")).string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("TempDir: mkdtemp(" + templ + "): " + std::strerror(errno));
  }
  m_path = fs::path(buf.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(m_path, ec);
}

std::uint16_t free_port() {
  static std::mutex mutex;
  static std::set<std::uint16_t> handed_out;
  static std::mt19937 rng(
      static_cast<unsigned>(std::random_device{}() ^ static_cast<unsigned>(::getpid())));
  std::lock_guard lock(mutex);
  auto [lo, hi] = port_range();
  std::uniform_int_distribution<int> dist(lo, hi);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto port = static_cast<std::uint16_t>(dist(rng));
    if (handed_out.count(port) != 0) continue;
    if (can_listen(port) && reserve_across_processes(port)) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("free_port: no free port found");
}

bool port_accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(20ms);
  }
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("write_file: cannot open " + path.string());
  out << text;
  if (!out.flush()) throw std::runtime_error("write_file: cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("read_file: cannot open " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace streamtrack::testing
