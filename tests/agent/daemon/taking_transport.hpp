#pragma once

// A publisher transport for unit tests of the daemon's parts: takes every publish.

#include "agent/publish/publisher.hpp"

namespace streamtrack::testing {

// Accepts every message, with message ids 1, 2, ... (the last one in `last_id`).
class TakingTransport final : public agent::publish::Transport {
 public:
  mqtt::PublishResult publish(const mqtt::Message&) override {
    return {mqtt::PublishResult::Kind::sent, ++last_id, {}};
  }
  std::uint64_t last_id = 0;
};

}  // namespace streamtrack::testing
