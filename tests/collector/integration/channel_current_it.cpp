// channel_current (the read side's newest figures per channel) as the collector's batches keep it,
// against a real PostgreSQL: its updates stay HOT (migration 10), the newest sample wins whatever
// order writers commit in, and an upgrade from migration 9 keeps what the table held.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

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

constexpr auto k_session_timeout = std::chrono::milliseconds{5min};

Item sample_item(const std::string& agent, const std::string& channel, std::int64_t seq,
                 TimePoint ts, std::int64_t viewers, bool live = true) {
  Sample s;
  s.agent = agent;
  s.seq = seq;
  s.ts = ts;
  s.platform = "twitch";
  s.channel = channel;
  s.live = live;
  if (live) {
    s.viewers = viewers;
    s.chat_messages = viewers / 10;
    s.stream_id = "broadcast";
    s.title = "Title " + std::to_string(viewers % 3);
  }
  return queued_sample(std::move(s));
}

// What GET /api/v1/channels shows of each channel, in channel order.
const char* const k_current_sql =
    "SELECT cc.name, coalesce(cc.livestream_id::text, '-'), cc.live::text, "
    "coalesce(cc.last_sample_at::text, '-'), coalesce(cc.viewers::text, '-'), "
    "coalesce(cc.chat_messages::text, '-'), "
    "coalesce(round(cc.chat_per_minute::numeric, 6)::text, '-'), "
    "coalesce(cc.bitrate_kbps::text, '-') FROM channel_current cc ORDER BY cc.channel_id";

// Each sort order of the channel list (web/api/channels.cpp), as channel ids in page order.
std::vector<std::string> channel_list_orders(const std::string& dsn) {
  std::vector<std::string> orders;
  for (const std::string key :
       {"coalesce(viewers, -1)", "name", "coalesce(last_sample_at, '-infinity'::timestamptz)"}) {
    for (const std::string dir : {" ASC", " DESC"}) {
      for (const std::string where : {"true", "live"}) {
        orders.push_back(pg_scalar(dsn, "SELECT string_agg(channel_id::text, ',' ORDER BY " + key +
                                            dir + ", channel_id" + dir +
                                            ") FROM channel_current WHERE " + where));
      }
    }
  }
  return orders;
}

// An update is HOT when the page has room for the new version; a snapshot that briefly keeps
// the old ones from being pruned (autovacuum's ANALYZE of this busy table) may leave a page
// without, so "nearly": with an index on a moving column, none would be.
void expect_nearly_all_hot(std::int64_t updates, std::int64_t hot) {
  EXPECT_GE(hot * 100, updates * 95) << hot << " of " << updates << " updates HOT";
}

class ChannelCurrentIT : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dsn = m_pg.create_database("streamtrack");
    m_options.dsn = m_dsn;
  }

  void migrate(std::optional<int> up_to = std::nullopt) {
    store::PgConnection conn(m_options);
    store::apply_migrations(conn, up_to);
  }

  // `count` channels ch0, ch1, ..., each with one live session, as a collector of migration 9
  // stored them (SQL, not PgStore, which writes the schema of the newest migration).
  void insert_live_channels(int count) {
    pg_query(m_dsn,
             "INSERT INTO channels (platform, scope, name) SELECT 'twitch', '', 'ch' || c "
             "FROM generate_series(0, " +
                 std::to_string(count - 1) + R"sql() c ORDER BY c;
INSERT INTO livestreams (channel_id, session_key, platform_stream_id, started_at, last_sample_at,
                         title, peak_viewers)
SELECT id, 'id:broadcast', 'broadcast', '2030-03-01T10:00:00Z', '2030-03-01T10:00:30Z',
       'Title', 500
FROM channels;
)sql");
  }

  void write(store::PgStore& writer, const std::vector<Item>& batch) {
    const auto outcome = writer.write(batch);
    ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  }

  // Rounds of one sample per channel, `channels` channels, viewers following the round.
  void write_rounds(store::PgStore& writer, int channels, int first_round, int rounds) {
    const auto base = *parse_rfc3339("2030-03-01T10:00:00Z");
    for (int round = first_round; round < first_round + rounds; ++round) {
      std::vector<Item> batch;
      for (int c = 0; c < channels; ++c) {
        batch.push_back(sample_item("studio", "ch" + std::to_string(c), ++m_seq,
                                    base + std::chrono::seconds{10 * round},
                                    round * 100 + (c * 37) % 101, !(c % 7 == 0 && round % 4 == 3)));
      }
      write(writer, batch);
    }
  }

  // Updates of channel_current and how many of them were HOT, once every statistic of the
  // writers (closed before) has reached the cumulative statistics.
  std::pair<std::int64_t, std::int64_t> updates_when_reported(std::int64_t at_least) const {
    const std::string sql =
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = "
        "'channel_current'";
    Rows r;
    wait_until(
        [&] {
          r = pg_query(m_dsn, sql);
          return std::stoll(r.at(0).at(0)) >= at_least;
        },
        std::chrono::seconds{60});
    return {std::stoll(r.at(0).at(0)), std::stoll(r.at(0).at(1))};
  }

  PostgresServer m_pg;
  std::string m_dsn;
  store::ConnectOptions m_options;
  std::int64_t m_seq = 0;
};

