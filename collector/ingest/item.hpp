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
  // Where a reject was refused: by ingest (the codec, the topic, the time window) or by the
  // database (a data or constraint error on the row itself).
  enum class Origin { decode, database };

  Kind kind = Kind::reject;
  TimePoint received_at{};
  std::string topic;
  std::string payload;  // raw bytes as received (a reject's possibly truncated), for ingest_rejects
  std::size_t payload_bytes = 0;  // the size of the payload as received
  std::string agent;              // from the topic (equal to sample.agent for samples)

  // kind == sample; also a reject of a decoded sample whose agent matches its topic (a time
  // outside the window, a row the database refused): acknowledged once the reject is stored.
  std::optional<Sample> sample;
  std::optional<wire::Status> status;  // kind == status
  std::optional<wire::Health> health;  // kind == health
  std::string reason;                  // kind == reject: why it was refused
  Origin origin = Origin::decode;      // kind == reject
};

}  // namespace streamtrack::collector::ingest
