// plan_reject_statements(): the order, merging and grouping of a batch's rejects into the
// INSERT statements of ingest_rejects, without a database.
#include "collector/store/reject_rows.hpp"

#include <gtest/gtest.h>

#include <tuple>

namespace streamtrack::collector::store {
namespace {

using namespace std::chrono_literals;
using ingest::Item;

const auto k_received = *parse_rfc3339("2030-05-01T12:00:00Z");

Item reject(const std::string& topic, const std::string& payload = "{bad",
            const std::string& reason = "invalid JSON", TimePoint received_at = k_received) {
  Item item;
  item.kind = Item::Kind::reject;
  item.received_at = received_at;
  item.topic = topic;
  item.payload = payload;
  item.payload_bytes = payload.size();
  item.reason = reason;
  return item;
}

// The stored unique keys (topic, payload, reason) of every row, statement after statement.
using Key = std::tuple<std::string, std::string, std::string>;
std::vector<Key> keys(const std::vector<std::vector<RejectRow>>& statements) {
  std::vector<Key> out;
  for (const auto& rows : statements) {
    for (const auto& row : rows) out.emplace_back(row.topic, row.item->payload, row.reason);
  }
  return out;
}

const std::string k_nul_topic("t/\0", 3);      // stored as "t/\uFFFD"
const std::string k_invalid_topic = "t/\xff";  // stored as "t/\uFFFD" too
const std::string k_repaired_topic = "t/\uFFFD";

TEST(RejectRows, RowsAreOrderedByTheKeyAsStoredNotByTheBytesReceived) {
  // Raw bytes order "t/\0" < "t/c" < "t/e" and "t/e" < "t/f" < "t/\xff"; as stored, both
  // repaired topics sort after the others. Two writers holding these batches must take the
  // index's entries in one order, so each lists them in the stored key's order.
  const std::vector<Item> first{reject("t/e"), reject(k_nul_topic), reject("t/c")};
  const std::vector<Item> second{reject(k_invalid_topic), reject("t/f"), reject("t/e")};
  const auto first_keys = keys(plan_reject_statements(first));
  const auto second_keys = keys(plan_reject_statements(second));
  EXPECT_EQ(first_keys, (std::vector<Key>{{"t/c", "{bad", "invalid JSON"},
                                          {"t/e", "{bad", "invalid JSON"},
                                          {k_repaired_topic, "{bad", "invalid JSON"}}));
  EXPECT_EQ(second_keys, (std::vector<Key>{{"t/e", "{bad", "invalid JSON"},
                                           {"t/f", "{bad", "invalid JSON"},
                                           {k_repaired_topic, "{bad", "invalid JSON"}}));
}

TEST(RejectRows, RejectsStoredAlikeAreOneRowThatOfTheEarliestReceived) {
  // Three rejects whose topic and reason are repaired to the same text (a NUL, an invalid
  // byte): one row, as the unique index would keep one; it carries the earliest received.
  const std::vector<Item> batch{
      reject(k_nul_topic, "{bad", "bad \xfe", k_received + 2s),
      reject(k_invalid_topic, "{bad", std::string("bad \0", 5), k_received),
      reject(k_invalid_topic, "{bad", "bad \xff", k_received + 1s),
      reject(k_invalid_topic, "{other", "bad \xff", k_received + 3s),
  };
  const auto statements = plan_reject_statements(batch);
  ASSERT_EQ(statements.size(), 1u);
  const auto& rows = statements.front();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].item, &batch[1]);
  EXPECT_EQ(rows[0].topic, k_repaired_topic);
  EXPECT_EQ(rows[0].reason, "bad \uFFFD");
  EXPECT_EQ(rows[1].item, &batch[3]);
  // Exact duplicates merge the same way, whatever their position in the batch.
  const std::vector<Item> resent{reject("t/a", "{x", "r", k_received + 5s), reject("t/b"),
                                 reject("t/a", "{x", "r", k_received + 4s)};
  const auto merged = plan_reject_statements(resent);
  ASSERT_EQ(merged.size(), 1u);
  ASSERT_EQ(merged.front().size(), 2u);
  EXPECT_EQ(merged.front()[0].item, &resent[2]);
}

TEST(RejectRows, AStatementStaysWithinItsBytesUnlessOneRowAloneIsLarger) {
  // Rows of about 400 KiB as parameters (200 KiB payloads travel as hex): two fit 1 MiB, a
  // third would not.
  std::vector<Item> batch;
  for (int i = 0; i < 7; ++i) {
    batch.push_back(reject("t/" + std::to_string(i), std::string(200 * 1024, 'x')));
  }
  // One row larger than the bound by itself (a reason of 2 MiB), sorted in the middle.
  batch.push_back(reject("t/3a", "{", std::string(2u << 20, 'r')));
  const auto statements = plan_reject_statements(batch);
  std::size_t rows = 0;
  for (const auto& statement : statements) {
    ASSERT_FALSE(statement.empty());
    std::size_t bytes = 0;
    for (const auto& row : statement) bytes += row.statement_bytes();
    if (statement.size() > 1) {
      EXPECT_LE(bytes, k_max_reject_statement_bytes) << statement.size() << " rows";
    } else if (statement.front().topic == "t/3a") {
      EXPECT_GT(bytes, k_max_reject_statement_bytes);
    }
    rows += statement.size();
  }
  EXPECT_EQ(rows, batch.size());
  // [0 1] [2 3] [3a] [4 5] [6]
  ASSERT_EQ(statements.size(), 5u);
  EXPECT_EQ(statements[2].size(), 1u);
  EXPECT_EQ(statements[2].front().topic, "t/3a");
}

}  // namespace
}  // namespace streamtrack::collector::store