TEST_F(ChannelCurrentIT, EveryBatchMovesChannelCurrentByHotUpdates) {
  migrate();
  constexpr int k_channels = 300;
  constexpr int k_rounds = 12;
  {
    // The first batch creates the channels (and moves their new rows in the same transaction).
    store::PgStore writer(m_options, k_session_timeout);
    write_rounds(writer, k_channels, 0, 1);
  }  // a writer's statistics are reported when its connection ends
  const auto [created_updates, created_hot] = updates_when_reported(k_channels);
  {
    store::PgStore writer(m_options, k_session_timeout);
    write_rounds(writer, k_channels, 1, k_rounds - 1);
  }
  // Every later round moves each channel; offline samples also close sessions (another update
  // of the same rows).
  const auto [updates, hot] = updates_when_reported(created_updates + (k_rounds - 1) * k_channels);
  EXPECT_GE(updates - created_updates, (k_rounds - 1) * k_channels);
  expect_nearly_all_hot(updates - created_updates, hot - created_hot);
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM channel_current WHERE viewers IS NOT NULL"),
            std::to_string(k_channels - (k_channels + 6) / 7));
}

// Two writers (a shared subscription spreads a channel's samples over both) commit in any order:
// what a channel shows is its newest sample, never the one committed last.
TEST_F(ChannelCurrentIT, TheNewestSampleWinsWhateverOrderWritersCommitIn) {
  migrate();
  constexpr int k_channels = 40;
  constexpr int k_batches = 30;
  const auto base = *parse_rfc3339("2030-03-01T10:00:00Z");
  std::atomic<bool> failed{false};
  const auto run = [&](const std::string& agent, unsigned seed) {
    store::PgStore writer(m_options, k_session_timeout);
    std::mt19937 random(seed);
    std::int64_t seq = 0;
    for (int b = 0; b < k_batches && !failed; ++b) {
      std::vector<Item> batch;
      for (int c = 0; c < k_channels; ++c) {
        // Times jump back and forth by up to a minute around the batch's time.
        const auto offset = std::uniform_int_distribution<int>(-60, 60)(random);
        const auto ts = base + std::chrono::seconds{b * 20 + offset};
        batch.push_back(sample_item(agent, "ch" + std::to_string(c), ++seq, ts,
                                    std::uniform_int_distribution<int>(0, 100000)(random)));
      }
      if (writer.write(batch).status != Outcome::ok) failed = true;
    }
  };
  std::thread first(run, "agent-a", 1U);
  std::thread second(run, "agent-b", 2U);
  first.join();
  second.join();
  ASSERT_FALSE(failed);
  // The newest row of each channel (ties: both are as new; the greater viewer count is not
  // preferred, so the test keeps to channels whose newest time is unique).
  const auto newest = pg_query(m_dsn, R"sql(
SELECT c.name, n."timestamp"::text, n.viewer_count::text
FROM channels c
JOIN LATERAL (SELECT m."timestamp", m.viewer_count,
                     count(*) OVER (PARTITION BY m."timestamp") AS same_time
              FROM livestream_metrics m JOIN livestreams l ON l.id = m.livestream_id
              WHERE l.channel_id = c.id ORDER BY m."timestamp" DESC LIMIT 1) n ON true
WHERE n.same_time = 1
ORDER BY c.name
)sql");
  ASSERT_GT(newest.size(), std::size_t{k_channels / 2});
  const auto current = pg_query(
      m_dsn, "SELECT name, last_sample_at::text, viewers::text FROM channel_current ORDER BY name");
  Rows shown;
  for (const auto& row : current) {
    for (const auto& expected : newest) {
      if (expected[0] == row[0]) shown.push_back(row);
    }
  }
  EXPECT_EQ(shown, newest);
}

