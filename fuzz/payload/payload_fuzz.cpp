// Every MQTT payload decoder (sample, status, health) on arbitrary bytes: none may crash or
// throw, and whatever decodes must survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>

#include "common/wire/codec.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto payload = fuzz::as_text(data, size);

  if (const auto sample = wire::decode_sample(payload)) {
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
