#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

// FUZZ_CHECK(condition, what): a property every input must keep. On failure it prints `what`
// and aborts, so libFuzzer records the input as a crash. Unlike assert() it holds in every
// build type.
#define FUZZ_CHECK(condition, what)                                                               \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d): %s\n", #condition, __FILE__, __LINE__, \
                   what);                                                                         \
      std::abort();                                                                               \
    }                                                                                             \
  } while (false)

namespace streamtrack::fuzz {

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace streamtrack::fuzz