// An upgrade from migration 9 with channels in place: channel_current keeps every row, every
// sort order of the channel list is unchanged, and the next batches move it as before, HOT.
TEST_F(ChannelCurrentIT, AnUpgradeFromMigration9KeepsChannelCurrentAndItsOrders) {
  migrate(9);
  constexpr int k_channels = 200;
  // Written as the collector of migration 9 wrote them (its statements, one per batch): the
  // triggers of migration 3 keep channel_current.
  insert_live_channels(k_channels);
  for (int round = 0; round < 4; ++round) {
    const auto r = std::to_string(round);
    pg_query(m_dsn,
             "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
             "chat_messages, bitrate_kbps, agent_id, seq) SELECT l.id, '2030-03-01T10:00:00Z'::"
             "timestamptz + interval '10 s' * " +
                 r + ", " + r +
                 " * 100 + (l.channel_id * 37) % 101, l.channel_id % 5, 2500.5, "
                 "'studio', l.channel_id * 10 + " +
                 r + " FROM livestreams l");
  }
  pg_query(m_dsn,
           "UPDATE livestreams SET is_active = false, ended_at = last_sample_at WHERE "
           "channel_id % 7 = 0");
  const auto before = pg_query(m_dsn, k_current_sql);
  ASSERT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM channel_current WHERE live"),
            pg_scalar(m_dsn, "SELECT count(*) FROM channels WHERE id % 7 <> 0"));
  const auto orders_before = channel_list_orders(m_dsn);

  migrate();
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT max(version) FROM schema_migrations"),
            std::to_string(store::migrations().back().version));
  EXPECT_EQ(pg_query(m_dsn, k_current_sql), before);
  EXPECT_EQ(channel_list_orders(m_dsn), orders_before);
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                      "WHERE tablename = 'channel_current'"),
            "channel_current_name_idx,channel_current_pkey");

  // The collector of migration 10 moves the same rows on: rows written before the migration sit
  // on full pages, so their first move goes to a page with room, and every later one stays HOT.
  const auto updates_before = updates_when_reported(4 * k_channels);
  {
    store::PgStore writer(m_options, k_session_timeout);
    write_rounds(writer, k_channels, 4, 1);
  }
  const auto after_first = updates_when_reported(updates_before.first + k_channels);
  {
    store::PgStore writer(m_options, k_session_timeout);
    write_rounds(writer, k_channels, 5, 6);
  }
  const auto [updates, hot] = updates_when_reported(after_first.first + 6 * k_channels);
  expect_nearly_all_hot(updates - after_first.first, hot - after_first.second);
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT count(*) FROM channel_current WHERE live AND last_sample_at "
                      "= '2030-03-01T10:01:40Z'"),
            std::to_string(k_channels));
}

// A collector of the previous version keeps writing while migration 10 runs (a rolling
// upgrade). Its batch moves sessions in livestreams, then its metrics INSERT moves
// channel_current (migration 3's trigger). The migration takes livestreams before
// channel_current, the writers' order: a batch in flight commits and the migration completes
// after it. Taken the other way round, each waited for the other and PostgreSQL ended one of
// them with a deadlock (40P01).
TEST_F(ChannelCurrentIT, MigrationTenTakesItsTablesInTheWritersOrderSoABatchInFlightCommits) {
  migrate(9);
  insert_live_channels(10);
  store::PgConnection writer(m_options);
  writer.exec("BEGIN");
  writer.exec("UPDATE livestreams SET last_sample_at = '2030-03-01T10:00:40Z'");

  std::string migration_error;
  std::thread migration([&] {
    try {
      migrate(10);
    } catch (const std::exception& e) {
      migration_error = e.what();
    }
  });
  // The migration waits for a lock the batch holds.
  wait_until(
      [&] {
        return pg_scalar(m_dsn,
                         "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND wait_event_type = 'Lock'") == "1";
      },
      std::chrono::seconds{60});

  std::string batch_error;
  try {
    writer.exec(
        "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
        "chat_messages, agent_id, seq) SELECT id, '2030-03-01T10:00:40Z', 700, 3, 'studio', "
        "channel_id FROM livestreams");
    writer.exec("COMMIT");
  } catch (const std::exception& e) {
    batch_error = e.what();
  }
  migration.join();
  EXPECT_EQ(batch_error, "");
  EXPECT_EQ(migration_error, "");
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT max(version) FROM schema_migrations"), "10");
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT count(*) FROM channel_current WHERE viewers = 700 AND "
                      "last_sample_at = '2030-03-01T10:00:40Z'"),
            "10");
}

