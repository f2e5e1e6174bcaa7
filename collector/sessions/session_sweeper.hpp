#pragma once

#include <chrono>
#include <cstdint>

#include "collector/store/pg_connection.hpp"
#include "common/util/time.hpp"

namespace streamtrack::collector::sessions {

// Closes active sessions whose newest sample is older than now - offline_timeout; they end at
// their last sample. Returns how many were closed. Throws store::PgError.
std::int64_t close_silent_sessions(store::PgConnection& conn, TimePoint now,
                                   std::chrono::milliseconds offline_timeout);

}  // namespace streamtrack::collector::sessions
