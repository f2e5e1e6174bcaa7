#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collector/sessions/session_plan.hpp"
#include "collector/store/pg_connection.hpp"
#include "common/util/time.hpp"

// Every write to the session rows (livestreams): the writers' steps and the sweeper.
namespace streamtrack::collector::sessions {

// One planned step of one channel.
struct ChannelStep {
  std::int64_t channel = 0;
  const SessionStep* step = nullptr;
};

// Applies `steps` in the given order inside the caller's transaction, in one statement
// (streamtrack_apply_session_steps, schema.hpp): an offline step closes the channel's open
// sessions at its time; a live step finds its session (a derived one, under the channel's
// advisory lock, by continuity: see docs/operations.md, "Identity") or creates it, widens it by
// the step, and closes other sessions it supersedes. Returns, per step, its session id as text
// (nullopt for an offline step). Callers keep one order of channels across writers, so that
// session rows are always locked in the same order. Throws store::PgError.
std::vector<std::optional<std::string>> apply_steps(store::PgConnection& conn,
                                                    const std::vector<ChannelStep>& steps,
                                                    std::chrono::milliseconds offline_timeout);

// Closes active sessions whose newest sample is older than now - offline_timeout; they end at
// their last sample. Returns how many were closed. Throws store::PgError.
std::int64_t close_silent_sessions(store::PgConnection& conn, TimePoint now,
                                   std::chrono::milliseconds offline_timeout);

}  // namespace streamtrack::collector::sessions
