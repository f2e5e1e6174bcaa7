#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "collector/sessions/session_plan.hpp"
#include "collector/store/pg_connection.hpp"
#include "common/util/time.hpp"

// Every write to the session rows (livestreams): the writers' steps and the sweeper.
namespace streamtrack::collector::sessions {

// Applies one planned step of `channel` inside the caller's transaction. An offline step closes
// the channel's open sessions at its time and returns nullopt. A live step finds its session
// (a derived one, under the channel's advisory lock, by continuity: see docs/operations.md,
// "Identity") or creates it, widens it by the step, closes other sessions it supersedes, and
// returns its id as text. Throws store::PgError.
std::optional<std::string> apply_step(store::PgConnection& conn, std::int64_t channel,
                                      const SessionStep& step,
                                      std::chrono::milliseconds offline_timeout);

// Closes active sessions whose newest sample is older than now - offline_timeout; they end at
// their last sample. Returns how many were closed. Throws store::PgError.
std::int64_t close_silent_sessions(store::PgConnection& conn, TimePoint now,
                                   std::chrono::milliseconds offline_timeout);

}  // namespace streamtrack::collector::sessions
