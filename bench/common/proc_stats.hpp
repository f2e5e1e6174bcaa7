#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

// CPU time and memory of a running process from /proc, for benchmarks that compare processes
// on a shared machine: CPU seconds do not depend on how busy the other cores are, wall time does.
namespace streamtrack::bench {

// Fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime) of /proc/<pid>/stat, in clock ticks.
struct ProcStat {
  pid_t ppid = 0;
  unsigned long long own = 0;       // utime + stime, every thread
  unsigned long long children = 0;  // cutime + cstime: the children it has waited for
};

// /proc/<pid>/stat of `pid` into `out`; false when the process is gone.
inline bool read_proc_stat(const std::string& pid, ProcStat& out) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string text;
  if (!std::getline(in, text)) return false;
  // Field 2 (comm) may hold spaces: count the fields after its closing parenthesis.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  for (int i = 3; rest >> field; ++i) {
    if (i == 4) out.ppid = static_cast<pid_t>(std::stol(field));
    if (i == 14 || i == 15) out.own += std::stoull(field);
    if (i == 16 || i == 17) out.children += std::stoull(field);
    if (i == 17) return true;
  }
  return false;
}

inline double ticks_to_seconds(unsigned long long ticks) {
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// utime + stime of every thread of `pid`, in seconds; -1 when the process is gone.
inline double cpu_seconds(pid_t pid) {
  ProcStat stat;
  if (!read_proc_stat(std::to_string(pid), stat)) return -1;
  return ticks_to_seconds(stat.own);
}

// CPU seconds of the process `parent` and of all its children, in seconds: its own utime + stime,
// the cutime + cstime of the children it has waited for, and the utime + stime of each child
// alive (or not yet waited for) now. For a server that forks a process per connection or task
// (PostgreSQL's postmaster): a child that ends between two readings still counts, its time
// moving into the parent's cutime + cstime when the parent waits for it. -1 when `parent` is
// gone.
inline double process_tree_cpu_seconds(pid_t parent) {
  // A child the parent waits for while /proc is read would be in neither figure: the reading is
  // taken again until the parent's cutime + cstime did not move during it.
  for (int attempt = 0;; ++attempt) {
    ProcStat root;
    if (!read_proc_stat(std::to_string(parent), root)) return -1;
    unsigned long long ticks = root.own + root.children;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const auto name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      ProcStat child;
      if (read_proc_stat(name, child) && child.ppid == parent) ticks += child.own;
    }
    ProcStat after;
    if (!read_proc_stat(std::to_string(parent), after)) return -1;
    if (after.children == root.children || attempt == 9) return ticks_to_seconds(ticks);
  }
}

// Time the main thread of `pid` has run on a CPU, in seconds, from /proc/<pid>/schedstat
// (nanoseconds, where /proc/<pid>/stat counts clock ticks of 10 ms); -1 when it is gone. For
// a single-threaded process such as a PostgreSQL backend, timing steps of a few milliseconds.
inline double on_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  unsigned long long ns = 0;
  if (!(in >> ns)) return -1;
  return static_cast<double>(ns) / 1e9;
}

struct Memory {
  long pss_kib = -1;      // proportional set size: shared pages divided among their users
  long private_kib = -1;  // Private_Clean + Private_Dirty: pages this process alone uses
  // PSS split: anonymous pages (heap, stacks, written data) and pages of files (code, read-only
  // data), which the kernel can drop and read again.
  long pss_anon_kib = -1;
  long pss_file_kib = -1;
};

// From /proc/<pid>/smaps_rollup.
inline Memory memory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  Memory m;
  long private_clean = 0;
  long private_dirty = 0;
  const auto value = [](const std::string& l) { return std::stol(l.substr(l.find(':') + 1)); };
  while (std::getline(in, line)) {
    if (line.rfind("Pss:", 0) == 0) m.pss_kib = value(line);
    if (line.rfind("Pss_Anon:", 0) == 0) m.pss_anon_kib = value(line);
    if (line.rfind("Pss_File:", 0) == 0) m.pss_file_kib = value(line);
    if (line.rfind("Private_Clean:", 0) == 0) private_clean = value(line);
    if (line.rfind("Private_Dirty:", 0) == 0) private_dirty = value(line);
  }
  if (m.pss_kib >= 0) m.private_kib = private_clean + private_dirty;
  return m;
}

}  // namespace streamtrack::bench
