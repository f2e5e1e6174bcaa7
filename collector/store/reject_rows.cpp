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
  std::vector<RejectRow> rows;
  for (const auto& item : batch) {
    if (item.kind != Item::Kind::reject) continue;
    rows.push_back({&item, wire::valid_text(item.topic), wire::valid_text(item.reason)});
  }
  // By the key as stored, not as received: two writers then take the unique index's entries
  // in one order and wait for each other but never deadlock; equal keys come together. Among
  // equal keys the earliest received first (then batch order, the sort being stable): that
  // row is kept.
  const auto key = [](const RejectRow& row) {
    return std::tie(row.topic, row.item->payload, row.reason);
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const RejectRow& a, const RejectRow& b) {
    return std::tuple_cat(key(a), std::tie(a.item->received_at)) <
           std::tuple_cat(key(b), std::tie(b.item->received_at));
  });
  rows.erase(std::unique(rows.begin(), rows.end(),
                         [&](const RejectRow& a, const RejectRow& b) { return key(a) == key(b); }),
             rows.end());

  std::vector<std::vector<RejectRow>> statements;
  std::vector<RejectRow> statement;
  std::size_t bytes = 0;
  for (auto& row : rows) {
    const auto row_bytes = row.statement_bytes();
    if (!statement.empty() && bytes + row_bytes > k_max_reject_statement_bytes) {
      statements.push_back(std::move(statement));
      statement.clear();
      bytes = 0;
    }
    statement.push_back(std::move(row));
    bytes += row_bytes;
  }
  if (!statement.empty()) statements.push_back(std::move(statement));
  return statements;
}

}  // namespace streamtrack::collector::store
