// The set-based batch write (PgStore: every session step of a batch in one statement) against a
// real PostgreSQL: several steps of one channel in one batch, a session change mid-batch, a
// refused row in the middle, and two writers on the same channels at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "collector/analytics/schema.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/sessions/session_store.hpp"
#include "collector/store/metrics_schema.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "tests/collector/integration/queued_sample.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector {
namespace {

using namespace streamtrack::testing;
using namespace std::chrono_literals;
using ingest::Item;
using Rows = std::vector<std::vector<std::string>>;

constexpr auto k_timeout = std::chrono::milliseconds{5min};

Item sample_item(const std::string& platform, const std::string& channel, std::int64_t seq,
                 const std::string& ts, bool live = true, std::optional<std::string> stream_id = {},
                 std::optional<std::string> title = {}) {
  Sample s;
  s.agent = "studio";
  s.seq = seq;
  s.ts = *parse_rfc3339(ts);
  s.platform = platform;
  s.channel = channel;
  s.live = live;
  if (live) s.viewers = seq * 10;
  s.stream_id = std::move(stream_id);
  s.title = std::move(title);
  return queued_sample(std::move(s));
}

// Three batches whose channels take every shape of steps: a new broadcast after the old one's
// last samples, alone, twice, before a late sample of the old one, before an offline sample,
// starting before the open one's last sample, two open sessions then a third, a new channel,
// late samples of closed broadcasts.
std::vector<std::vector<Item>> steps_of_every_shape() {
  const auto item = [](const std::string& channel, std::int64_t seq, const std::string& time,
                       std::optional<std::string> stream, std::optional<std::string> title = {},
                       bool live = true) {
    return sample_item("twitch", channel, seq, "2030-03-01T" + time + "Z", live, std::move(stream),
                       std::move(title));
  };
  return {
      {item("old-then-new", 1, "10:00:00", "a", "A"), item("new-only", 2, "10:00:00", "a"),
       item("two-new", 3, "10:00:00", "a"), item("new-then-old", 4, "10:00:00", "a"),
       item("continued", 5, "10:00:00", "a"), item("then-offline", 6, "10:00:00", "a"),
       item("late-new", 7, "10:05:00", "a"), item("one-of-each", 8, "10:00:00", "a", "A"),
       item("one-of-each", 9, "10:00:00", "b", "B")},
      {
          // The common case: the old broadcast's last samples, then a new one.
          item("old-then-new", 10, "10:01:00", "a"),
          item("old-then-new", 11, "10:02:00", "b", "B"),
          // Only the new broadcast: it closes the old one.
          item("new-only", 12, "10:02:00", "b", "B"),
          // Two new broadcasts in one batch: the loop.
          item("two-new", 13, "10:01:00", "b"),
          item("two-new", 14, "10:02:00", "c"),
          // A new broadcast, then a late sample of the old one: the loop.
          item("new-then-old", 15, "10:01:00", "b"),
          item("new-then-old", 16, "10:02:00", "a"),
          item("continued", 17, "10:02:00", "a", "A2"),
          item("then-offline", 18, "10:01:00", "a"),
          item("then-offline", 19, "10:02:00", std::nullopt, std::nullopt, false),
          // A new broadcast that starts before the open one's last sample closes nothing.
          item("late-new", 20, "10:01:00", "b", "L"),
          // A channel seen for the first time.
          item("first-seen", 21, "10:02:00", "a", "F"),
          // Two open sessions continued, then a third one that supersedes both.
          item("one-of-each", 22, "10:01:00", "a"),
          item("one-of-each", 23, "10:01:30", "b"),
          item("one-of-each", 24, "10:02:00", "c", "C"),
      },
      {item("old-then-new", 25, "10:03:00", "b"),
       // A late sample of a closed broadcast and one of the open one: both continued.
       item("new-only", 26, "10:01:00", "a"), item("new-only", 27, "10:03:00", "b"),
       item("two-new", 28, "10:03:00", "c"), item("late-new", 29, "10:06:00", "b")},
  };
}

class SessionBatchIT : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dsn = m_pg.create_database("streamtrack");
    m_options.dsn = m_dsn;
    store::PgConnection conn(m_options);
    store::apply_migrations(conn);
    m_store = std::make_unique<store::PgStore>(m_options, k_timeout);
  }

  store::WriteOutcome write(const std::vector<Item>& batch) { return m_store->write(batch); }

  // Sessions of a channel in start order: key, started, last sample, ended, active, title, peak.
  Rows sessions(const std::string& channel) const {
    return pg_query(m_dsn,
                    "SELECT l.session_key, to_char(l.started_at, 'HH24:MI:SS'), "
                    "to_char(l.last_sample_at, 'HH24:MI:SS'), "
                    "coalesce(to_char(l.ended_at, 'HH24:MI:SS'), '-'), l.is_active::text, "
                    "coalesce(l.title, '-'), coalesce(l.peak_viewers::text, '-') "
                    "FROM livestreams l JOIN channels c ON c.id = l.channel_id "
                    "WHERE c.name = '" +
                        channel + "' ORDER BY l.started_at, l.id");
  }

  // Metrics rows per session key of a channel: key, seqs in time order.
  Rows metrics(const std::string& channel) const {
    return pg_query(m_dsn,
                    "SELECT l.session_key, string_agg(m.seq::text, ',' ORDER BY m.\"timestamp\") "
                    "FROM livestream_metrics m JOIN livestreams l ON l.id = m.livestream_id "
                    "JOIN channels c ON c.id = l.channel_id WHERE c.name = '" +
                        channel +
                        "' "
                        "GROUP BY l.session_key, l.started_at ORDER BY l.started_at");
  }

  // A second database whose session steps are migration 7's step-by-step function, with the
  // partial aggregates of migration 9 and migration 10's streamtrack_store_metrics, called by the
  // signature PgStore::write calls (migration 11's) without the channels' newest rows: there
  // channel_current moves by migration 3's trigger, from the rows stored.
  store::ConnectOptions reference_database() {
    store::ConnectOptions options;
    options.dsn = m_pg.create_database("reference");
    store::PgConnection conn(options);
    EXPECT_EQ(store::apply_migrations(conn, 7).back(), 7);
    conn.exec(analytics::k_partial_aggregates_schema_sql);
    conn.exec(store::k_store_metrics_schema_sql);
    conn.exec(k_store_metrics_as_migration_10);
    return options;
  }

  // Migration 11's signature of streamtrack_store_metrics calling migration 10's, which leaves
  // channel_current to migration 3's trigger: PgStore::write as a collector of migration 10.
  static constexpr const char* k_store_metrics_as_migration_10 = R"sql(
