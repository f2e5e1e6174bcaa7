#pragma once

#include <string>
#include <vector>

#include "collector/store/pg_connection.hpp"
#include "common/util/time.hpp"

// Monthly partitions of livestream_metrics: livestream_metrics_yYYYYmMM, plus a default
// partition that should stay empty.
namespace streamtrack::collector::partitions {

// A calendar month in UTC.
struct Month {
  int year = 1970;
  int month = 1;  // 1..12
  auto operator<=>(const Month&) const = default;
};

Month month_of(TimePoint t);
Month add_months(Month m, int n);
// "livestream_metrics_y2026m03"
std::string partition_name(Month m);
// Parses partition_name(); nullopt for any other name (such as the default partition).
std::optional<Month> parse_partition_name(std::string_view name);
// "2026-03-01 00:00:00+00"
std::string month_start_text(Month m);

struct MaintenanceReport {
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  std::int64_t default_rows = 0;  // rows left in the default partition afterwards
  std::int64_t rescued_rows = 0;  // rows moved out of the default into new partitions
};

// Makes sure partitions exist for the month of `now` and `premake_months` months after it;
// months that have rows in the default partition get their partition too (the rows move
// there), unless retention would drop them. With `retention_months` > 0, partitions whose
// month lies entirely before the start of (month of now - retention_months) are detached and
// dropped. Serialised across collectors by an advisory lock. Throws store::PgError.
MaintenanceReport maintain_partitions(store::PgConnection& conn, TimePoint now, int premake_months,
                                      int retention_months);

}  // namespace streamtrack::collector::partitions
