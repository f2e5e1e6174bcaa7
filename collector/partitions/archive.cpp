#include "collector/partitions/archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace streamtrack::collector::partitions {

namespace {

std::string errno_text(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

void sync_path(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw ArchiveError(errno_text("cannot open", path));
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw ArchiveError(errno_text("cannot sync", path));
}

// A gzip stream on a file descriptor of our own, so the file can be synced after zlib closed
// its copy.
class GzFile {
 public:
  explicit GzFile(const std::filesystem::path& path) : m_path(path) {
    // A name already there (a link, a file left by a crash) is removed, never written through.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      throw ArchiveError(errno_text("cannot remove", path));
    }
    m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (m_fd < 0) throw ArchiveError(errno_text("cannot create", path));
    const int zfd = ::dup(m_fd);
    m_gz = zfd < 0 ? nullptr : gzdopen(zfd, "wb6");
    if (m_gz == nullptr) {
      if (zfd >= 0) ::close(zfd);
      ::close(m_fd);
      throw ArchiveError("cannot start compressing " + path.string());
    }
  }
  ~GzFile() {
    if (m_gz != nullptr) gzclose(m_gz);
    if (m_fd >= 0) ::close(m_fd);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  void write(std::string_view data) {
    while (!data.empty()) {
      const auto n = static_cast<unsigned>(std::min<std::size_t>(data.size(), 1u << 20));
      if (gzwrite(m_gz, data.data(), n) != static_cast<int>(n)) {
        int code = 0;
        const char* message = gzerror(m_gz, &code);
        throw ArchiveError("cannot write " + m_path.string() + ": " +
                           (code == Z_ERRNO ? std::strerror(errno) : message));
      }
      data.remove_prefix(n);
    }
  }
  // Finishes the stream and syncs the file to disk.
  void finish() {
    const int code = gzclose(m_gz);
    m_gz = nullptr;
    if (code != Z_OK) throw ArchiveError(errno_text("cannot finish", m_path));
    if (::fsync(m_fd) != 0) throw ArchiveError(errno_text("cannot sync", m_path));
    if (::close(m_fd) != 0) {
      m_fd = -1;
      throw ArchiveError(errno_text("cannot close", m_path));
    }
    m_fd = -1;
  }

 private:
  std::filesystem::path m_path;
  int m_fd = -1;
  gzFile m_gz = nullptr;
};

// Creates `dir` and its missing parents (mode 0700), each made durable in its parent.
void make_directory(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> missing;
  std::error_code ec;
  for (auto p = dir; !p.empty() && !std::filesystem::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  if (!std::filesystem::create_directories(dir, ec) || ec) {
    throw ArchiveError("cannot create directory " + dir.string() + ": " + ec.message());
  }
  ::chmod(dir.c_str(), 0700);
  for (const auto& made : missing) sync_path(made.parent_path(), O_RDONLY | O_DIRECTORY);
}

// "20260315T120000Z", for a second archive of the same table.
std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Gives `partial` the name `file`, or when that exists (an earlier archive, never replaced)
// <table>.<UTC time>[-n].copy.gz; returns the name it got.
std::filesystem::path publish(const std::filesystem::path& partial,
                              const std::filesystem::path& dir, const std::string& table) {
  std::filesystem::path file = dir / (table + ".copy.gz");
  const auto stamp = utc_stamp();
  for (int n = 0; ::link(partial.c_str(), file.c_str()) != 0; ++n) {
    if (errno != EEXIST || n >= 1000) throw ArchiveError(errno_text("cannot link to", file));
    std::string name = table;
    name.append(".").append(stamp);
    if (n > 0) name.append("-").append(std::to_string(n));
    file = dir / name.append(".copy.gz");
  }
  if (::unlink(partial.c_str()) != 0) throw ArchiveError(errno_text("cannot remove", partial));
  return file;
}

}  // namespace

ArchiveResult archive_table(store::PgConnection& conn, const std::string& table,
                            const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) make_directory(dir);
  ArchiveResult result;
  const auto partial = dir / (table + ".copy.gz.partial");
  std::int64_t lines = 0;
  try {
    GzFile out(partial);
    conn.copy_out("COPY " + table + " TO STDOUT WITH (FORMAT text, HEADER true)",
                  [&](std::string_view chunk) {
                    lines += std::count(chunk.begin(), chunk.end(), '\n');
                    out.write(chunk);
                  });
    out.finish();
    result.file = publish(partial, dir, table);
  } catch (...) {
    std::filesystem::remove(partial, ec);
    throw;
  }
  sync_path(dir, O_RDONLY | O_DIRECTORY);
  result.rows = std::max<std::int64_t>(0, lines - 1);  // the header line
  return result;
}

}  // namespace streamtrack::collector::partitions