CREATE FUNCTION streamtrack_store_metrics(
  bigint[], timestamptz[], integer[], bigint[], bigint[], double precision[], double precision[],
  bigint[], text[], bigint[], boolean, bigint[], bigint[], timestamptz[], timestamptz[],
  integer[], bigint[], double precision[])
RETURNS boolean LANGUAGE sql
AS $$ SELECT streamtrack_store_metrics($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) $$
)sql";

  // Everything a batch leaves, one query per table, each row as text.
  static std::vector<Rows> everything(const std::string& dsn) {
    return {
        pg_query(dsn,
                 "SELECT c.name, l.session_key, l.started_at::text, l.last_sample_at::text, "
                 "coalesce(l.ended_at::text, '-'), l.is_active::text, coalesce(l.title, '-'), "
                 "coalesce(l.category, '-'), coalesce(l.peak_viewers::text, '-'), "
                 "coalesce(l.platform_stream_id, '-') "
                 "FROM livestreams l JOIN channels c ON c.id = l.channel_id ORDER BY 1, 2"),
        pg_query(dsn,
                 "SELECT c.name, l.session_key, h.at::text, coalesce(h.title, '-'), "
                 "coalesce(h.category, '-') FROM livestream_changes h JOIN livestreams l "
                 "ON l.id = h.livestream_id JOIN channels c ON c.id = l.channel_id "
                 "ORDER BY 1, 2, 3, 4, 5"),
        pg_query(dsn,
                 "SELECT cc.name, coalesce(l.session_key, '-'), cc.live::text, "
                 "coalesce(cc.last_sample_at::text, '-'), coalesce(cc.viewers::text, '-') "
                 "FROM channel_current cc LEFT JOIN livestreams l ON l.id = cc.livestream_id "
                 "ORDER BY 1"),
        pg_query(dsn,
                 "SELECT l.session_key, string_agg(m.seq::text, ',' ORDER BY m.seq) FROM "
                 "livestream_metrics m JOIN livestreams l ON l.id = m.livestream_id "
                 "GROUP BY 1 ORDER BY 1"),
    };
  }

  PostgresServer m_pg;
  std::string m_dsn;
  store::ConnectOptions m_options;
  std::unique_ptr<store::PgStore> m_store;
};