// Migration 11 (new sessions set-based, room on the session rows' pages) takes no lock a batch
// conflicts with: it completes while a batch that moved its sessions and stored its rows is
// still open, and that batch then commits.
TEST_F(ChannelCurrentIT, MigrationElevenCompletesWhileABatchIsInFlight) {
  migrate(10);
  insert_live_channels(10);
  store::PgConnection writer(m_options);
  writer.exec("BEGIN");
  writer.exec("UPDATE livestreams SET last_sample_at = '2030-03-01T10:00:40Z'");
  writer.exec(
      "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
      "chat_messages, agent_id, seq) SELECT id, '2030-03-01T10:00:40Z', 700, 3, 'studio', "
      "channel_id FROM livestreams");

  std::atomic<bool> migrated{false};
  std::string migration_error;
  std::thread migration([&] {
    try {
      migrate(11);
    } catch (const std::exception& e) {
      migration_error = e.what();
    }
    migrated = true;
  });
  const bool done_while_open =
      wait_until([&] { return migrated.load(); }, std::chrono::seconds{60});
  writer.exec("COMMIT");
  migration.join();
  EXPECT_TRUE(done_while_open) << "migration 11 waited for the batch";
  EXPECT_EQ(migration_error, "");
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT max(version) FROM schema_migrations"), "11");
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT count(*) FROM channel_current WHERE viewers = 700 AND "
                      "last_sample_at = '2030-03-01T10:00:40Z'"),
            "10");
}

// Migration 12 (the metrics functions read their rows in the select list) stores what migration
// 11's functions stored: databases written wholly at 11, wholly at 12, and upgraded from 11 to
// 12 between batches (its writer's connection open) hold the same rows (every column set, each
// to its own value), hourly partial aggregates and current values, with a resent batch (the ON
// CONFLICT path, which stores nothing again) before and after the upgrade.
TEST_F(ChannelCurrentIT, MigrationTwelveStoresWhatElevenStored) {
  const auto contents = [](const std::string& dsn) {
    std::string out;
    for (const std::string& sql :
         {std::string("SELECT livestream_id, \"timestamp\", viewer_count, chat_messages, "
                      "chatters, bitrate_kbps, fps, dropped_frames, agent_id, seq "
                      "FROM livestream_metrics ORDER BY 1, 2"),
          std::string("SELECT * FROM analytics_dirty ORDER BY 1, 2, 3, 4, 5, 6, 7"),
          std::string(k_current_sql)}) {
      for (const auto& row : pg_query(dsn, sql)) {
        for (const auto& field : row) out += field + "|";
        out += "\n";
      }
    }
    return out;
  };
  const auto base = *parse_rfc3339("2030-03-01T10:00:00Z");
  std::vector<std::vector<Item>> batches;
  for (int round = 0; round < 4; ++round) {
    std::vector<Item> batch;
    for (int c = 0; c < 12; ++c) {
      for (int i = 0; i < 3; ++i) {  // three samples of each channel in each batch
        const int n = round * 100 + i * 10 + c;
        auto item = sample_item("studio", "ch" + std::to_string(c), ++m_seq,
                                base + std::chrono::seconds{30 * round + 10 * i}, n,
                                !(c == 5 && round == 2));
        item.sample->chatters = 1000 + n;
        item.sample->bitrate_kbps = 2000.5 + n;
        item.sample->fps = 30.25 + n;
        item.sample->dropped_frames = 3000 + n;
        batch.push_back(std::move(item));
      }
    }
    batches.push_back(std::move(batch));
  }
  // Batches 0 and 1, batch 0 again, [the upgrade], batch 2, batch 1 again, batch 3.
  const auto write_all = [&](const std::string& dsn, std::optional<int> first_version,
                             bool upgrade_midway) {
    store::ConnectOptions options;
    options.dsn = dsn;
    {
      store::PgConnection conn(options);
      store::apply_migrations(conn, first_version);
    }
    store::PgStore writer(options, k_session_timeout);
    for (const int b : {0, 1, 0}) write(writer, batches[static_cast<std::size_t>(b)]);
    if (upgrade_midway) {
      store::PgConnection conn(options);
      store::apply_migrations(conn);
    }
    for (const int b : {2, 1, 3}) write(writer, batches[static_cast<std::size_t>(b)]);
    return pg_scalar(dsn, "SELECT max(version) FROM schema_migrations");
  };
  const auto at_eleven = m_pg.create_database("at_eleven");
  const auto at_twelve = m_pg.create_database("at_twelve");
  EXPECT_EQ(write_all(at_eleven, 11, false), "11");
  EXPECT_EQ(write_all(at_twelve, std::nullopt, false), "12");
  EXPECT_EQ(write_all(m_dsn, 11, true), "12");
  // 4 batches of 36 samples, each stored once, but for the 3 offline ones (no metrics row).
  EXPECT_EQ(pg_scalar(at_eleven, "SELECT count(*) FROM livestream_metrics"), "141");
  const auto expected = contents(at_eleven);
  EXPECT_EQ(contents(at_twelve), expected);
  EXPECT_EQ(contents(m_dsn), expected);
}

}  // namespace
}  // namespace streamtrack::collector
