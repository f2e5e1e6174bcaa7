#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

TmpfsMount::TmpfsMount(std::size_t bytes) {
  const auto options = "size=" + std::to_string(bytes) + ",mode=0755";
  if (::mount("tmpfs", path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    throw std::runtime_error("TmpfsMount: mount on " + path().string() +
                             " failed: " + std::strerror(errno));
  }
  m_mounted = true;
}

TmpfsMount::~TmpfsMount() {
  // Detached: a process that still holds a file there (a failed test) cannot keep it mounted.
  if (m_mounted) ::umount2(path().c_str(), MNT_DETACH);
}

void TmpfsMount::fill() {
  std::ofstream out(path() / "filler", std::ios::binary | std::ios::app);
  const std::vector<char> chunk(4096, 'x');
  while (out.write(chunk.data(), static_cast<std::streamsize>(chunk.size())) && out.flush()) {
  }
}

void TmpfsMount::release() {
  std::error_code ec;
  std::filesystem::remove(path() / "filler", ec);
}

std::uintmax_t TmpfsMount::available() const {
  struct statvfs st {};
  if (::statvfs(path().c_str(), &st) != 0) return 0;
  return static_cast<std::uintmax_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace streamtrack::testing