TEST_F(SessionBatchIT, SeveralStepsOfOneChannelInOneBatchApplyInTimeOrder) {
  // Out of time order on purpose: the plan sorts each channel's samples by time.
  const std::vector<Item> batch{
      sample_item("twitch", "named", 4, "2030-03-01T10:03:00Z", true, "s2", "Second"),
      sample_item("nginx_rtmp", "live/derived", 13, "2030-03-01T10:30:00Z"),
      sample_item("twitch", "named", 1, "2030-03-01T10:00:00Z", true, "s1", "First"),
      sample_item("twitch", "named", 3, "2030-03-01T10:02:00Z", false),
      sample_item("nginx_rtmp", "live/derived", 11, "2030-03-01T10:00:00Z"),
      sample_item("twitch", "named", 2, "2030-03-01T10:01:00Z", true, "s1"),
      sample_item("nginx_rtmp", "live/derived", 12, "2030-03-01T10:04:00Z"),
      sample_item("twitch", "named", 5, "2030-03-01T10:04:00Z", true, "s2"),
  };
  const auto outcome = write(batch);
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;

  // s1 runs 10:00-10:01 and the offline sample at 10:02 ends it; s2 opens at 10:03.
  EXPECT_EQ(sessions("named"),
            (Rows{{"id:s1", "10:00:00", "10:01:00", "10:02:00", "false", "First", "20"},
                  {"id:s2", "10:03:00", "10:04:00", "-", "true", "Second", "50"}}));
  EXPECT_EQ(metrics("named"), (Rows{{"id:s1", "1,2"}, {"id:s2", "4,5"}}));
  // Derived: 10:00 and 10:04 continue each other (5 min timeout); 10:30 is a new broadcast,
  // which ends the old one at its last sample.
  EXPECT_EQ(
      sessions("live/derived"),
      (Rows{{"auto:2030-03-01T10:00:00.000Z", "10:00:00", "10:04:00", "10:04:00", "false", "-",
             "120"},
            {"auto:2030-03-01T10:30:00.000Z", "10:30:00", "10:30:00", "-", "true", "-", "130"}}));
  EXPECT_EQ(metrics("live/derived"), (Rows{{"auto:2030-03-01T10:00:00.000Z", "11,12"},
                                           {"auto:2030-03-01T10:30:00.000Z", "13"}}));
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM analytics_dirty"), "4");  // hour 10 of each

  // The same batch again changes nothing (a resend), whatever its order.
  const std::vector<Item> again(batch.rbegin(), batch.rend());
  ASSERT_EQ(write(again).status, Outcome::ok);
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), "7");
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestreams"), "4");
}

