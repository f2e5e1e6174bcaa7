#pragma once

#include <cstdint>

#include "collector/store/pg_connection.hpp"

// stream_analytics_hourly, maintained incrementally: writers mark the (livestream, hour)
// pairs they touch in analytics_dirty; a refresh recomputes exactly those hours from the raw
// rows. The result equals full_recompute_sql() over all rows.
namespace streamtrack::collector::analytics {

// Recomputes the hours marked since the last refresh. Only one collector refreshes at a time
// (others return 0 at once). Returns the number of hourly rows written. Throws store::PgError.
std::int64_t refresh_hourly(store::PgConnection& conn);

// A SELECT producing every column of stream_analytics_hourly except refreshed_at from all raw
// rows: what the table must equal after a refresh.
const char* full_recompute_sql();

}  // namespace streamtrack::collector::analytics
