// PgStore's dead letters against a real PostgreSQL: a batch with many rejects (a frame of 1,000
// bad elements) costs a bounded number of INSERT statements into ingest_rejects, not one each,
// and every reject is still recorded exactly once with its bytes and reason. The statements are
// counted by a statement-level trigger the test puts on ingest_rejects: it fires once per INSERT
// statement that commits, whatever its rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "collector/batch/batch_writer.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector {
namespace {

using namespace streamtrack::testing;
using namespace std::chrono_literals;
using ingest::Item;
using Rows = std::vector<std::vector<std::string>>;

const auto k_received = *parse_rfc3339("2030-05-01T12:00:00Z");

Item reject_item(const std::string& topic, std::string payload, const std::string& reason,
                 Item::Origin origin = Item::Origin::decode) {
  Item item;
  item.kind = Item::Kind::reject;
  item.received_at = k_received;
  item.topic = topic;
  item.agent = "rig";
  item.payload_bytes = payload.size();
  item.payload = std::move(payload);
  item.reason = reason;
  item.origin = origin;
  return item;
}

// The text a frame element of `seq` with a bad viewer count is stored as, and its reason.
std::string bad_element(int seq) {
  return R"({"agent":"rig","channel":"cam","live":true,"platform":"nginx_rtmp","schema":1,"seq":)" +
         std::to_string(seq) + R"(,"ts":"2030-05-01T11:00:00.000Z","viewers":-)" +
         std::to_string(seq) + "}";
}
std::string bad_reason(int seq) {
  return "field \"viewers\": out of range: -" + std::to_string(seq) + " (expected 0..2147483647)";
}

std::string hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  for (const char byte : bytes) {
    const auto c = static_cast<unsigned char>(byte);
    out += k_digits[c >> 4];
    out += k_digits[c & 15];
  }
  return out;
}

// A SQL literal of `text` (single quotes doubled; standard_conforming_strings is on).
std::string literal(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

class RejectStoreIT : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dsn = m_pg.create_database("streamtrack");
    m_options.dsn = m_dsn;
    store::PgConnection conn(m_options);
    store::apply_migrations(conn);
    conn.exec(R"sql(
CREATE TABLE test_reject_statements (n bigint NOT NULL);
INSERT INTO test_reject_statements VALUES (0);
CREATE FUNCTION test_count_reject_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE test_reject_statements SET n = n + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER test_count_reject_statement AFTER INSERT ON ingest_rejects
  FOR EACH STATEMENT EXECUTE FUNCTION test_count_reject_statement();
)sql");
    m_store = std::make_unique<store::PgStore>(m_options, 5min);
  }

  // INSERT statements into ingest_rejects that committed so far.
  std::int64_t statements() const {
    return std::stoll(pg_scalar(m_dsn, "SELECT n FROM test_reject_statements"));
  }
  std::int64_t count(const std::string& sql) const { return std::stoll(pg_scalar(m_dsn, sql)); }

  PostgresServer m_pg;
  std::string m_dsn;
  store::ConnectOptions m_options;
  std::unique_ptr<store::PgStore> m_store;
};

TEST_F(RejectStoreIT, AFrameOfAThousandBadElementsIsOneStatementAndEachRejectIsStoredOnce) {
  const std::string topic = "st/v1/rig/frames";
  std::vector<Item> batch;
  for (int seq = 1; seq <= 1000; ++seq) {
    batch.push_back(reject_item(topic, bad_element(seq), bad_reason(seq)));
  }
  // The same reject twice in one batch (an agent's resend arriving before the batch is cut).
  batch.push_back(reject_item(topic, bad_element(7), bad_reason(7)));
  const auto outcome = m_store->write(batch);
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;

  EXPECT_EQ(statements(), 1);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 1000);
  // Each element once, with its own reason, bytes and size.
  for (const int seq : {1, 7, 500, 1000}) {
    EXPECT_EQ(
        pg_query(m_dsn,
                 "SELECT topic, reason, origin, payload_bytes::text, "
                 "received_at = '2030-05-01T12:00:00Z' FROM ingest_rejects "
                 "WHERE payload = decode('" +
                     hex(bad_element(seq)) + "', 'hex')"),
        (Rows{{topic, bad_reason(seq), "decode", std::to_string(bad_element(seq).size()), "t"}}))
        << seq;
  }
  EXPECT_EQ(count("SELECT count(DISTINCT (payload, reason)) FROM ingest_rejects"), 1000);

  // The whole batch again (the agent resent the frame): nothing new, one more statement.
  ASSERT_EQ(m_store->write(batch).status, Outcome::ok);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 1000);
  EXPECT_EQ(statements(), 2);
}

