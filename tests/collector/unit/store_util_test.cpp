#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "collector/partitions/partition_manager.hpp"
#include "collector/store/metrics_schema.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_connection.hpp"

namespace streamtrack::collector {
namespace {

using store::ErrorClass;

TEST(Sqlstate, OnlyDataAndConstraintClassesRefuseRowsEverythingElseIsRetried) {
  for (const char* data : {"22P02", "22P05", "22007", "22003", "23505", "23502", "23514"}) {
    EXPECT_EQ(store::classify_sqlstate(data), ErrorClass::data) << data;
  }
  for (const char* retried : {
           "",       // connection lost before an answer
           "08006",  // connection failure
           "57P01",  // admin shutdown
           "57014",  // statement_timeout
           "55P03",  // lock_timeout
           "40001",  // serialization failure
           "40P01",  // deadlock
           "25006",  // read-only transaction (a standby after failover)
           "42501",  // missing privilege
           "42P01",  // undefined table
           "53100",  // disk full
           "54000",  // program limit
           "XX000",  // internal error
       }) {
    EXPECT_EQ(store::classify_sqlstate(retried), ErrorClass::transient) << retried;
  }
}

TEST(CopyText, EscapesSpecialCharacters) {
  std::string out;
  store::append_copy_text(out, "a\\b\tc\nd\re");
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
}

TEST(ArrayLiteral, QuotesEveryElementEscapesQuotesAndBackslashesAndWritesNull) {
  EXPECT_EQ(store::array_literal({}), "{}");
  EXPECT_EQ(store::array_literal({std::string()}), "{\"\"}");
  EXPECT_EQ(store::array_literal({std::nullopt, std::string("NULL"), std::nullopt}),
            "{NULL,\"NULL\",NULL}");
  EXPECT_EQ(store::array_literal({std::string("a,b"), std::string("{x}"), std::string("say \"hi\""),
                                  std::string("back\\slash"), std::string(" spaced \n")}),
            "{\"a,b\",\"{x}\",\"say \\\"hi\\\"\",\"back\\\\slash\",\" spaced \n\"}");
}

TEST(ArrayLiteral, NumbersGoUnquotedDoublesAsTheShortestTextOfTheSameValue) {
  store::ArrayLiteralBuilder b;
  b.add_number(std::int64_t{-9'223'372'036'854'775'807} - 1);
  b.add_number(std::int64_t{42});
  b.add_null();
  b.add_number(0.1);
  b.add_number(2500.5);
  b.add_number(1e300);
  b.add_number(-0.0);
  b.add_number(5e-324);
  EXPECT_EQ(std::move(b).finish(), "{-9223372036854775808,42,NULL,0.1,2500.5,1e+300,-0,5e-324}");
  // Every double reads back as itself (PostgreSQL's float8 input is strtod's).
  for (const double v : {0.1, 1.0 / 3, 12345.678901234567, 1e-7, 9007199254740993.0}) {
    store::ArrayLiteralBuilder one;
    one.add_number(v);
    const auto text = std::move(one).finish();
    EXPECT_EQ(std::strtod(text.substr(1, text.size() - 2).c_str(), nullptr), v) << text;
  }
}

TEST(ArrayLiteral, TimestampsAreWrittenAsFormatRfc3339WritesThem) {
  using namespace std::chrono;
  std::vector<TimePoint> times;
  for (const char* text :
       {"2000-01-01T00:00:00Z", "2026-12-01T03:04:05.678Z", "1969-12-31T23:59:59.999Z",
        "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "2024-02-29T12:00:00.007Z"}) {
    const auto t = parse_rfc3339(text);
    ASSERT_TRUE(t) << text;
    times.push_back(*t);
  }
  // Outside four-digit years, whatever format_rfc3339 writes.
  times.push_back(TimePoint{} - years{3000});
  times.push_back(TimePoint{} + years{9000});
  for (const auto t : times) {
    store::ArrayLiteralBuilder b;
    b.add_timestamp(t);
    b.add_timestamp(t);
    const auto quoted = "\"" + format_rfc3339(t) + "\"";
    EXPECT_EQ(std::move(b).finish(), "{" + quoted + "," + quoted + "}");
  }
}

// PostgreSQL's binary array format (array_recv): big-endian 32-bit dimensions (1), has-null flag,
// element type OID, then the length and lower bound (1) of the dimension, then each element as a
// 32-bit length (-1 for NULL) and its bytes.
TEST(BinaryArray, HeaderThenEachElementWithItsLengthBigEndian) {
  using Element = store::BinaryArrayBuilder::Element;
  store::BinaryArrayBuilder ints(Element::int8);
  ints.add_int8(1);
  ints.add_null();
  ints.add_int8(-2);
  EXPECT_EQ(ints.size(), 3u);
  EXPECT_EQ(std::move(ints).finish(), std::string("\0\0\0\x01"
                                                  "\0\0\0\x01"
                                                  "\0\0\0\x14"
                                                  "\0\0\0\x03"
                                                  "\0\0\0\x01"
                                                  "\0\0\0\x08\0\0\0\0\0\0\0\x01"
                                                  "\xff\xff\xff\xff"
                                                  "\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xfe",
                                                  48));
  store::BinaryArrayBuilder small(Element::int4);
  small.add_int4(-1);
  EXPECT_EQ(std::move(small).finish(),
            std::string("\0\0\0\x01\0\0\0\0\0\0\0\x17\0\0\0\x01\0\0\0\x01"
                        "\0\0\0\x04\xff\xff\xff\xff",
                        28));
  store::BinaryArrayBuilder doubles(Element::float8);
  doubles.add_float8(1.5);  // 0x3ff8000000000000
  EXPECT_EQ(std::move(doubles).finish().substr(20),
            std::string("\0\0\0\x08\x3f\xf8\0\0\0\0\0\0", 12));
  // An empty array has no dimensions.
  EXPECT_EQ(store::BinaryArrayBuilder(Element::timestamptz).finish(),
            std::string("\0\0\0\0\0\0\0\0\0\0\x04\xa0", 12));
}

TEST(BinaryArray, TimesAreMicrosecondsSince2000) {
  store::BinaryArrayBuilder times(store::BinaryArrayBuilder::Element::timestamptz);
  times.add_timestamp(*parse_rfc3339("2000-01-01T00:00:00.001Z"));
  times.add_timestamp(*parse_rfc3339("1999-12-31T23:59:59.999Z"));
  EXPECT_EQ(std::move(times).finish().substr(20),
            std::string("\0\0\0\x08\0\0\0\0\0\0\x03\xe8"
                        "\0\0\0\x08\xff\xff\xff\xff\xff\xff\xfc\x18",
                        24));
}

TEST(BinaryArray, BooleansAreOneByte) {
  store::BinaryArrayBuilder flags(store::BinaryArrayBuilder::Element::boolean);
  flags.add_bool(true);
  flags.add_bool(false);
  EXPECT_EQ(std::move(flags).finish(),
            std::string("\0\0\0\x01\0\0\0\0\0\0\0\x10\0\0\0\x02\0\0\0\x01"
                        "\0\0\0\x01\x01\0\0\0\x01\0",
                        30));
}

TEST(BinaryArray, OnlyYearsOneTo9999ReadTheSameAsText) {
  EXPECT_TRUE(store::binary_time_reads_as_text(*parse_rfc3339("0001-01-01T00:00:00Z")));
  EXPECT_TRUE(store::binary_time_reads_as_text(*parse_rfc3339("9999-12-31T23:59:59.999Z")));
  EXPECT_FALSE(store::binary_time_reads_as_text(*parse_rfc3339("0000-12-31T23:59:59.999Z")));
  EXPECT_FALSE(store::binary_time_reads_as_text(*parse_rfc3339("0001-01-01T00:30:00+01:00")));
  EXPECT_FALSE(store::binary_time_reads_as_text(TimePoint{} + std::chrono::years{8100}));
}

TEST(Bytea, HexKeepsEveryByte) {
  EXPECT_EQ(store::bytea_hex(std::string("\x00\xff{", 3)), "\\x00ff7b");
}

TEST(Partitions, MonthArithmeticAndNames) {
  using partitions::Month;
  const auto t = *parse_rfc3339("2026-12-31T23:59:59.999Z");
  EXPECT_EQ(partitions::month_of(t), (Month{2026, 12}));
  EXPECT_EQ(partitions::add_months({2026, 12}, 1), (Month{2027, 1}));
  EXPECT_EQ(partitions::add_months({2026, 1}, -1), (Month{2025, 12}));
  EXPECT_EQ(partitions::add_months({2026, 3}, -15), (Month{2024, 12}));
  EXPECT_EQ(partitions::partition_name({2026, 3}), "livestream_metrics_y2026m03");
  EXPECT_EQ(partitions::parse_partition_name("livestream_metrics_y2026m03"), (Month{2026, 3}));
  EXPECT_FALSE(partitions::parse_partition_name("livestream_metrics_default"));
  EXPECT_FALSE(partitions::parse_partition_name("livestream_metrics_y2026m13"));
  EXPECT_EQ(partitions::month_start_text({2026, 3}), "2026-03-01 00:00:00+00");
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// Migration 12 replaces both metrics functions, their INSERTs reading the arrays in the select
// list, and changes nothing else of their text.
TEST(Migrations, TwelveIsBothMetricsFunctionsWithTheirRowsReadInTheSelectList) {
  const auto& all = store::migrations();
  ASSERT_GE(all.size(), 12u);
  const auto& twelve = all[11];
  EXPECT_EQ(twelve.version, 12);
  EXPECT_EQ(twelve.sql, store::store_metrics_rows_in_select_list_sql());
  EXPECT_EQ(occurrences(twelve.sql, "CREATE OR REPLACE FUNCTION streamtrack_store_metrics("), 2u);
  EXPECT_EQ(occurrences(twelve.sql, "CREATE FUNCTION"), 0u);
  EXPECT_EQ(occurrences(twelve.sql, "FROM unnest(p_livestream"), 0u);
  const std::string rows =
      "SELECT unnest(p_livestream), unnest(p_timestamp), unnest(p_viewers), "
      "unnest(p_chat_messages), unnest(p_chatters), unnest(p_bitrate), unnest(p_fps), "
      "unnest(p_dropped_frames), unnest(p_agent), unnest(p_seq)";
  EXPECT_EQ(occurrences(twelve.sql, rows), 3u);
  // Everything else as migrations 10 and 11 wrote it: the same text once the two changes are
  // undone.
  auto undone = twelve.sql;
  for (auto at = undone.find(rows); at != std::string::npos; at = undone.find(rows, at)) {
    undone.replace(at, rows.size(), "ROWS");
  }
  auto before =
      std::string(store::k_store_metrics_schema_sql) + store::k_store_metrics_with_current_sql;
  const std::regex from_unnest(R"(SELECT \* FROM unnest\(p_livestream[^)]*\))");
  before = std::regex_replace(before, from_unnest, "ROWS");
  before = std::regex_replace(before, std::regex("CREATE FUNCTION"), "CREATE OR REPLACE FUNCTION");
  // Migration 10's function named by its signature, now that it has an overload.
  EXPECT_EQ(occurrences(twelve.sql, store::k_store_metrics_revoke_sql), 1u);
  before = std::regex_replace(
      before, std::regex(R"(REVOKE ALL ON FUNCTION streamtrack_store_metrics FROM PUBLIC;)"),
      store::k_store_metrics_revoke_sql);
  EXPECT_EQ(undone, before);
}

}  // namespace
}  // namespace streamtrack::collector