TEST_F(SessionBatchIT, ASessionChangeMidBatchClosesTheOldSessionAndLaterBatchesContinueTheNew) {
  ASSERT_EQ(write({sample_item("twitch", "named", 1, "2030-03-01T10:00:00Z", true, "s1", "A"),
                   sample_item("nginx_rtmp", "live/d", 11, "2030-03-01T10:00:00Z")})
                .status,
            Outcome::ok);
  // Mid-batch: s1 gets one more sample, then s2 starts; the derived channel continues.
  ASSERT_EQ(write({sample_item("twitch", "named", 2, "2030-03-01T10:01:00Z", true, "s1"),
                   sample_item("twitch", "named", 3, "2030-03-01T10:02:00Z", true, "s2", "B"),
                   sample_item("nginx_rtmp", "live/d", 12, "2030-03-01T10:01:00Z"),
                   sample_item("twitch", "named", 4, "2030-03-01T10:03:00Z", true, "s2")})
                .status,
            Outcome::ok);
  ASSERT_EQ(write({sample_item("twitch", "named", 5, "2030-03-01T10:04:00Z", true, "s2", "C"),
                   sample_item("nginx_rtmp", "live/d", 13, "2030-03-01T10:05:00Z")})
                .status,
            Outcome::ok);

  EXPECT_EQ(sessions("named"),
            (Rows{{"id:s1", "10:00:00", "10:01:00", "10:01:00", "false", "A", "20"},
                  {"id:s2", "10:02:00", "10:04:00", "-", "true", "C", "50"}}));
  EXPECT_EQ(metrics("named"), (Rows{{"id:s1", "1,2"}, {"id:s2", "3,4,5"}}));
  EXPECT_EQ(
      sessions("live/d"),
      (Rows{{"auto:2030-03-01T10:00:00.000Z", "10:00:00", "10:05:00", "-", "true", "-", "130"}}));
  // Title history of the read side (trigger on livestreams): A, then B and C of s2.
  EXPECT_EQ(pg_query(m_dsn, "SELECT title FROM livestream_changes ORDER BY at, id"),
            (Rows{{"A"}, {"B"}, {"C"}}));
}

TEST_F(SessionBatchIT, TitlesAndKeysOfAnyTextAreStoredVerbatim) {
  const std::string title = "say \"hi\", {NULL} \\o/\ttab\nline \xc3\xa9 \xf0\x9f\x8e\xae";
  const std::string stream_id = "NULL";
  ASSERT_EQ(write({sample_item("twitch", "odd\"name,{x}", 1, "2030-03-01T10:00:00Z", true,
                               stream_id, title)})
                .status,
            Outcome::ok);
  EXPECT_EQ(pg_query(m_dsn,
                     "SELECT c.name, l.session_key, (l.platform_stream_id = 'NULL')::text, l.title "
                     "FROM livestreams l JOIN channels c ON c.id = l.channel_id"),
            (Rows{{"odd\"name,{x}", "id:NULL", "true", title}}));
}

TEST_F(SessionBatchIT, ARefusedRowInTheMiddleIsDeadLetteredAndTheRestCommitsWithItsSessions) {
  std::vector<Item> batch;
  for (int i = 0; i < 9; ++i) {
    batch.push_back(sample_item("twitch", "ch" + std::to_string(i % 3), i + 1,
                                "2030-03-01T10:0" + std::to_string(i) + ":00Z", true,
                                "s" + std::to_string(i % 3)));
  }
  batch[4].sample->viewers = std::int64_t{1} << 40;  // no PostgreSQL integer holds it
  std::map<std::string, std::set<std::int64_t>> acked;
  batch::WriterCounters counters;
  batch::BatchWriter writer(
      *m_store,
      [&](const std::string& agent, std::vector<std::int64_t> seqs) {
        acked[agent].insert(seqs.begin(), seqs.end());
      },
      counters);
  ASSERT_EQ(writer.write(batch), Outcome::ok);

  EXPECT_EQ(acked["studio"], (std::set<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(pg_query(m_dsn, "SELECT origin, reason LIKE 'SQLSTATE 22003:%' FROM ingest_rejects"),
            (Rows{{"database", "t"}}));
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT string_agg(seq::text, ',' ORDER BY seq) "
                      "FROM livestream_metrics"),
            "1,2,3,4,6,7,8,9");
  // ch1 keeps its session from the samples that committed, untouched by the refused one.
  EXPECT_EQ(sessions("ch1"), (Rows{{"id:s1", "10:01:00", "10:07:00", "-", "true", "-", "80"}}));
}

