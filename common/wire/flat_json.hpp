#pragma once

// Internal to common/wire: one JSON object as the SAX readers (sax_reader.hpp) keep it, without
// building a tree: the members the decoder knows, each the last of its name (as in a parsed
// tree), scalars by value and nested arrays and objects by type only.
// Not part of the wire contract; nothing outside common/wire includes it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streamtrack::wire::detail {

struct FlatValue {
  nlohmann::json::value_t type = nlohmann::json::value_t::null;
  bool present = false;
  bool boolean = false;
  std::int64_t integer = 0;            // type number_integer
  std::uint64_t unsigned_integer = 0;  // type number_unsigned
  double number = 0;                   // type number_float
  std::string text;                    // type string
};

class FlatObject {
 public:
  // Keeps the members named in `keys` (which must outlive the object).
  explicit FlatObject(std::span<const std::string_view> keys)
      : m_keys(keys), m_values(keys.size()) {}

  // Where the value of member `key` goes; nullptr for a member the object does not keep.
  FlatValue* slot(std::string_view key) {
    for (std::size_t i = 0; i < m_keys.size(); ++i) {
      if (m_keys[i] == key) return &m_values[i];
    }
    return nullptr;
  }
  // The member `key` when the object had it, else nullptr.
  const FlatValue* find(std::string_view key) const {
    for (std::size_t i = 0; i < m_keys.size(); ++i) {
      if (m_keys[i] == key) return m_values[i].present ? &m_values[i] : nullptr;
    }
    return nullptr;
  }
  // Every member absent again (their strings keep their capacity for the next object).
  void clear() {
    for (auto& v : m_values) v.present = false;
  }

 private:
  std::span<const std::string_view> m_keys;
  std::vector<FlatValue> m_values;
};

}  // namespace streamtrack::wire::detail
