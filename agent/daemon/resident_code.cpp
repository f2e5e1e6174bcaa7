#include "agent/daemon/resident_code.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace streamtrack::agent {

namespace {

struct CodeMapping {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
  bool candidate = false;  // r-xp or r--p, backed by a file
  long rss_kib = 0;
  long anonymous_kib = 0;
};

// A line of /proc/self/smaps that starts a mapping: "begin-end perms offset dev inode path".
bool parse_header(const std::string& line, CodeMapping& out) {
  std::istringstream in(line);
  std::string range;
  std::string perms;
  std::string offset;
  std::string device;
  std::string inode;
  std::string path;
  if (!(in >> range >> perms >> offset >> device >> inode)) return false;
  const auto dash = range.find('-');
  if (dash == std::string::npos || perms.size() != 4) return false;
  std::getline(in >> std::ws, path);
  out = CodeMapping{};
  out.begin = std::stoull(range.substr(0, dash), nullptr, 16);
  out.end = std::stoull(range.substr(dash + 1), nullptr, 16);
  // Read-only, private, of a regular file still in place: not [vdso], not an anonymous mapping,
  // not "(deleted)"; code (r-xp) or read-only data (r--p: symbol tables, constants).
  out.candidate = (perms == "r-xp" || perms == "r--p") && inode != "0" && path.starts_with("/") &&
                  !path.ends_with(" (deleted)");
  return true;
}

long field_kib(const std::string& line) {
  return std::stol(line.substr(line.find(':') + 1));
}

}  // namespace

CodeRelease release_code_pages() {
  CodeRelease result;
  std::vector<CodeMapping> mappings;
  try {
    std::ifstream smaps("/proc/self/smaps");
    if (!smaps) {
      result.error = "cannot read /proc/self/smaps";
      return result;
    }
    std::string line;
    CodeMapping current;
    bool open = false;
    while (std::getline(smaps, line)) {
      CodeMapping next;
      if (!line.empty() && line.find(':') != std::string::npos && line.find(' ') > line.find(':')) {
        // "Rss:   123 kB" and the like: a field of the current mapping.
        if (!open) continue;
        if (line.starts_with("Rss:")) current.rss_kib = field_kib(line);
        if (line.starts_with("Anonymous:")) current.anonymous_kib = field_kib(line);
        continue;
      }
      if (!parse_header(line, next)) continue;
      if (open) mappings.push_back(current);
      current = next;
      open = true;
    }
    if (open) mappings.push_back(current);
  } catch (const std::exception& e) {
    result.error = std::string("cannot parse /proc/self/smaps: ") + e.what();
    return result;
  }
  for (const auto& m : mappings) {
    if (!m.candidate || m.anonymous_kib != 0 || m.rss_kib == 0) continue;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the address comes from the kernel's own list
    void* begin = reinterpret_cast<void*>(m.begin);
    if (::madvise(begin, m.end - m.begin, MADV_DONTNEED) != 0) continue;
    ++result.mappings;
    result.resident_bytes += static_cast<std::size_t>(m.rss_kib) * 1024;
  }
  return result;
}

}  // namespace streamtrack::agent
