#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace streamtrack {

// RFC 4648 base64. `standard` ("+/") is written with '=' padding and read with or without it;
// `url` ("-_") is written and read without padding (section 5, as in URLs and cursors).
enum class Base64Alphabet { standard, url };

std::string base64_encode(std::string_view bytes, Base64Alphabet alphabet);

// The bytes `text` encodes, or nullopt unless `text` is exactly what base64_encode could have
// written (modulo the optional padding of `standard`): any character outside the alphabet,
// misplaced padding, a length of 4n+1, or set bits after the last byte are refused, so one
// value has one spelling.
std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet);

}  // namespace streamtrack
