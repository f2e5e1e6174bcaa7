// The mediamtx Poll state machine with canned outcomes, no socket: paging and its errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/sources/registry.hpp"
#include "tests/agent/sources/canned.hpp"
#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

const std::string k_url = "http://127.0.0.1:1/v3/paths/list";

std::string page_body(int page_count, const std::string& name) {
  return R"({"pageCount":)" + std::to_string(page_count) + R"(,"itemCount":3,"items":[{"name":")" +
         name + R"(","available":true,"readers":[{"type":"rtspSession"}]}]})";
}

std::unique_ptr<agent::sources::Source> mediamtx(const std::string& extra = {}) {
  const auto config = agent_config(source_table("mediamtx", "mtx", k_url, extra));
  return agent::find_source_type("mediamtx")->create(config.sources.at(0), config.path);
}

TEST(MediamtxPoll, FollowsPageCountAndFiltersTheStreams) {
  ManualClock clock(*parse_rfc3339("2030-01-01T00:00:00Z"));
  auto source = mediamtx("streams = [\"a\", \"c\", \"gone\"]\n");
  const auto poll =
      run_canned(*source, clock,
                 {canned_json(200, page_body(3, "a")), canned_json(200, page_body(3, "b")),
                  canned_json(200, page_body(3, "c"))});
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 3U);
  EXPECT_EQ(poll.requests[0].url, k_url);
  EXPECT_EQ(poll.requests[1].url, k_url + "?page=1");
  EXPECT_EQ(poll.requests[2].url, k_url + "?page=2");
  ASSERT_EQ(poll.result->size(), 3U);
  EXPECT_EQ(find_channel(*poll.result, "a")->viewers, 1);
  EXPECT_EQ(find_channel(*poll.result, "b"), nullptr);
  EXPECT_TRUE(find_channel(*poll.result, "c")->live);
  EXPECT_FALSE(find_channel(*poll.result, "gone")->live);
}

TEST(MediamtxPoll, AFailedLaterPageFailsThePollAndNamesThePage) {
  ManualClock clock(*parse_rfc3339("2030-01-01T00:00:00Z"));
  auto source = mediamtx();
  const auto refused =
      run_canned(*source, clock,
                 {canned_json(200, page_body(2, "a")),
                  canned_json(401, R"({"status":"error","error":"authentication error"})")});
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error(), "page 1: HTTP 401: authentication error");

  const auto cut = run_canned(
      *source, clock, {canned_json(200, page_body(2, "a")), canned_failure("timed out after 10s")});
  ASSERT_FALSE(cut.result);
  EXPECT_EQ(cut.result.error(), "page 1: timed out after 10s");
}

}  // namespace
}  // namespace streamtrack::testing
