#include "common/util/json_type.hpp"

namespace streamtrack {

const char* json_type_name(const nlohmann::json& value) {
  return json_type_name(value.type());
}

const char* json_type_name(nlohmann::json::value_t type) {
  using value_t = nlohmann::json::value_t;
  switch (type) {
    case value_t::null:
      return "null";
    case value_t::boolean:
      return "boolean";
    case value_t::string:
      return "string";
    case value_t::array:
      return "array";
    case value_t::object:
      return "object";
    case value_t::number_float:
      return "number";
    case value_t::number_integer:
    case value_t::number_unsigned:
      return "integer";
    default:
      return "unknown";
  }
}

}  // namespace streamtrack
