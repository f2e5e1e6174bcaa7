#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collector/ingest/item.hpp"

namespace streamtrack::collector::store {

// Rejects are written in few INSERT statements: each carries rejects while its parameters stay
// within about this many bytes (a payload counts twice: it travels as hex); a single reject
// larger than that goes alone. The rejects of a frame
// (at most 1,000 elements, 256 KiB) fit one; many large rejects cost one statement per MiB, not
// one each, and never a large parameter (libpq keeps a connection's send buffer at the size of
// its largest statement).
inline constexpr std::size_t k_max_reject_statement_bytes = 1u << 20;

// A reject as ingest_rejects stores it: topic and reason made valid text (wire::valid_text:
// PostgreSQL text holds neither NUL nor bytes that are not UTF-8), the payload's bytes as they
// came. (topic, payload, reason) is the row's unique key (ingest_rejects_once_idx).
struct RejectRow {
  const ingest::Item* item = nullptr;  // received_at, payload, payload_bytes, origin
  std::string topic;
  std::string reason;
  // About the bytes the row takes among a statement's parameters (array quoting aside).
  std::size_t statement_bytes() const;
};

// The rejects of `batch` as rows, grouped into the INSERT statements that carry them: ordered
// by their key as stored (topic, payload, reason), so that writers inserting the same rejects
// lock the unique index's entries in one order and never deadlock; one row per key, that of the
// earliest received (the others are what the statement's ON CONFLICT DO NOTHING would skip:
// each reject is recorded once, its first arrival's time, size and origin kept); statements
// within k_max_reject_statement_bytes, a single larger row alone.
std::vector<std::vector<RejectRow>> plan_reject_statements(const std::vector<ingest::Item>& batch);

}  // namespace streamtrack::collector::store
