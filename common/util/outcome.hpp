#pragma once

#include <string_view>

namespace streamtrack {

// How one attempt ended, for the loops that act on it (Fluent Bit's OK / RETRY / ERROR): ok,
// the data is done with; retry, a passing failure (connection, timeout, overload), so the data
// is kept and tried again later; error, the data itself was refused, so it is given up with
// the reason (dead-lettered, logged), never retried. Polls, webhook deliveries and batch
// writes report it; /metrics labels them with outcome_name().
enum class Outcome { ok, retry, error };

constexpr std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::retry:
      return "retry";
    case Outcome::error:
      return "error";
  }
  return "error";
}

}  // namespace streamtrack
