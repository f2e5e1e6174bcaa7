// The fault suite (issue 12): each scenario injects its faults into a real cluster while
// samples flow, and the audit demands missing = 0 and duplicated = 0 for every agent.
#include <gtest/gtest.h>

#include "tests/faults/cluster.hpp"

namespace streamtrack::faults {
namespace {

class FaultSuite : public ::testing::TestWithParam<std::string> {};

TEST_P(FaultSuite, EverySampleLandsOnceWhateverFails) {
  const auto lines = run_scenario(GetParam(), Load{});
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) EXPECT_TRUE(line.ok()) << line.text();
}

INSTANTIATE_TEST_SUITE_P(Scenarios, FaultSuite, ::testing::ValuesIn(scenario_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace streamtrack::faults
