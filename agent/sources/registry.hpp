#pragma once

#include <string_view>
#include <vector>

#include "agent/sources/source_type.hpp"

// The static registry of source types, keyed by the config `type`. Adding a platform means
// adding one directory under agent/sources/ (its code, keys, factory and example, see
// ARCHITECTURE.md) and one entry in registry.cpp.
namespace streamtrack::agent {

// Every registered type, in the order `config example` shows them.
const std::vector<SourceTypeInfo>& source_types();
const SourceTypeInfo* find_source_type(std::string_view type);

}  // namespace streamtrack::agent