TEST_F(RejectStoreIT, RejectsBesideSamplesKeepBothAndCostOneStatement) {
  std::vector<Item> batch;
  for (int seq = 1; seq <= 300; ++seq) {
    batch.push_back(reject_item("st/v1/rig/frames", bad_element(seq), bad_reason(seq)));
    Sample s;
    s.agent = "rig";
    s.seq = 10'000 + seq;
    s.ts = k_received - std::chrono::seconds{seq};
    s.platform = "nginx_rtmp";
    s.channel = "cam";
    s.live = true;
    s.viewers = seq;
    Item sample;
    sample.kind = Item::Kind::sample;
    sample.received_at = k_received;
    sample.topic = "st/v1/rig/frames";
    sample.agent = "rig";
    sample.payload = wire::encode_sample(s);
    sample.payload_bytes = sample.payload.size();
    sample.sample = std::move(s);
    batch.push_back(std::move(sample));
  }
  // A sample the database refused earlier, now a reject of origin "database".
  batch.push_back(reject_item("st/v1/rig/metrics/nginx_rtmp/cam", bad_element(9999),
                              "SQLSTATE 22003: value out of range", Item::Origin::database));
  const auto outcome = m_store->write(batch);
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  EXPECT_EQ(statements(), 1);
  EXPECT_EQ(count("SELECT count(*) FROM livestream_metrics"), 300);
  EXPECT_EQ(pg_query(m_dsn,
                     "SELECT origin, count(*)::text FROM ingest_rejects GROUP BY origin "
                     "ORDER BY origin"),
            (Rows{{"database", "1"}, {"decode", "300"}}));
}

TEST_F(RejectStoreIT, BytesThatMeanSomethingToArraysOrSqlAreStoredExactly) {
  // Each value is something an array literal, a bytea literal or SQL text would trip over.
  const std::vector<std::string> payloads{
      std::string("a\0b", 3),
      "",
      "{\"a\",NULL}",
      R"(\x41 \\ "quoted" 'single' {braces}, commas)",
      "NULL",
      "\xff\xfe\x80 not UTF-8",
      std::string(1, '\0'),
  };
  const std::vector<std::string> topics{
      "st/v1/rig/metrics/nginx_rtmp/{a,b}",
      "st/v1/rig/metrics/nginx_rtmp/\"q\" \\ 'x'",
      "NULL",
      "st/v1/ü/metrics/twitch/emoji 🎥",
      "st/v1/rig/frames",
      "st/v1/rig/metrics/x/y",
      "",
  };
  std::vector<Item> batch;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    auto item = reject_item(topics[i], payloads[i],
                            "reason " + topics[i] + " \"" + std::to_string(i) + "\"");
    batch.push_back(std::move(item));
  }
  // A payload kept truncated: its size as received is stored, not the bytes kept.
  batch.back().payload_bytes = 10'000'000;
  const auto outcome = m_store->write(batch);
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  EXPECT_EQ(statements(), 1);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"),
            static_cast<std::int64_t>(payloads.size()));
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const auto expected_bytes = i + 1 == payloads.size() ? 10'000'000 : payloads[i].size();
    EXPECT_EQ(pg_query(m_dsn,
                       "SELECT reason, payload_bytes::text FROM ingest_rejects WHERE "
                       "topic = " +
                           literal(topics[i]) + " AND payload = decode('" + hex(payloads[i]) +
                           "', 'hex')"),
              (Rows{{"reason " + topics[i] + " \"" + std::to_string(i) + "\"",
                     std::to_string(expected_bytes)}}))
        << i;
  }
}

