#pragma once

#include <string>
#include <string_view>

namespace streamtrack {

// This machine's host name (gethostname), or `fallback` when it has none.
std::string host_name(std::string_view fallback);

}  // namespace streamtrack
