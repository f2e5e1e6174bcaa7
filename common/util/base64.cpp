#include "common/util/base64.hpp"

#include <array>
#include <cstdint>

namespace streamtrack {
namespace {

constexpr std::string_view k_standard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view k_url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::string_view letters(Base64Alphabet alphabet) {
  return alphabet == Base64Alphabet::url ? k_url : k_standard;
}

// Character -> 6-bit value, -1 for characters outside the alphabet.
using Inverse = std::array<std::int8_t, 256>;
constexpr Inverse inverse_of(std::string_view alphabet) {
  Inverse table{};
  table.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr Inverse k_standard_inverse = inverse_of(k_standard);
constexpr Inverse k_url_inverse = inverse_of(k_url);

}  // namespace

std::string base64_encode(std::string_view bytes, Base64Alphabet alphabet) {
  const auto table = letters(alphabet);
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += table[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += table[(buffer << (6 - bits)) & 0x3F];
  if (alphabet == Base64Alphabet::standard) {
    while (out.size() % 4 != 0) out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet) {
  if (alphabet == Base64Alphabet::standard && text.find('=') != std::string_view::npos) {
    if (text.size() % 4 != 0) return std::nullopt;
    const auto first_pad = text.find('=');
    if (text.size() - first_pad > 2) return std::nullopt;
    for (auto i = first_pad; i < text.size(); ++i) {
      if (text[i] != '=') return std::nullopt;
    }
    text = text.substr(0, first_pad);
  }
  if (text.size() % 4 == 1) return std::nullopt;
  const auto& inverse = alphabet == Base64Alphabet::url ? k_url_inverse : k_standard_inverse;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const auto value = inverse[static_cast<unsigned char>(c)];
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  if ((buffer & ((1U << bits) - 1)) != 0) return std::nullopt;  // not the canonical spelling
  return out;
}

}  // namespace streamtrack
