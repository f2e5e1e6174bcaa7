#include "agent/outbox/seq_reservation.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace streamtrack::agent::outbox {

namespace fs = std::filesystem;

namespace {

// Writes `text` to `path` durably: write, fsync, close. False with `error` set on failure.
bool write_synced(const fs::path& path, const std::string& text, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = "cannot write " + path.string() + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    error = "cannot fsync " + path.string() + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (::close(fd) != 0) {
    error = "cannot close " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// Makes a rename in `dir` durable.
bool sync_directory(const fs::path& dir, std::string& error) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    error = "cannot fsync directory " + dir.string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

}  // namespace

SeqReservation::SeqReservation(const fs::path& database) : m_path(database.string() + ".seq") {}

std::int64_t SeqReservation::read() const {
  std::ifstream in(m_path);
  std::int64_t value = 0;
  if (in >> value && value > 0) return value;
  return 0;
}

bool SeqReservation::write(std::int64_t value, std::string& error) const {
  const fs::path& target = m_path;
  const fs::path tmp(target.string() + ".tmp");
  if (!write_synced(tmp, std::to_string(value) + "\n", error)) return false;
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    error = "cannot write " + target.string() + ": " + ec.message();
    return false;
  }
  return sync_directory(target.parent_path(), error);
}

}  // namespace streamtrack::agent::outbox
