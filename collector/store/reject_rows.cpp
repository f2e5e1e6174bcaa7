#include "collector/store/reject_rows.hpp"

#include <algorithm>
#include <tuple>

#include "common/wire/codec.hpp"

namespace streamtrack::collector::store {

using ingest::Item;

namespace {
constexpr std::size_t k_row_overhead = 64;  // time, sizes, origin, quotes
}  // namespace

std::size_t RejectRow::statement_bytes() const {
  // The payload travels as "\x" and two hex digits per byte.
  return topic.size() + reason.size() + 2 + 2 * item->payload.size() + k_row_overhead;
}

std::vector<std::vector<RejectRow>> plan_reject_statements(const std::vector<Item>& batch) {
  // In one order whatever the batch's, so that two writers inserting the same rejects (an
  // agent's resend reaching both collectors of a shared group) wait for each other but never
  // deadlock.
  std::vector<const Item*> rejects;
  for (const auto& item : batch) {
    if (item.kind == Item::Kind::reject) rejects.push_back(&item);
  }
  std::sort(rejects.begin(), rejects.end(), [](const Item* a, const Item* b) {
    return std::tie(a->topic, a->payload, a->reason) < std::tie(b->topic, b->payload, b->reason);
  });
  std::vector<std::vector<RejectRow>> statements;
  std::vector<RejectRow> rows;
  std::size_t bytes = 0;
  for (const auto* item : rejects) {
    rows.push_back({item, wire::valid_text(item->topic), wire::valid_text(item->reason)});
    bytes += rows.back().statement_bytes();
    if (bytes >= k_max_reject_statement_bytes) {
      statements.push_back(std::move(rows));
      rows.clear();
      bytes = 0;
    }
  }
  if (!rows.empty()) statements.push_back(std::move(rows));
  return statements;
}

}  // namespace streamtrack::collector::store
