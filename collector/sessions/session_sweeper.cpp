#include "collector/sessions/session_sweeper.hpp"

namespace streamtrack::collector::sessions {

std::int64_t close_silent_sessions(store::PgConnection& conn, TimePoint now,
                                   std::chrono::milliseconds offline_timeout) {
  return conn
      .exec(
          "UPDATE livestreams SET is_active = false, ended_at = last_sample_at "
          "WHERE is_active AND last_sample_at < $1",
          {format_rfc3339(now - offline_timeout)})
      .affected();
}

}  // namespace streamtrack::collector::sessions
