#pragma once

#include <cstdint>

#include "collector/store/pg_connection.hpp"

// stream_analytics_hourly, maintained incrementally: writers leave in analytics_dirty, per
// (livestream, hour) a batch touched, the aggregates of the rows it stored (schema.hpp); a
// refresh merges them into the hourly rows without reading livestream_metrics. An hour marked
// without aggregates, or whose hourly row has no sums yet (written before migration 9), is
// recomputed from the raw rows instead. The result equals full_recompute_sql() over all rows
// (the bitrate average up to the order in which floating-point values are added).
namespace streamtrack::collector::analytics {

// Brings the hours marked since the last refresh up to date, in one transaction; reads
// livestream_metrics only when an hour must be recomputed. Only one collector refreshes at a
// time (others return 0 at once). Returns the number of hourly rows written. Throws
// store::PgError.
std::int64_t refresh_hourly(store::PgConnection& conn);

// A SELECT producing every column of stream_analytics_hourly except refreshed_at from all raw
// rows: what the table must equal after a refresh.
const char* full_recompute_sql();

}  // namespace streamtrack::collector::analytics
