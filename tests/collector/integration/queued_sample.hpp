#pragma once

#include <string>
#include <utility>

#include "collector/ingest/ingest.hpp"
#include "common/wire/codec.hpp"

namespace streamtrack::testing {

// `s` as the intake queues a sample that came alone on its metrics topic (root "st/v1"), received
// at its own time: the payload is its encoding.
inline collector::ingest::Item queued_sample(Sample s) {
  collector::ingest::Item item;
  item.kind = collector::ingest::Item::Kind::sample;
  item.received_at = s.ts;
  item.topic = "st/v1/" + s.agent + "/metrics/" + s.platform + "/" + s.channel;
  item.agent = s.agent;
  item.payload = wire::encode_sample(s);
  item.payload_bytes = item.payload.size();
  item.sample = std::move(s);
  return item;
}

}  // namespace streamtrack::testing
