#include <gtest/gtest.h>

#include "collector/partitions/partition_manager.hpp"
#include "collector/store/pg_connection.hpp"

namespace streamtrack::collector {
namespace {

using store::ErrorClass;

TEST(Sqlstate, ClassesDecideRetryOrIsolation) {
  EXPECT_EQ(store::classify_sqlstate("08006"), ErrorClass::transient);
  EXPECT_EQ(store::classify_sqlstate("57P01"), ErrorClass::transient);
  EXPECT_EQ(store::classify_sqlstate("40P01"), ErrorClass::transient);
  EXPECT_EQ(store::classify_sqlstate(""), ErrorClass::transient);
  EXPECT_EQ(store::classify_sqlstate("22P05"), ErrorClass::data);
  EXPECT_EQ(store::classify_sqlstate("23505"), ErrorClass::data);
  EXPECT_EQ(store::classify_sqlstate("42P01"), ErrorClass::other);
}

TEST(CopyText, EscapesSpecialCharacters) {
  std::string out;
  store::append_copy_text(out, "a\\b\tc\nd\re");
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
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

}  // namespace
}  // namespace streamtrack::collector
