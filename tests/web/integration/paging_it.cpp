// Cursor paging over 20,000 channels. These rows are bulk-inserted directly (the collector
// would need minutes to create them through MQTT); the schema's triggers still keep
// channel_current, exactly as they do for the collector's writes.
#include <gtest/gtest.h>

#include <set>

#include "tests/web/integration/web_fixture.hpp"

namespace streamtrack::web::testing {
namespace {

constexpr int k_channels = 20'000;

class PagingTest : public WebTest {
 protected:
  void bulk_load() {
    pg_query(m_dsn,
             "INSERT INTO channels (platform, name) SELECT CASE WHEN g % 4 = 0 THEN "
             "'twitch' ELSE 'owncast' END, 'ch' || lpad(g::text, 5, '0') "
             "FROM generate_series(1, " +
                 std::to_string(k_channels) + ") g");
    // Every third channel is offline (never sampled); the others have a session and a sample
    // with viewers = id % 997, so many share a viewer count and the id breaks the tie.
    pg_query(m_dsn,
             "INSERT INTO livestreams (channel_id, session_key, started_at, last_sample_at, "
             "title, is_active) SELECT id, 'bulk', now() - interval '1 hour', now(), "
             "'title ' || id, true FROM channels WHERE id % 3 <> 0");
    pg_query(m_dsn,
             "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
             "chat_messages, bitrate_kbps, agent_id, seq) SELECT l.id, now() - (c.id % 60) * "
             "interval '1 second', c.id % 997, 1, 3000, 'bulk', c.id FROM livestreams l JOIN "
             "channels c ON c.id = l.channel_id");
  }

  // Follows next_cursor from the first page to the end; returns every item.
  std::vector<json> all_pages(const std::string& query, int& pages) {
    std::vector<json> items;
    std::string cursor;
    pages = 0;
    while (true) {
      auto target = "/api/v1/channels?limit=500" + query;
      if (!cursor.empty()) target += "&cursor=" + cursor;
      const auto page = get_json(target);
      ++pages;
      for (const auto& item : page["items"]) items.push_back(item);
      if (page["next_cursor"].is_null()) break;
      cursor = page["next_cursor"].get<std::string>();
      if (pages > 100) break;
    }
    return items;
  }
};

TEST_F(PagingTest, CursorPagingVisitsEachOf20000ChannelsOnceInOrder) {
  auto collector = start_stack_collector();
  bulk_load();
  ASSERT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM channel_current"), std::to_string(k_channels));
  auto web = start_web();

  int pages = 0;
  const auto by_viewers = all_pages("", pages);
  EXPECT_EQ(pages, k_channels / 500);
  ASSERT_EQ(by_viewers.size(), static_cast<std::size_t>(k_channels));
  std::set<std::int64_t> ids;
  std::int64_t previous_viewers = INT64_MAX;
  std::int64_t previous_id = INT64_MAX;
  for (const auto& c : by_viewers) {
    ids.insert(c["id"].get<std::int64_t>());
    const auto viewers = c["viewers"].is_null() ? -1 : c["viewers"].get<std::int64_t>();
    ASSERT_TRUE(viewers < previous_viewers ||
                (viewers == previous_viewers && c["id"].get<std::int64_t>() < previous_id))
        << c.dump();
    previous_viewers = viewers;
    previous_id = c["id"].get<std::int64_t>();
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(k_channels));

  const auto by_name = all_pages("&sort=name&order=asc", pages);
  ASSERT_EQ(by_name.size(), static_cast<std::size_t>(k_channels));
  EXPECT_EQ(by_name.front()["name"], "ch00001");
  EXPECT_EQ(by_name.back()["name"], "ch20000");
  for (std::size_t i = 1; i < by_name.size(); ++i) {
    ASSERT_LT(by_name[i - 1]["name"].get<std::string>(), by_name[i]["name"].get<std::string>());
  }

  const auto recent = all_pages("&sort=last_sample&order=desc", pages);
  EXPECT_EQ(recent.size(), static_cast<std::size_t>(k_channels));

  const auto live_twitch = all_pages("&live=true&platform=twitch", pages);
  const auto expected = std::stoll(
      pg_scalar(m_dsn, "SELECT count(*) FROM channel_current WHERE live AND platform = 'twitch'"));
  EXPECT_EQ(static_cast<std::int64_t>(live_twitch.size()), expected);
  for (const auto& c : live_twitch) {
    ASSERT_EQ(c["platform"], "twitch");
    ASSERT_EQ(c["live"], true);
  }
  const auto offline = all_pages("&live=false&sort=name", pages);
  EXPECT_EQ(offline.size(), static_cast<std::size_t>(k_channels / 3));

  const auto search = get_json("/api/v1/channels?q=ch1999&sort=name");
  ASSERT_EQ(search["items"].size(), 10u);  // ch19990 .. ch19999
  EXPECT_EQ(search["items"][0]["name"], "ch19990");
}

}  // namespace
}  // namespace streamtrack::web::testing
