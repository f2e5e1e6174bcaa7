// The ack decoder on arbitrary bytes: no crash, no throw; a decoded ack has ordered ranges
// (first <= last) and survives encode -> decode unchanged.
#include <cstddef>
#include <cstdint>

#include "common/wire/codec.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto ack = wire::decode_ack(fuzz::as_text(data, size));
  if (!ack) return 0;
  for (const auto& [first, last] : ack->ranges) {
    FUZZ_CHECK(first <= last, "a decoded range ends before it starts");
  }
  const auto again = wire::decode_ack(wire::encode_ack(*ack));
  FUZZ_CHECK(again.ok(), "an encoded ack does not decode");
  FUZZ_CHECK(*again == *ack, "an ack changed across encode -> decode");
  return 0;
}
