#include "web/api/params.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace streamtrack::web::api {
namespace {

using namespace std::chrono_literals;

std::string parameter_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.parameter();
  }
  return "<no error>";
}

TEST(Query, ParsesDecodesAndRangeChecks) {
  const Query q("limit=20&q=hello+w%C3%B6rld&live=true&from=2026-11-25T01:00:00Z",
                {"limit", "q", "live", "from"});
  EXPECT_EQ(q.integer("limit", 100, 1, 500), 20);
  EXPECT_EQ(q.text("q", 200), "hello wörld");
  EXPECT_EQ(q.boolean("live"), true);
  EXPECT_EQ(format_rfc3339(*q.time("from")), "2026-11-25T01:00:00.000Z");
  EXPECT_EQ(q.integer("absent", 7, 1, 10), 7);
}

TEST(Query, RefusesWithTheParameterNamed) {
  EXPECT_EQ(parameter_of([] { Query("bogus=1", {"limit"}); }), "bogus");
  EXPECT_EQ(parameter_of([] { Query("limit=1&limit=2", {"limit"}); }), "limit");
  EXPECT_EQ(parameter_of([] { Query("q=%zz", {"q"}); }), "q");
  EXPECT_EQ(parameter_of([] { Query("q=%00", {"q"}); }), "q");
  EXPECT_EQ(parameter_of([] { Query("q=%C0%AF", {"q"}); }), "q");     // overlong '/'
  EXPECT_EQ(parameter_of([] { Query("q=%ED%A0%80", {"q"}); }), "q");  // surrogate
  EXPECT_EQ(parameter_of([] { Query(std::string(5000, 'a'), {"q"}); }), "");
  EXPECT_EQ(parameter_of([] { Query("limit=-1", {"limit"}).integer("limit", 1, 1, 5); }), "limit");
  EXPECT_EQ(parameter_of([] { Query("limit=12abc", {"limit"}).integer("limit", 1, 1, 50); }),
            "limit");
  EXPECT_EQ(parameter_of(
                [] { Query("limit=999999999999999999999", {"limit"}).integer("limit", 1, 1, 50); }),
            "limit");
  EXPECT_EQ(parameter_of([] { Query("live=1", {"live"}).boolean("live"); }), "live");
  EXPECT_EQ(parameter_of([] { Query("from=10000-01-01T00:00:00Z", {"from"}).time("from"); }),
            "from");
  EXPECT_EQ(parameter_of([] { Query("from=1969-12-31T23:59:59Z", {"from"}).time("from"); }),
            "from");
  EXPECT_EQ(parameter_of([] {
              Query("sort=x", {"sort"}).choice("sort", "a", {"a", "b"});
            }),
            "sort");
  EXPECT_EQ(parameter_of([] { parse_id("12a", "id"); }), "id");
  EXPECT_EQ(parameter_of([] { parse_id("0", "id"); }), "id");
  EXPECT_EQ(parameter_of([] { parse_id("99999999999999999999", "id"); }), "id");
}

TEST(ApiError, BodyIsTheDocumentedJson) {
  const auto e = bad_parameter("limit", "expected an integer from 1 to 500");
  EXPECT_EQ(e.status(), 400);
  EXPECT_EQ(nlohmann::json::parse(e.body()),
            nlohmann::json::parse(R"({"error":{"code":"bad_parameter","parameter":"limit",
                                      "message":"expected an integer from 1 to 500"}})"));
}

TEST(Cursor, RoundTripsAndRefusesForgeries) {
  const auto c = encode_cursor("channels:viewers:desc", "42", 17);
  const auto back = decode_cursor(c, "channels:viewers:desc");
  EXPECT_EQ(back.key, "42");
  EXPECT_EQ(back.id, 17);
  EXPECT_EQ(parameter_of([&] { decode_cursor(c, "channels:name:asc"); }), "cursor");
  EXPECT_EQ(parameter_of([] { decode_cursor("!!!", "sessions"); }), "cursor");
  EXPECT_EQ(parameter_of([] { decode_cursor("e30", "sessions"); }), "cursor");  // {}
  EXPECT_EQ(parameter_of([] { decode_cursor(std::string(2000, 'A'), "sessions"); }), "cursor");
}

TEST(PlanSeries, RawForShortWindowsHourlyForLongOnesNeverTooManyPoints) {
  const auto to = *parse_rfc3339("2026-11-25T00:00:00Z");
  const auto hour = plan_series(to - 1h, to, std::nullopt, 48h, 2000);
  EXPECT_FALSE(hour.hourly);
  EXPECT_EQ(hour.step_seconds, 2);
  const auto day = plan_series(to - 24h, to, 10, 48h, 2000);
  EXPECT_FALSE(day.hourly);
  EXPECT_EQ(day.step_seconds, 44);  // 10 s would give more than 2000 points
  const auto month = plan_series(to - std::chrono::days(30), to, std::nullopt, 48h, 2000);
  EXPECT_TRUE(month.hourly);
  EXPECT_EQ(month.step_seconds, 3600);
  const auto years = plan_series(to - std::chrono::days(1500), to, 60, 48h, 2000);
  EXPECT_TRUE(years.hourly);
  EXPECT_EQ(years.step_seconds % 3600, 0);
  EXPECT_LE(1500LL * 86400 / years.step_seconds, 2000);
  EXPECT_TRUE(plan_series(to - 1h, to, 7200, 48h, 2000).hourly);
  EXPECT_EQ(parameter_of([&] { plan_series(to, to, std::nullopt, 48h, 2000); }), "to");
  EXPECT_EQ(parameter_of([&] { plan_series(to, to - 1h, std::nullopt, 48h, 2000); }), "to");
  EXPECT_EQ(parameter_of([&] { plan_series(to - std::chrono::days(3000), to, {}, 48h, 2000); }),
            "from");
  EXPECT_EQ(parameter_of([&] { plan_series(to - 1h, to, 0, 48h, 2000); }), "step");
}

TEST(Csv, QuotesAndDisarmsFormulas) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(csv_field("@cmd"), "'@cmd");
  EXPECT_EQ(csv_field("line\nbreak"), "\"line\nbreak\"");
}

}  // namespace
}  // namespace streamtrack::web::api
