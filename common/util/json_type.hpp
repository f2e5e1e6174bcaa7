#pragma once

#include <nlohmann/json.hpp>

namespace streamtrack {

// The JSON type of `value` as error messages name it: "null", "boolean", "string", "array",
// "object", "number" (a float), "integer" (signed or unsigned) or "unknown" (nlohmann's
// discarded and binary values). Shared by the wire decoders and the agent's source parsers.
const char* json_type_name(const nlohmann::json& value);
// The same name for a value of type `type` (what a SAX reader knows of a value it does not keep).
const char* json_type_name(nlohmann::json::value_t type);

}  // namespace streamtrack
