#pragma once

#include <string>
#include <string_view>

namespace streamtrack::agent::http {

// Returns `url` with query parameter `name` set to `value` (replacing every earlier occurrence,
// appended otherwise). `value` is percent-encoded; a fragment is kept at the end.
std::string with_query_param(std::string_view url, std::string_view name, std::string_view value);

// The path of an absolute URL ("http://h:1/a/b?x" -> "/a/b"); "/" when it has none.
std::string url_path(std::string_view url);

}  // namespace streamtrack::agent::http
