#pragma once

#include <cstdint>
#include <string>

// Every PostgreSQL advisory lock the collectors take, in one place so that no two uses collide.
// The one-key (bigint) and two-key (integer, integer) forms are separate lock spaces.
namespace streamtrack::collector::store::lock_keys {

// Session lock while applying schema migrations (one collector at a time).
inline constexpr std::int64_t k_migrations = 7310001;
// Session lock held by the collector that sends alert notifications (pg_try_advisory_lock).
inline constexpr std::int64_t k_alert_notifier = 7310002;
// Session lock around partition maintenance.
inline constexpr std::int64_t k_partitions = 7310003;
// Session lock around retention (archiving and dropping expired months), apart from
// k_partitions so that creating next month's partition never waits for an archive.
inline constexpr std::int64_t k_retention = 7310005;
// Transaction lock of the hourly analytics refresh (pg_try_advisory_xact_lock).
inline constexpr std::int64_t k_analytics_refresh = 7310004;
// Two-key transaction lock (k_derived_session, channel id % 2^31-1) while a writer looks up or
// opens a derived session of one channel.
inline constexpr std::int64_t k_derived_session = 7310002;

inline std::string text(std::int64_t key) {
  return std::to_string(key);
}

}  // namespace streamtrack::collector::store::lock_keys