TEST_F(SessionBatchIT, TwoWritersOnTheSameChannelsNeverDeadlockAndStoreEverySampleOnce) {
  constexpr int k_channels = 60;
  constexpr int k_rounds = 30;
  // Each writer writes its own samples (its own agent) of the same channels, in opposite
  // orders within each batch, with named and derived sessions and offline samples.
  const auto writer_batches = [&](const std::string& agent, bool reverse) {
    std::vector<std::vector<Item>> batches;
    for (int round = 0; round < k_rounds; ++round) {
      std::vector<Item> batch;
      for (int c = 0; c < k_channels; ++c) {
        const bool derived = c % 2 == 1;
        const bool offline = round % 10 == 9 && c % 3 == 0;
        const auto ts = format_rfc3339(*parse_rfc3339("2030-03-01T10:00:00Z") +
                                       std::chrono::seconds{round * 10});
        auto item = sample_item(
            derived ? "nginx_rtmp" : "twitch", "ch" + std::to_string(c), round * k_channels + c + 1,
            ts, !offline,
            derived ? std::nullopt : std::optional<std::string>("b" + std::to_string(round / 10)));
        item.sample->agent = agent;
        item.agent = agent;
        batch.push_back(std::move(item));
      }
      if (reverse) std::reverse(batch.begin(), batch.end());
      batches.push_back(std::move(batch));
    }
    return batches;
  };
  // Derived channels are scoped per agent (self-hosted servers); the named ones are shared.
  const auto first = writer_batches("studio", false);
  const auto second = writer_batches("studio2", true);
  std::atomic<int> failures{0};
  std::string failure;
  std::mutex failure_mutex;
  const auto run = [&](const std::vector<std::vector<Item>>& batches) {
    store::PgStore store(m_options, k_timeout);
    for (const auto& batch : batches) {
      const auto outcome = store.write(batch);
      if (outcome.status != Outcome::ok) {
        ++failures;
        std::lock_guard lock(failure_mutex);
        failure = outcome.error;
      }
    }
  };
  std::thread a(run, std::cref(first));
  std::thread b(run, std::cref(second));
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0) << failure;  // a deadlock would be SQLSTATE 40P01 here
  const auto live_rows = [&] {
    int n = 0;
    for (const auto* batches : {&first, &second}) {
      for (const auto& batch : *batches) {
        for (const auto& item : batch) n += item.sample->live ? 1 : 0;
      }
    }
    return n;
  }();
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), std::to_string(live_rows));
  // Named channels: one session per stream id, shared by both agents (b0, b1, b2).
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT count(*) FROM livestreams l JOIN channels c "
                      "ON c.id = l.channel_id WHERE c.platform = 'twitch'"),
            std::to_string(k_channels / 2 * 3));
  // Open at the end: every session but those the last offline samples closed (channels
  // c % 6 == 0 named, c % 6 == 3 derived, the latter once per agent): 20 + 40.
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestreams WHERE is_active"), "60");
}

// Two writers one batch apart, so that a channel's new session in one writer's batch meets the
// old session continued in the other's, with every kind of step, at once. Each batch must
// commit as it comes (a deadlock would be SQLSTATE 40P01) and every sample be stored once.
TEST_F(SessionBatchIT, TwoWritersOneBatchApartAcrossSessionChangesNeverDeadlock) {
  constexpr int k_channels = 80;
  constexpr int k_rounds = 40;
  const auto base = *parse_rfc3339("2030-03-01T10:00:00Z");
  const auto batch_of = [&](const std::string& agent, int round) {
    std::vector<Item> batch;
    for (int c = 0; c < k_channels; ++c) {
      const bool derived = c % 4 == 3;
      const bool offline = round % 13 == 12 && c % 5 == 0;
      // A new stream id every 3 rounds, at a different round for each channel.
      const auto stream = "b" + std::to_string((round + c) / 3);
      for (int k = 0; k < (c % 7 == 0 ? 2 : 1); ++k) {
        auto item = sample_item(derived ? "nginx_rtmp" : "twitch", "ch" + std::to_string(c),
                                (round * k_channels + c) * 2 + k + 1,
                                format_rfc3339(base + std::chrono::seconds{round * 10 + k}),
                                !offline, derived ? std::nullopt : std::optional(stream),
                                "t" + std::to_string(round / 4));
        item.sample->agent = agent;
        item.agent = agent;
        batch.push_back(std::move(item));
      }
    }
    if (round % 2 == 1) std::reverse(batch.begin(), batch.end());
    return batch;
  };
  std::atomic<int> failures{0};
  std::string failure;
  std::mutex failure_mutex;
  int live_rows = 0;
  std::vector<std::vector<Item>> first, second;
  for (int round = 0; round < k_rounds; ++round) {
    first.push_back(batch_of("studio", round));
    second.push_back(batch_of("studio2", round + 1));
    for (const auto* batch : {&first.back(), &second.back()}) {
      for (const auto& item : *batch) live_rows += item.sample->live ? 1 : 0;
    }
  }
  const auto run = [&](const std::vector<std::vector<Item>>& batches) {
    store::PgStore store(m_options, k_timeout);
    for (const auto& batch : batches) {
      const auto outcome = store.write(batch);
      if (outcome.status != Outcome::ok) {
        ++failures;
        std::lock_guard lock(failure_mutex);
        failure = outcome.error;
      }
    }
  };
  std::thread a(run, std::cref(first));
  std::thread b(run, std::cref(second));
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0) << failure;
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), std::to_string(live_rows));
  // Named channels: one session per stream id seen, never two open at once.
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT count(*) FROM (SELECT channel_id FROM livestreams WHERE is_active "
                      "GROUP BY channel_id HAVING count(*) > 1) t"),
            "0");
}

