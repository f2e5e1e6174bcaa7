#include "collector/partitions/partition_manager.hpp"

#include <cstdio>
#include <regex>
#include <set>

namespace streamtrack::collector::partitions {

Month month_of(TimePoint t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month()))};
}

Month add_months(Month m, int n) {
  const int index = m.year * 12 + (m.month - 1) + n;
  return {index / 12, index % 12 + 1};
}

std::string partition_name(Month m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "livestream_metrics_y%04dm%02d", m.year, m.month);
  return buf;
}

std::optional<Month> parse_partition_name(std::string_view name) {
  static const std::regex k_pattern("livestream_metrics_y([0-9]{4})m([0-9]{2})");
  std::cmatch match;
  if (!std::regex_match(name.begin(), name.end(), match, k_pattern)) return std::nullopt;
  Month m{std::stoi(match[1].str()), std::stoi(match[2].str())};
  if (m.month < 1 || m.month > 12) return std::nullopt;
  return m;
}

std::string month_start_text(Month m) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-01 00:00:00+00", m.year, m.month);
  return buf;
}

namespace {

std::set<Month> existing_partitions(store::PgConnection& conn) {
  const auto r = conn.exec(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'livestream_metrics'::regclass");
  std::set<Month> months;
  for (int i = 0; i < r.rows(); ++i) {
    if (const auto m = parse_partition_name(r.text(i, 0))) months.insert(*m);
  }
  return months;
}

// Creates the partition for `m`, moving any rows of that month out of the default partition
// first (PostgreSQL refuses a new partition while the default holds rows that belong to it).
std::int64_t create_partition(store::PgConnection& conn, Month m) {
  const auto from = month_start_text(m);
  const auto to = month_start_text(add_months(m, 1));
  const auto name = partition_name(m);
  conn.exec("BEGIN");
  try {
    conn.exec("LOCK TABLE livestream_metrics IN SHARE ROW EXCLUSIVE MODE");
    conn.exec("CREATE TEMP TABLE partition_move (LIKE livestream_metrics) ON COMMIT DROP");
    conn.exec("WITH moved AS (DELETE FROM livestream_metrics_default WHERE \"timestamp\" >= '" +
              from + "' AND \"timestamp\" < '" + to +
              "' RETURNING *) INSERT INTO partition_move SELECT * FROM moved");
    conn.exec("CREATE TABLE " + name + " PARTITION OF livestream_metrics FOR VALUES FROM ('" +
              from + "') TO ('" + to + "')");
    const auto moved = conn.exec("INSERT INTO " + name + " SELECT * FROM partition_move");
    conn.exec("COMMIT");
    return moved.affected();
  } catch (...) {
    if (conn.healthy()) conn.exec("ROLLBACK");
    throw;
  }
}

}  // namespace

MaintenanceReport maintain_partitions(store::PgConnection& conn, TimePoint now, int premake_months,
                                      int retention_months) {
  MaintenanceReport report;
  conn.exec("SELECT pg_advisory_lock(7310003)");
  try {
    const Month current = month_of(now);
    const std::optional<Month> keep_from =
        retention_months > 0 ? std::optional<Month>(add_months(current, -retention_months))
                             : std::nullopt;
    auto existing = existing_partitions(conn);

    std::set<Month> wanted;
    for (int i = 0; i <= premake_months; ++i) wanted.insert(add_months(current, i));
    const auto stray = conn.exec(
        "SELECT DISTINCT to_char(date_trunc('month', \"timestamp\" AT TIME ZONE 'UTC'), "
        "'YYYY-MM') FROM livestream_metrics_default");
    for (int i = 0; i < stray.rows(); ++i) {
      const auto text = stray.text(i, 0);
      const Month m{std::stoi(text.substr(0, 4)), std::stoi(text.substr(5, 2))};
      if (!keep_from || m >= *keep_from) wanted.insert(m);
    }
    for (const auto& m : wanted) {
      if (existing.count(m)) continue;
      report.rescued_rows += create_partition(conn, m);
      report.created.push_back(partition_name(m));
      existing.insert(m);
    }
    if (keep_from) {
      for (const auto& m : existing) {
        if (m >= *keep_from) continue;
        const auto name = partition_name(m);
        conn.exec("ALTER TABLE livestream_metrics DETACH PARTITION " + name);
        conn.exec("DROP TABLE " + name);
        report.dropped.push_back(name);
      }
    }
    report.default_rows =
        conn.exec("SELECT count(*) FROM livestream_metrics_default").integer(0, 0);
  } catch (...) {
    if (conn.healthy()) conn.exec("SELECT pg_advisory_unlock(7310003)");
    throw;
  }
  conn.exec("SELECT pg_advisory_unlock(7310003)");
  return report;
}

}  // namespace streamtrack::collector::partitions
