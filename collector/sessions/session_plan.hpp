#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/wire/sample.hpp"

// Turns the samples of one channel (in one batch) into session steps: which samples belong to
// which broadcast, and where a broadcast went offline. Pure, so it is tested without a database.
namespace streamtrack::collector::sessions {

struct SessionStep {
  enum class Kind { live, offline };
  Kind kind = Kind::live;

  // live: "id:<stream_id>" or "start:<started_at>" when the platform names the broadcast; empty
  // when the session must be derived from continuity (see session_store.hpp).
  std::string key;
  std::optional<std::string> stream_id;
  std::optional<TimePoint> started_at;  // as reported by the platform
  TimePoint first{};                    // first and last sample time (offline: when seen)
  TimePoint last{};
  std::optional<std::string> title;  // of the latest sample that had one
  std::optional<std::string> category;
  std::optional<std::int64_t> peak_viewers;
  std::vector<std::size_t> samples;  // indices into the input of plan_channel
};

// `samples` all belong to one channel. Steps come out in time order: a run of live samples with
// the same key is one step (a derived run also splits at gaps longer than `offline_timeout`),
// and each offline sample is a step of its own.
std::vector<SessionStep> plan_channel(const std::vector<const Sample*>& samples,
                                      std::chrono::milliseconds offline_timeout);

// The key a live sample names its broadcast by, or "" when it names none.
std::string session_key(const Sample& s);

}  // namespace streamtrack::collector::sessions