// The set-based path (migration 8) against the step-by-step function it replaced (migration 7):
// the same batches, with late and out-of-order samples, title changes, offline samples, new,
// derived and reopened sessions and the sweeper between batches, leave the same sessions, the
// same title history and the same current state of every channel.
TEST_F(SessionBatchIT, SetBasedStepsLeaveWhatTheStepByStepFunctionLeft) {
  const auto reference_options = reference_database();
  const auto& reference_dsn = reference_options.dsn;
  constexpr auto k_silence = std::chrono::minutes{5};
  store::PgStore reference(reference_options, k_silence);
  store::PgStore set_based(m_options, k_silence);
  store::PgConnection reference_conn(reference_options);
  store::PgConnection set_based_conn(m_options);

  std::mt19937 random(20301);
  const auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(random) < percent;
  };
  const auto base = *parse_rfc3339("2030-03-01T10:00:00Z");
  constexpr int k_channels = 16;
  std::vector<int> stream(k_channels, 0);
  std::int64_t seq = 0;
  const std::vector<std::optional<std::string>> titles{std::nullopt, "A", "B", "C"};
  for (int round = 0; round < 60; ++round) {
    const auto now = base + std::chrono::seconds{round * 40};
    std::vector<Item> batch;
    for (int c = 0; c < k_channels; ++c) {
      if (!chance(70)) continue;
      const bool derived = c % 4 == 3;
      if (chance(10)) ++stream[static_cast<std::size_t>(c)];
      const int samples = std::uniform_int_distribution<int>(1, c % 3 == 0 ? 3 : 1)(random);
      for (int k = 0; k < samples; ++k) {
        // Now and then late (up to 10 minutes) or a sample of the previous stream.
        const auto late = chance(15) ? std::uniform_int_distribution<int>(1, 600)(random) : 0;
        const auto stream_no = stream[static_cast<std::size_t>(c)] - (chance(5) ? 1 : 0);
        auto item = sample_item(
            derived ? "nginx_rtmp" : "twitch", "ch" + std::to_string(c), ++seq,
            format_rfc3339(now + std::chrono::seconds{k * 7 - late}), !chance(7),
            derived ? std::nullopt : std::optional("b" + std::to_string(stream_no)),
            titles[std::uniform_int_distribution<std::size_t>(0, titles.size() - 1)(random)]);
        if (item.sample->live) {
          item.sample->viewers = std::uniform_int_distribution<int>(0, 900)(random);
          item.sample->chat_messages = std::uniform_int_distribution<int>(0, 50)(random);
        }
        batch.push_back(std::move(item));
      }
    }
    std::shuffle(batch.begin(), batch.end(), random);
    ASSERT_EQ(reference.write(batch).status, Outcome::ok) << "round " << round;
    const auto outcome = set_based.write(batch);
    ASSERT_EQ(outcome.status, Outcome::ok) << "round " << round << ": " << outcome.error;
    if (chance(30)) {
      sessions::close_silent_sessions(reference_conn, now, k_silence);
      sessions::close_silent_sessions(set_based_conn, now, k_silence);
    }
  }
  const std::string sessions_sql =
      "SELECT c.name, l.session_key, l.started_at::text, l.last_sample_at::text, "
      "coalesce(l.ended_at::text, '-'), l.is_active::text, coalesce(l.title, '-'), "
      "coalesce(l.category, '-'), coalesce(l.peak_viewers::text, '-'), "
      "coalesce(l.platform_stream_id, '-') "
      "FROM livestreams l JOIN channels c ON c.id = l.channel_id ORDER BY 1, 2";
  const std::string changes_sql =
      "SELECT c.name, l.session_key, h.at::text, coalesce(h.title, '-'), "
      "coalesce(h.category, '-') FROM livestream_changes h JOIN livestreams l "
      "ON l.id = h.livestream_id JOIN channels c ON c.id = l.channel_id ORDER BY 1, 2, 3, 4, 5";
  const std::string current_sql =
      "SELECT cc.name, coalesce(l.session_key, '-'), cc.live::text, "
      "coalesce(cc.last_sample_at::text, '-'), coalesce(cc.viewers::text, '-'), "
      "coalesce(cc.chat_messages::text, '-'), coalesce(round(cc.chat_per_minute::numeric, "
      "6)::text, '-') FROM channel_current cc LEFT JOIN livestreams l ON l.id = cc.livestream_id "
      "ORDER BY 1";
  const std::string metrics_sql =
      "SELECT l.session_key, string_agg(m.seq::text, ',' ORDER BY m.seq) FROM livestream_metrics "
      "m JOIN livestreams l ON l.id = m.livestream_id GROUP BY 1 ORDER BY 1";
  const auto sessions_rows = pg_query(m_dsn, sessions_sql);
  EXPECT_GT(sessions_rows.size(), std::size_t{k_channels});
  EXPECT_EQ(sessions_rows, pg_query(reference_dsn, sessions_sql));
  EXPECT_EQ(pg_query(m_dsn, changes_sql), pg_query(reference_dsn, changes_sql));
  EXPECT_EQ(pg_query(m_dsn, current_sql), pg_query(reference_dsn, current_sql));
  EXPECT_EQ(pg_query(m_dsn, metrics_sql), pg_query(reference_dsn, metrics_sql));
}

