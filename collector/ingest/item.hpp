#pragma once

#include <optional>
#include <string>

#include "common/util/time.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/sample.hpp"

namespace streamtrack::collector::ingest {

// One MQTT message after decoding: what the batch writer hands to the Store.
struct Item {
  enum class Kind { sample, status, health, reject };

  Kind kind = Kind::reject;
  TimePoint received_at{};
  std::string topic;
  std::string payload;  // raw bytes as received, kept for ingest_rejects
  std::string agent;    // from the topic (equal to sample.agent for samples)

  std::optional<Sample> sample;        // kind == sample
  std::optional<wire::Status> status;  // kind == status
  std::optional<wire::Health> health;  // kind == health
  std::string reason;                  // kind == reject: why it was refused
};

}  // namespace streamtrack::collector::ingest