TEST_F(RejectStoreIT, LargeRejectsAreSplitIntoStatementsBoundedByBytesNotByCount) {
  // 400 rejects of 64 KiB each (25 MiB, twice that as hex): more than one statement may carry,
  // far fewer than one each.
  std::vector<Item> batch;
  std::size_t bytes = 0;
  for (int i = 0; i < 400; ++i) {
    auto payload = std::to_string(i) + std::string(64 * 1024 - 8, 'x');
    bytes += payload.size();
    batch.push_back(reject_item("st/v1/rig/metrics/nginx_rtmp/cam", std::move(payload),
                                "invalid JSON at byte 0"));
  }
  const auto outcome = m_store->write(batch);
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 400);
  // Each statement but the last is filled to within one row (about 128 KiB as hex) of its
  // bound, never beyond it.
  constexpr std::size_t k_filled = store::k_max_reject_statement_bytes - 2 * 64 * 1024 - 1024;
  const auto bound = static_cast<std::int64_t>(2 * bytes / k_filled + 2);
  std::cout << "reject statements: 400 rejects of 64 KiB in " << statements() << " (bound " << bound
            << ")\n";
  EXPECT_GE(statements(), 2);
  EXPECT_LE(statements(), bound);
  EXPECT_EQ(count("SELECT count(DISTINCT payload) FROM ingest_rejects WHERE length(payload) >= "
                  "65536 - 7 AND payload_bytes = length(payload)"),
            400);
}

TEST_F(RejectStoreIT, TwoWritersStoringTheSameRejectsInOppositeOrdersNeverDeadlock) {
  // An agent's resend can reach both collectors of a shared group: two writers then insert the
  // same rejects at once, here in opposite orders within their batches.
  constexpr int k_rounds = 20;
  constexpr int k_rejects = 300;
  const auto batches = [&](bool reverse) {
    std::vector<std::vector<Item>> out;
    for (int round = 0; round < k_rounds; ++round) {
      std::vector<Item> batch;
      for (int i = 0; i < k_rejects; ++i) {
        const auto seq = round * k_rejects + i;
        batch.push_back(reject_item("st/v1/rig/frames", bad_element(seq), bad_reason(seq)));
      }
      if (reverse) std::reverse(batch.begin(), batch.end());
      out.push_back(std::move(batch));
    }
    return out;
  };
  const auto forward = batches(false);
  const auto backward = batches(true);
  std::atomic<int> failures{0};
  std::mutex failure_mutex;
  std::string failure;
  const auto run = [&](const std::vector<std::vector<Item>>& mine) {
    store::PgStore store(m_options, 5min);
    for (const auto& batch : mine) {
      const auto outcome = store.write(batch);
      if (outcome.status != Outcome::ok) {
        ++failures;
        std::lock_guard lock(failure_mutex);
        failure = outcome.error;
      }
    }
  };
  std::thread a(run, std::cref(forward));
  std::thread b(run, std::cref(backward));
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0) << failure;
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), k_rounds * k_rejects);
}

TEST_F(RejectStoreIT, TextPostgresqlCannotHoldIsStoredRepairedNotRefused) {
  // A topic that is not UTF-8 and a reason with a NUL (text columns hold neither): stored with
  // U+FFFD in their place, the payload's bytes as they came.
  const std::string payload("\xff\x00 raw", 6);
  auto item = reject_item("st/v1/rig/\xff/frames", payload,
                          std::string("field \"title\": bad \"a\0b\"", 24));
  const auto outcome = m_store->write({item, reject_item("st/v1/rig/frames", "ok", "fine")});
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  EXPECT_EQ(pg_query(m_dsn,
                     "SELECT topic, reason, encode(payload, 'hex') FROM ingest_rejects "
                     "ORDER BY reason"),
            (Rows{{"st/v1/rig/\uFFFD/frames", "field \"title\": bad \"a\uFFFDb\"", hex(payload)},
                  {"st/v1/rig/frames", "fine", hex("ok")}}));
  // Sent again: the same repaired text, so still stored once.
  ASSERT_EQ(m_store->write({item}).status, Outcome::ok);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 2);
}

TEST_F(RejectStoreIT, RejectsWhoseTextIsRepairedAlikeInOneBatchAreOneRowTheEarliestReceived) {
  // A NUL and an invalid byte in the same place of the topic are both stored as U+FFFD, so the
  // unique index sees one reject twice in one statement. ON CONFLICT DO NOTHING skips the
  // second (DO UPDATE would fail the statement: "cannot affect row a second time"); the row
  // kept is that of the earliest received.
  auto later = reject_item(std::string("st/v1/rig/\0/frames", 18), "{bad", "invalid JSON");
  later.received_at = k_received + std::chrono::seconds{5};
  const auto earlier = reject_item("st/v1/rig/\xff/frames", "{bad", "invalid JSON");
  const auto outcome = m_store->write({later, earlier});
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  EXPECT_EQ(
      pg_query(m_dsn, "SELECT topic, received_at = '2030-05-01T12:00:00Z' FROM ingest_rejects"),
      (Rows{{"st/v1/rig/\uFFFD/frames", "t"}}));
  EXPECT_EQ(statements(), 1);
}

