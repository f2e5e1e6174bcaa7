#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

// UTF-8 decoding as RFC 3629 defines it (no overlong forms, no surrogates, nothing above
// U+10FFFF), for the wire's checks on names and text.
namespace streamtrack::wire::utf8 {

// The code point starting at text[at] and its length in bytes; length 0 when the bytes there
// are not valid UTF-8 (then exactly one byte should be treated as invalid).
struct Decoded {
  std::uint32_t code_point = 0;
  std::size_t length = 0;
};

inline Decoded decode_at(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const auto continuation = [&](std::size_t i) {
    return at + i < text.size() && (byte(i) & 0xC0) == 0x80;
  };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!continuation(1)) return {};
    return {(std::uint32_t{b0} & 0x1F) << 6 | (byte(1) & 0x3F), 2};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return {};
    const std::uint32_t cp =
        (std::uint32_t{b0} & 0x0F) << 12 | (std::uint32_t{byte(1)} & 0x3F) << 6 | (byte(2) & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
    return {cp, 3};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return {};
    const std::uint32_t cp = (std::uint32_t{b0} & 0x07) << 18 |
                             (std::uint32_t{byte(1)} & 0x3F) << 12 |
                             (std::uint32_t{byte(2)} & 0x3F) << 6 | (byte(3) & 0x3F);
    if (cp < 0x10000 || cp > 0x10FFFF) return {};
    return {cp, 4};
  }
  return {};
}

}  // namespace streamtrack::wire::utf8
