// release_code_pages() against this test process's own mappings and files it maps itself.
#include "agent/daemon/resident_code.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/harness.hpp"

namespace streamtrack::agent {
namespace {

constexpr std::size_t k_page = 4096;

// The Rss in KiB of the mapping that starts at `begin`, from /proc/self/smaps; -1 if none.
long rss_kib_of(const void* begin) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool found = false;
  while (std::getline(smaps, line)) {
    if (found && line.starts_with("Rss:")) return std::stol(line.substr(4));
    const auto dash = line.find('-');
    if (dash != std::string::npos && line.find(' ') > dash) {
      found =
          std::stoull(line.substr(0, dash), nullptr, 16) == reinterpret_cast<std::uintptr_t>(begin);
    }
  }
  return -1;
}

// A file of `pages` pages, each filled with its page number.
std::string write_pages(const testing::TempDir& dir, std::size_t pages) {
  const auto path = (dir / "code.bin").string();
  std::string bytes;
  for (std::size_t p = 0; p < pages; ++p) bytes.append(k_page, static_cast<char>('a' + p));
  testing::write_file(path, bytes);
  return path;
}

class MappedFile {
 public:
  MappedFile(const std::string& path, std::size_t bytes, int prot) : m_bytes(bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    m_data = static_cast<char*>(::mmap(nullptr, bytes, prot, MAP_PRIVATE, fd, 0));
    ::close(fd);
    if (m_data == MAP_FAILED) throw std::runtime_error("cannot map " + path);
  }
  ~MappedFile() { ::munmap(m_data, m_bytes); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  char* data() const { return m_data; }

 private:
  char* m_data = nullptr;
  std::size_t m_bytes;
};

TEST(ResidentCode, TheProcessKeepsRunningWhatItsCodeMappingsHeldAfterTheRelease) {
  const auto first = release_code_pages();
  EXPECT_EQ(first.error, "");
  EXPECT_GT(first.mappings, 2u);  // this test, libstdc++, libc at least
  EXPECT_GT(first.resident_bytes, 0u);
  // Code of the test, of libstdc++ and of libc, faulted in again from the same files.
  std::ostringstream text;
  text << 42 << ' ' << 1.5 << ' ' << std::string(100, 'x').size();
  EXPECT_EQ(text.str(), "42 1.5 100");
  // Only what ran since is resident again.
  const auto second = release_code_pages();
  EXPECT_EQ(second.error, "");
  EXPECT_LT(second.resident_bytes, first.resident_bytes);
}

TEST(ResidentCode, AFileMappingsPagesAreUnmappedAndReadAgainFromTheFile) {
  testing::TempDir dir("resident-code");
  const auto path = write_pages(dir, 4);
  MappedFile code(path, 4 * k_page, PROT_READ | PROT_EXEC);
  EXPECT_EQ(code.data()[0], 'a');
  EXPECT_EQ(code.data()[3 * k_page], 'd');
  ASSERT_GT(rss_kib_of(code.data()), 0);
  const auto released = release_code_pages();
  EXPECT_EQ(released.error, "");
  EXPECT_EQ(rss_kib_of(code.data()), 0);
  EXPECT_EQ(code.data()[0], 'a');
  EXPECT_EQ(code.data()[3 * k_page], 'd');
}

TEST(ResidentCode, ReadOnlyDataOfAFileIsUnmappedToo) {
  testing::TempDir dir("resident-code");
  const auto path = write_pages(dir, 2);
  MappedFile data(path, 2 * k_page, PROT_READ);
  EXPECT_EQ(data.data()[k_page], 'b');
  ASSERT_GT(rss_kib_of(data.data()), 0);
  release_code_pages();
  EXPECT_EQ(rss_kib_of(data.data()), 0);
  EXPECT_EQ(data.data()[k_page], 'b');
}

// A page written once (relocated data made read-only, a text relocation, a breakpoint) exists
// only in this process: unmapping it would bring the file's bytes back.
void expect_written_page_kept(int prot) {
  testing::TempDir dir("resident-code");
  const auto path = write_pages(dir, 2);
  MappedFile mapped(path, 2 * k_page, PROT_READ | PROT_WRITE);
  mapped.data()[0] = 'z';
  ASSERT_EQ(::mprotect(mapped.data(), 2 * k_page, prot), 0);
  EXPECT_EQ(mapped.data()[k_page], 'b');
  release_code_pages();
  EXPECT_EQ(mapped.data()[0], 'z');
  EXPECT_EQ(mapped.data()[k_page], 'b');
  EXPECT_GT(rss_kib_of(mapped.data()), 0);
}

TEST(ResidentCode, ACodeMappingWithAPageOfItsOwnIsLeftAsItIs) {
  expect_written_page_kept(PROT_READ | PROT_EXEC);
}

TEST(ResidentCode, AReadOnlyMappingWithAPageOfItsOwnIsLeftAsItIs) {
  expect_written_page_kept(PROT_READ);
}

}  // namespace
}  // namespace streamtrack::agent
