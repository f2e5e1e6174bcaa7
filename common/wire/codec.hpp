#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/util/result.hpp"
#include "common/wire/sample.hpp"

// JSON encoders and decoders for every payload in docs/mqtt.md. Decoders never throw: they
// return the decoded value or a one-line reason that names the offending field.
namespace streamtrack::wire {

inline constexpr std::size_t k_max_payload_bytes = std::size_t{64} * 1024;

// `text` as valid UTF-8 without NUL: each byte that is not part of valid UTF-8, and each NUL
// (which PostgreSQL text cannot hold), becomes U+FFFD. Valid text comes back unchanged.
std::string valid_text(std::string_view text);
// Applies valid_text to every text field of `s` (names, title, ids, codecs), so that its
// topic and its payload carry the same names and the payload is valid JSON.
void make_text_valid(Sample& s);

std::string encode_sample(const Sample& s);
Result<Sample> decode_sample(std::string_view payload);

// Why decode_sample(encode_sample(s)) would refuse `s`, with the same reason, without encoding
// or decoding; nullopt when it would accept it. `seq` is not checked (the outbox gives it out
// later). With every name and text within its limit the encoded sample stays below
// k_max_payload_bytes, so the payload size needs no check. Text that is not valid UTF-8 is
// refused as "field \"<name>\": not valid UTF-8" (make_text_valid repairs it first).
std::optional<std::string> sample_problem(const Sample& s);

// Retained agent status: birth ("online"), Last Will and clean shutdown ("offline").
struct Status {
  std::string state;                    // "online" or "offline"
  std::optional<std::string> reason{};  // "shutdown" on a clean stop
  std::optional<std::string> version{};
  std::optional<TimePoint> started_at{};
  std::optional<std::int64_t> sources{};
  std::optional<TimePoint> ts{};
  bool operator==(const Status&) const = default;
};
std::string encode_status(const Status& s);
Result<Status> decode_status(std::string_view payload);

struct SourceHealth {
  std::string name;
  std::string type;
  std::optional<TimePoint> last_success;
  std::int64_t polls = 0;
  std::int64_t errors = 0;
  std::int64_t consecutive_errors = 0;
  std::optional<std::string> last_error;
  bool operator==(const SourceHealth&) const = default;
};

// Periodic agent health.
struct Health {
  TimePoint ts{};
  std::int64_t buffer_depth = 0;
  std::int64_t buffer_bytes = 0;
  std::optional<double> oldest_unsent_age_s;  // absent when the outbox is empty
  std::int64_t dropped = 0;
  std::int64_t last_seq = 0;
  std::vector<SourceHealth> sources;
  bool operator==(const Health&) const = default;
};
std::string encode_health(const Health& h);
Result<Health> decode_health(std::string_view payload);

// Collector to agent: inclusive seq ranges now committed to the database.
struct Ack {
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  bool operator==(const Ack&) const = default;
};
// How many seqs the ranges of `a` name: a range whose first is after its last names none, and
// the count stops at the largest int64 (a forged ack may name more seqs than an int64 holds).
std::int64_t seqs_named(const Ack& a);
std::string encode_ack(const Ack& a);
Result<Ack> decode_ack(std::string_view payload);

// Collapses a set of seqs (any order, duplicates allowed) into sorted inclusive ranges.
std::vector<std::pair<std::int64_t, std::int64_t>> to_ranges(std::vector<std::int64_t> seqs);
// Sorts inclusive ranges and joins those that overlap or touch ([1,3] and [4,6] are [1,6]).
std::vector<std::pair<std::int64_t, std::int64_t>> merge_ranges(
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges);

}  // namespace streamtrack::wire