// Migration 11 applies the steps of channels whose only new session is their last step in three
// statements for the whole batch; other channels go through the loop. Each shape of a channel's
// steps, on both paths, leaves what migration 7's step-by-step function left.
TEST_F(SessionBatchIT, NewSessionsAppliedSetBasedLeaveWhatTheStepByStepFunctionLeft) {
  const auto reference_options = reference_database();
  store::PgStore reference(reference_options, k_timeout);
  const auto batches = steps_of_every_shape();
  for (std::size_t i = 0; i < batches.size(); ++i) {
    ASSERT_EQ(reference.write(batches[i]).status, Outcome::ok) << "batch " << i;
    const auto outcome = write(batches[i]);
    ASSERT_EQ(outcome.status, Outcome::ok) << "batch " << i << ": " << outcome.error;
    EXPECT_EQ(everything(m_dsn), everything(reference_options.dsn)) << "after batch " << i;
  }
  // The common case as the read side sees it: the old broadcast closed at its last sample.
  EXPECT_EQ(sessions("old-then-new"),
            (Rows{{"id:a", "10:00:00", "10:01:00", "10:01:00", "false", "A", "100"},
                  {"id:b", "10:02:00", "10:03:00", "-", "true", "B", "250"}}));
}

// An upgrade from migration 10 with sessions in place: the batches after it continue and supersede
// the sessions migration 10's function opened as the step-by-step function would have.
TEST_F(SessionBatchIT, AnUpgradeFromMigration10ContinuesItsSessions) {
  const auto reference_options = reference_database();
  store::PgStore reference(reference_options, k_timeout);
  store::ConnectOptions upgraded_options;
  upgraded_options.dsn = m_pg.create_database("upgraded");
  store::PgConnection conn(upgraded_options);
  ASSERT_EQ(store::apply_migrations(conn, 10).back(), 10);
  conn.exec(k_store_metrics_as_migration_10);
  store::PgStore upgraded(upgraded_options, k_timeout);
  const auto batches = steps_of_every_shape();
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (i == 1) {
      conn.exec(
          "DROP FUNCTION streamtrack_store_metrics(bigint[], timestamptz[], integer[], bigint[], "
          "bigint[], double precision[], double precision[], bigint[], text[], bigint[], "
          "boolean, bigint[], bigint[], timestamptz[], timestamptz[], integer[], bigint[], "
          "double precision[])");
      ASSERT_EQ(store::apply_migrations(conn), (std::vector<int>{11, 12}));
    }
    ASSERT_EQ(reference.write(batches[i]).status, Outcome::ok) << "batch " << i;
    const auto outcome = upgraded.write(batches[i]);
    ASSERT_EQ(outcome.status, Outcome::ok) << "batch " << i << ": " << outcome.error;
    EXPECT_EQ(everything(upgraded_options.dsn), everything(reference_options.dsn))
        << "after batch " << i;
  }
  EXPECT_EQ(pg_scalar(upgraded_options.dsn,
                      "SELECT reloptions::text FROM pg_class WHERE relname = 'livestreams'"),
            "{fillfactor=50}");
}

