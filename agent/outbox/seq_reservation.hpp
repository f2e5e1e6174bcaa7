#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

// The outbox's seq reservation: the sidecar file "<db>.seq" holding the highest seq that may
// have been given out. Written durably (temporary file, fsync, rename, fsync of the directory)
// before any seq under it is used, so no seq is ever given out twice, whatever happens to the
// database itself.
namespace streamtrack::agent::outbox {

class SeqReservation {
 public:
  explicit SeqReservation(const std::filesystem::path& database);

  // The reserved seq, or 0 when the file is missing, unreadable or holds no positive number.
  std::int64_t read() const;

  // Replaces the reservation with `value`, durable when this returns true; false with `error`
  // naming the file and the system's reason (the previous reservation is then still in place).
  bool write(std::int64_t value, std::string& error) const;

  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

}  // namespace streamtrack::agent::outbox
