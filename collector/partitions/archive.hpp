#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "collector/store/pg_connection.hpp"

// Retention's archive: a month of livestream_metrics written to a compressed file before its
// partition is dropped, restorable with psql alone (docs/operations.md, "Archived months").
namespace streamtrack::collector::partitions {

// A file could not be written (the directory is missing and cannot be made, a full disk, no
// permission): nothing is dropped, the next round tries again.
class ArchiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ArchiveResult {
  std::filesystem::path file;
  std::int64_t rows = 0;
};

// Writes `table` to `<dir>/<table>.copy.gz`: COPY text format with a header line of column
// names, gzip-compressed. The file appears complete or not at all: it is written to a
// temporary name (created anew, never through a link), synced to disk, linked to its name, and
// the directory synced. An existing archive is never replaced: the new one is then named
// `<table>.<UTC time>[-n].copy.gz`. `dir` is created (mode 0700) when missing, durably (each
// new directory synced in its parent). Throws ArchiveError for the file, store::PgError for the
// database.
ArchiveResult archive_table(store::PgConnection& conn, const std::string& table,
                            const std::filesystem::path& dir);

}  // namespace streamtrack::collector::partitions