// A writer meeting a channel for the first time (not in its cache) while another writer holds
// an earlier channel of the same batch: resolving the new channel must not lock it, or each
// would wait for the other (first the resolving writer gets the later channel, then wants the
// earlier one its rival holds while the rival waits for the later one).
TEST_F(SessionBatchIT, AWriterResolvingANewChannelNeverDeadlocksWithOneHoldingAnEarlierChannel) {
  const auto batch = [](const std::string& agent, std::int64_t seq, const std::string& ts,
                        std::vector<std::string> names) {
    std::vector<Item> items;
    for (const auto& name : names) {
      auto item = sample_item("twitch", name, seq++, ts, true, "b1");
      item.sample->agent = agent;
      item.agent = agent;
      items.push_back(std::move(item));
    }
    return items;
  };
  store::PgStore first(m_options, k_timeout);
  store::PgStore second(m_options, k_timeout);
  ASSERT_EQ(first.write(batch("studio", 1, "2030-03-01T10:00:00Z", {"a-ch", "b-ch"})).status,
            Outcome::ok);
  ASSERT_EQ(second.write(batch("studio2", 1, "2030-03-01T10:00:00Z", {"a-ch"})).status,
            Outcome::ok);  // the second writer knows a-ch, not b-ch

  store::PgConnection holder(m_options);
  holder.exec("BEGIN");
  holder.exec("SELECT 1 FROM channels WHERE name = 'b-ch' FOR NO KEY UPDATE");
  const auto waiting = [&] {
    return std::stoi(pg_scalar(m_dsn,
                               "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                               "'Lock' AND datname = current_database()"));
  };
  store::WriteOutcome second_outcome, first_outcome;
  std::thread b([&] {
    second_outcome = second.write(batch("studio2", 10, "2030-03-01T10:00:10Z", {"a-ch", "b-ch"}));
  });
  ASSERT_TRUE(wait_until([&] { return waiting() >= 1; }));
  std::thread a([&] {
    first_outcome = first.write(batch("studio", 10, "2030-03-01T10:00:10Z", {"a-ch", "b-ch"}));
  });
  ASSERT_TRUE(wait_until([&] { return waiting() >= 2; }));
  holder.exec("COMMIT");
  a.join();
  b.join();
  EXPECT_EQ(first_outcome.status, Outcome::ok) << first_outcome.error;
  EXPECT_EQ(second_outcome.status, Outcome::ok) << second_outcome.error;
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), "7");
}

}  // namespace
}  // namespace streamtrack::collector
