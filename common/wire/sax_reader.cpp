#include "common/wire/sax_reader.hpp"

#include <iterator>

#include "common/wire/json_fields.hpp"

namespace streamtrack::wire::detail {

namespace {

using value_t = json::value_t;

// A character iterator that publishes how far nlohmann's lexer has read: the lexer takes its
// input one character at a time through the iterator and looks ahead only past a number (one
// character, which it then takes again from its own buffer). So when the parser reports the end
// of an object, an array, a string or a literal, `*cursor` is just past its last byte; after a
// number it may be one byte further.
class TrackedIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedIterator(const char* at, const char** cursor) : m_at(at), m_cursor(cursor) {}

  reference operator*() const { return *m_at; }
  TrackedIterator& operator++() {
    ++m_at;
    if (m_cursor) *m_cursor = m_at;
    return *this;
  }
  TrackedIterator operator++(int) {
    auto before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackedIterator& other) const { return m_at == other.m_at; }

 private:
  const char* m_at;
  const char** m_cursor;
};

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The SAX handler (nlohmann's interface: each event returns whether to go on). Depth counts the
// arrays and objects open around an event: the root's members are at 1, the elements of its
// array member at 2, their members at 3.
class Handler {
 public:
  Handler(std::string_view payload, const char* const& cursor, FlatObject& root,
          std::string_view array_key, FlatObject* element, std::size_t max_elements, SaxRead& out)
      : m_payload(payload),
        m_cursor(cursor),
        m_root(root),
        m_array_key(array_key),
        m_element(element),
        m_max_elements(max_elements),
        m_out(out) {}

  bool null() {
    return scalar(value_t::null, [](FlatValue&) {});
  }
  bool boolean(bool b) {
    return scalar(value_t::boolean, [b](FlatValue& v) { v.boolean = b; });
  }
  bool number_integer(std::int64_t i) {
    return scalar(value_t::number_integer, [i](FlatValue& v) { v.integer = i; });
  }
  bool number_unsigned(std::uint64_t u) {
    return scalar(value_t::number_unsigned, [u](FlatValue& v) { v.unsigned_integer = u; });
  }
  bool number_float(double d, const std::string& /*text*/) {
    return scalar(value_t::number_float, [d](FlatValue& v) { v.number = d; });
  }
  bool string(std::string& s) {
    return scalar(value_t::string, [&s](FlatValue& v) { v.text.assign(s); });
  }
  bool binary(json::binary_t& /*unused*/) { return true; }  // never in JSON text

  bool start_object(std::size_t /*unknown*/) { return open(value_t::object); }
  bool start_array(std::size_t /*unknown*/) { return open(value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string& k) {
    if (m_depth == 1) {
      m_root_slot = m_root.slot(k);
      m_key_is_array = m_element != nullptr && !m_array_key.empty() && k == m_array_key;
      if (m_key_is_array) {  // a later member of the same name replaces the earlier one
        m_out.elements = 0;
        m_out.element_reads.clear();
      }
    } else if (m_depth == 3 && m_in_array && m_element_is_object) {
      m_element_slot = m_element->slot(k);
    }
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*token*/,
                   const nlohmann::detail::exception& e) {
    if (const auto* pe = dynamic_cast<const json::parse_error*>(&e)) {
      m_out.error = "invalid JSON at byte " + std::to_string(pe->byte);
    } else if (dynamic_cast<const json::out_of_range*>(&e) != nullptr) {
      // A number beyond the range of a double (1e400); its text stays out of the reason.
      m_out.error = "invalid JSON: number out of range";
    } else {
      m_out.error = "invalid JSON at byte " + std::to_string(position);
    }
    return false;
  }

 private:
  std::size_t offset() const { return static_cast<std::size_t>(m_cursor - m_payload.data()); }

  static void assign(FlatValue* slot, value_t type) {
    if (!slot) return;
    slot->present = true;
    slot->type = type;
  }

  template <typename Set>
  bool scalar(value_t type, Set set) {
    FlatValue* slot = nullptr;
    if (m_depth == 0) {
      m_out.root_type = type;
    } else if (m_depth == 1) {
      slot = m_root_slot;
    } else if (m_depth == 2 && m_in_array) {
      element_ended(type);
    } else if (m_depth == 3 && m_in_array && m_element_is_object) {
      slot = m_element_slot;
    }
    if (slot) {
      assign(slot, type);
      set(*slot);
    }
    return true;
  }

  bool open(value_t type) {
    if (m_depth == 0) {
      m_out.root_type = type;
    } else if (m_depth == 1) {
      assign(m_root_slot, type);
      if (m_key_is_array && type == value_t::array && m_out.root_type == value_t::object) {
        m_in_array = true;
        m_next_begin = offset();  // just past the '['
      }
    } else if (m_depth == 2 && m_in_array) {
      m_element_type = type;
      m_element_is_object = type == value_t::object && m_out.elements < m_max_elements;
      m_element_slot = nullptr;
      if (m_element_is_object) m_element->clear();
    } else if (m_depth == 3 && m_in_array && m_element_is_object) {
      assign(m_element_slot, type);
    }
    ++m_depth;
    return true;
  }

  bool close() {
    --m_depth;
    if (m_depth == 2 && m_in_array) {
      element_ended(m_element_type);
      m_element_is_object = false;
    } else if (m_depth == 1 && m_in_array) {
      m_in_array = false;
    }
    return true;
  }

  // The element that just ended: its byte range (between the '[' or the ',' before it and the
  // lexer's position, less a number's look-ahead) and, for an object, its verdict.
  void element_ended(value_t type) {
    if (m_out.elements++ >= m_max_elements) return;
    std::size_t begin = m_next_begin;
    while (begin < m_payload.size() &&
           (is_json_space(m_payload[begin]) || m_payload[begin] == ',')) {
      ++begin;
    }
    std::size_t end = offset();
    if (type == value_t::number_integer || type == value_t::number_unsigned ||
        type == value_t::number_float) {
      while (end > begin && !is_digit(m_payload[end - 1])) --end;
    }
    m_next_begin = end;
    ElementRead read{type, begin, end, std::nullopt};
    if (type == value_t::object && m_element_is_object)
      read.sample = sample_from_fields(*m_element);
    m_out.element_reads.push_back(std::move(read));
  }

  std::string_view m_payload;
  const char* const& m_cursor;
  FlatObject& m_root;
  std::string_view m_array_key;
  FlatObject* m_element;
  std::size_t m_max_elements;
  SaxRead& m_out;

  std::size_t m_depth = 0;
  FlatValue* m_root_slot = nullptr;
  bool m_key_is_array = false;  // the root member being read is the array member
  bool m_in_array = false;      // inside the array member's elements
  std::size_t m_next_begin = 0;
  value_t m_element_type = value_t::null;
  bool m_element_is_object = false;  // an object element whose members are collected
  FlatValue* m_element_slot = nullptr;
};

}  // namespace

SaxRead sax_read(std::string_view payload, FlatObject& root, std::string_view array_key,
                 FlatObject* element, std::size_t max_elements) {
  SaxRead out;
  root.clear();
  const char* cursor = payload.data();
  Handler handler(payload, cursor, root, array_key, element, max_elements, out);
  json::sax_parse(TrackedIterator(payload.data(), &cursor),
                  TrackedIterator(payload.data() + payload.size(), nullptr), &handler);
  return out;
}

}  // namespace streamtrack::wire::detail
