#pragma once

#include <cstdio>
#include <exception>
#include <string_view>

namespace streamtrack {

// Runs a program's whole body: an exception that escapes it (a bug, memory exhausted while
// parsing flags, a harness that failed to start) is printed on stderr as "<program>: <what>"
// and becomes exit status 1, instead of std::terminate and an abort. Mains return
// guarded_main("name", [&] { ... }).
template <typename Body>
int guarded_main(std::string_view program, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), e.what());
  } catch (...) {
    std::fprintf(stderr, "%.*s: unknown exception\n", static_cast<int>(program.size()),
                 program.data());
  }
  return 1;
}

}  // namespace streamtrack