TEST_F(RejectStoreIT, TwoWritersWhoseRejectsAreRepairedAlikeNeverDeadlock) {
  // Two writers each hold a reject whose topic is repaired to the same text ("t/\0" and
  // "t/\xff" both become "t/\uFFFD") and share one more reject ("t/e"). By raw bytes, one
  // writer would insert "t/\uFFFD" before "t/e" and the other after it: each would hold the
  // entry the other waits for. A third connection holds rows between them ("t/c", "t/f",
  // uncommitted) so that both writers are mid-statement before either goes on.
  store::PgConnection blocker(m_options);
  blocker.exec("BEGIN");
  blocker.exec(R"sql(
INSERT INTO ingest_rejects (received_at, topic, payload, payload_bytes, origin, reason)
VALUES (now(), 'st/v1/rig/t/c', '\x7b626164'::bytea, 4, 'decode', 'invalid JSON'),
       (now(), 'st/v1/rig/t/f', '\x7b626164'::bytea, 4, 'decode', 'invalid JSON')
)sql");
  const std::vector<Item> first{
      reject_item(std::string("st/v1/rig/t/\0", 13), "{bad", "invalid JSON"),
      reject_item("st/v1/rig/t/c", "{bad", "invalid JSON"),
      reject_item("st/v1/rig/t/e", "{bad", "invalid JSON")};
  const std::vector<Item> second{reject_item("st/v1/rig/t/e", "{bad", "invalid JSON"),
                                 reject_item("st/v1/rig/t/f", "{bad", "invalid JSON"),
                                 reject_item("st/v1/rig/t/\xff", "{bad", "invalid JSON")};
  store::WriteOutcome first_outcome, second_outcome;
  std::thread a([&] { first_outcome = store::PgStore(m_options, 5min).write(first); });
  std::thread b([&] { second_outcome = store::PgStore(m_options, 5min).write(second); });
  const bool both_waiting = wait_until([&] {
    return count(
               "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'") >=
           2;
  });
  blocker.exec("COMMIT");
  a.join();
  b.join();
  ASSERT_TRUE(both_waiting);
  EXPECT_EQ(first_outcome.status, Outcome::ok) << first_outcome.error;
  EXPECT_EQ(second_outcome.status, Outcome::ok) << second_outcome.error;
  EXPECT_EQ(
      pg_query(m_dsn, "SELECT topic FROM ingest_rejects ORDER BY topic"),
      (Rows{{"st/v1/rig/t/c"}, {"st/v1/rig/t/e"}, {"st/v1/rig/t/f"}, {"st/v1/rig/t/\uFFFD"}}));
}

TEST_F(RejectStoreIT, ARejectTheDatabaseRefusesIsIsolatedByHalvingAndTheOthersAreStoredOnce) {
  // One reject in a thousand that the database refuses (a constraint the test adds): the
  // statement carrying it fails, the batch writer halves until it stands alone, and every
  // other reject lands exactly once.
  pg_query(m_dsn,
           "ALTER TABLE ingest_rejects ADD CONSTRAINT test_refused "
           "CHECK (reason <> 'refuse me')");
  std::vector<Item> batch;
  for (int seq = 1; seq <= 1000; ++seq) {
    batch.push_back(reject_item("st/v1/rig/frames", bad_element(seq),
                                seq == 613 ? std::string("refuse me") : bad_reason(seq)));
  }
  batch::WriterCounters counters;
  batch::BatchWriter writer(
      *m_store, [](const std::string&, const std::vector<std::int64_t>&) {}, counters);
  ASSERT_EQ(writer.write(batch), Outcome::ok);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 999);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects WHERE payload = decode('" +
                  hex(bad_element(613)) + "', 'hex')"),
            0);
  EXPECT_EQ(count("SELECT count(DISTINCT payload) FROM ingest_rejects"), 999);
  EXPECT_EQ(counters.rejects.load(), 999u);
  // Halving 1,000 down to one: about one committed half per level, never one per reject.
  std::cout << "reject statements: 1,000 rejects with one refused in " << statements()
            << " committed statements\n";
  EXPECT_LE(statements(), 12);
}

}  // namespace
}  // namespace streamtrack::collector
