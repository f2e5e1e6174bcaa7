#include <gtest/gtest.h>

#include <iostream>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

TEST(PostgresServerTest, CreateDatabaseQueryAndRestartKeepsData) {
  auto start = Clock::now();
  PostgresServer pg;
  std::cout << "[timing] postgres initdb+start: " << ms_since(start) << " ms\n";
  ASSERT_TRUE(pg.running());
  EXPECT_EQ(pg.dsn("x"),
            "host=127.0.0.1 port=" + std::to_string(pg.port()) + " user=postgres dbname=x");
  EXPECT_EQ(pg_scalar(pg.dsn(), "SELECT current_user"), "postgres");
  EXPECT_EQ(pg_scalar(pg.dsn(), "SHOW server_encoding"), "UTF8");
  EXPECT_EQ(pg_scalar(pg.dsn(), "SHOW fsync"), "off");

  auto dsn = pg.create_database("harness_db");
  EXPECT_EQ(dsn, pg.dsn("harness_db"));
  pg_query(dsn,
           "CREATE TABLE t (id int PRIMARY KEY, name text); "
           "INSERT INTO t VALUES (1, 'one'), (2, NULL), (3, 'drei ü')");
  auto rows = pg_query(dsn, "SELECT id, name FROM t ORDER BY id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"1", "one"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"2", "NULL"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"3", "drei ü"}));

  auto port = pg.port();
  start = Clock::now();
  pg.stop();
  std::cout << "[timing] postgres fast shutdown: " << ms_since(start) << " ms\n";
  EXPECT_FALSE(pg.running());
  EXPECT_THROW(pg_query(dsn, "SELECT 1"), std::runtime_error);

  start = Clock::now();
  pg.start();
  std::cout << "[timing] postgres restart: " << ms_since(start) << " ms\n";
  EXPECT_TRUE(pg.running());
  EXPECT_EQ(pg.port(), port);
  EXPECT_EQ(pg_scalar(dsn, "SELECT count(*) FROM t"), "3");
}

TEST(PostgresServerTest, ErrorsCarryTheServerMessage) {
  PostgresServer pg;
  try {
    pg_query(pg.dsn(), "SELECT * FROM no_such_table");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pg_scalar(pg.dsn(), "SELECT 1 WHERE false"), std::runtime_error);
  EXPECT_THROW(pg_query(pg.dsn("missing_db"), "SELECT 1"), std::runtime_error);
}

TEST(PostgresServerTest, TwoClustersRunSideBySide) {
  PostgresServer a;
  PostgresServer b;
  EXPECT_NE(a.port(), b.port());
  pg_query(a.dsn(), "CREATE TABLE only_in_a (x int)");
  EXPECT_EQ(pg_scalar(a.dsn(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"),
            "1");
  EXPECT_EQ(pg_scalar(b.dsn(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"),
            "0");
}

}  // namespace
}  // namespace streamtrack::testing
