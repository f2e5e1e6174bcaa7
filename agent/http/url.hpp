#pragma once

#include <string>
#include <string_view>

namespace streamtrack::agent::http {

// Returns `url` with query parameter `name` set to `value` (replacing every earlier occurrence,
// appended otherwise). `value` is percent-encoded; a fragment is kept at the end.
std::string with_query_param(std::string_view url, std::string_view name, std::string_view value);

// `s` with every byte but ASCII letters, digits and "-_.~" written as %XX (upper-case hex), for
// query values and form bodies.
std::string percent_encode(std::string_view s);

// `url` without its trailing slashes ("https://h/api//" -> "https://h/api"), so that paths can
// be appended with a leading "/".
std::string trim_trailing_slashes(std::string url);

// The path of an absolute URL ("http://h:1/a/b?x" -> "/a/b"); "/" when it has none.
std::string url_path(std::string_view url);

}  // namespace streamtrack::agent::http
