#pragma once

#include <string>
#include <utility>
#include <variant>

namespace streamtrack {

// A value or an error text, for code paths that must not throw (running loops, decoders).
// Startup and configuration code throws instead (see ConfigError).
template <typename T, typename E = std::string>
class Result {
 public:
  Result(T value)
      : m_state(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  static Result failure(E error) { return Result(std::in_place_index<1>, std::move(error)); }

  bool ok() const { return m_state.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok().
  T& value() & { return std::get<0>(m_state); }
  const T& value() const& { return std::get<0>(m_state); }
  T&& value() && { return std::get<0>(std::move(m_state)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Precondition: !ok().
  const E& error() const { return std::get<1>(m_state); }

 private:
  template <std::size_t I, typename V>
  Result(std::in_place_index_t<I> tag, V&& v) : m_state(tag, std::forward<V>(v)) {}
  std::variant<T, E> m_state;
};

}  // namespace streamtrack
