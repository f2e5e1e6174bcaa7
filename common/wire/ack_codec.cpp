// The ack message (docs/mqtt.md: "Acks"): declared in codec.hpp with the other messages.
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/wire/codec.hpp"
#include "common/wire/json_fields.hpp"

namespace streamtrack::wire {

using namespace detail;

std::int64_t seqs_named(const Ack& a) {
  constexpr auto k_most = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  for (const auto& [first, last] : a.ranges) {
    if (first > last) continue;
    // last - first + 1 cannot overflow: decode_ack keeps seqs within 1..2^53 - 1.
    const std::int64_t named = last - first + 1;
    if (named > k_most - total) return k_most;
    total += named;
  }
  return total;
}

std::string encode_ack(const Ack& a) {
  json j;
  j["ranges"] = json::array();
  for (const auto& [first, last] : a.ranges) j["ranges"].push_back({first, last});
  return j.dump();
}

Result<Ack> decode_ack(std::string_view payload) {
  return decode_object<Ack>(payload, k_max_payload_bytes, [](FieldReader& r, Ack& a) {
    if (const json* ranges = r.find("ranges", true)) {
      if (!ranges->is_array()) {
        r.field_fail("ranges", std::string("expected an array, got ") + json_type_name(*ranges));
      }
      for (std::size_t i = 0; !r.failed() && i < ranges->size(); ++i) {
        const json& e = (*ranges)[i];
        const bool pair_of_ints =
            e.is_array() && e.size() == 2 && e[0].is_number_integer() && e[1].is_number_integer();
        if (!pair_of_ints) {
          r.fail("field \"ranges[" + std::to_string(i) + "]\": expected [first, last] integers");
          break;
        }
        const auto first = e[0].get<std::int64_t>();
        const auto last = e[1].get<std::int64_t>();
        if (first < 1 || last < first || last > k_max_safe_integer) {
          r.fail("field \"ranges[" + std::to_string(i) + "]\": out of range: [" +
                 std::to_string(first) + ", " + std::to_string(last) + "]");
          break;
        }
        a.ranges.emplace_back(first, last);
      }
    }
  });
}

std::vector<std::pair<std::int64_t, std::int64_t>> to_ranges(std::vector<std::int64_t> seqs) {
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto seq : seqs) {
    if (!out.empty() && out.back().second + 1 == seq) {
      out.back().second = seq;
    } else {
      out.emplace_back(seq, seq);
    }
  }
  return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> merge_ranges(
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.first <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace streamtrack::wire
