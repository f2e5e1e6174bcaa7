// Every MQTT payload decoder (sample, status, health) on arbitrary bytes: none may crash or
// throw, and whatever decodes must survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/wire/codec.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto payload = fuzz::as_text(data, size);

  // decode_sample reads without a tree; nlohmann's parse of the same bytes is the reference for
  // what is JSON at all.
  const auto tree = nlohmann::json::parse(payload, nullptr, false);
  const auto decoded = wire::decode_sample(payload);
  if (decoded) FUZZ_CHECK(tree.is_object(), "a sample decoded from what json::parse refuses");
  if (tree.is_discarded()) FUZZ_CHECK(!decoded.ok(), "a sample decoded from invalid JSON");
  if (const auto& sample = decoded) {
    const auto again = wire::decode_sample(wire::encode_sample(*sample));
    FUZZ_CHECK(again.ok(), "an encoded sample does not decode");
    FUZZ_CHECK(*again == *sample, "a sample changed across encode -> decode");
  }
  if (const auto status = wire::decode_status(payload)) {
    const auto again = wire::decode_status(wire::encode_status(*status));
    FUZZ_CHECK(again.ok(), "an encoded status does not decode");
    FUZZ_CHECK(*again == *status, "a status changed across encode -> decode");
  }
  if (const auto health = wire::decode_health(payload)) {
    const auto again = wire::decode_health(wire::encode_health(*health));
    FUZZ_CHECK(again.ok(), "an encoded health does not decode");
    FUZZ_CHECK(*again == *health, "a health changed across encode -> decode");
  }
  return 0;
}
