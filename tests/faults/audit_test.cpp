// The audit itself: it must see every kind of difference, or the fault suite proves nothing.
#include "tests/faults/audit.hpp"

#include <gtest/gtest.h>

namespace streamtrack::faults {
namespace {

AgentRecord record(std::int64_t last_seq) {
  AgentRecord r;
  r.agent = "a";
  r.delivery = "committed";
  r.last_seq = last_seq;
  return r;
}

std::map<std::int64_t, std::int64_t> rows(std::int64_t from, std::int64_t to) {
  std::map<std::int64_t, std::int64_t> out;
  for (auto s = from; s <= to; ++s) out[s] = 1;
  return out;
}

TEST(FaultAudit, EverySeqStoredOnceIsClean) {
  const auto line = audit("s", record(10), rows(1, 10));
  EXPECT_TRUE(line.ok()) << line.text();
  EXPECT_EQ(line.assigned, 10);
  EXPECT_EQ(line.stored, 10);
  EXPECT_EQ(line.text(),
            "faults: scenario=s agent=a delivery=committed assigned=10 stored=10 pending=0 "
            "missing=0 duplicated=0 absent=0 drop_counter=0 phantom=0 quarantined=0 "
            "crash_gaps=0 result=ok");
}

TEST(FaultAudit, AMissingSeqFails) {
  auto r = rows(1, 10);
  r.erase(4);
  const auto line = audit("s", record(10), r);
  EXPECT_FALSE(line.ok());
  EXPECT_EQ(line.missing, 1);
  EXPECT_EQ(line.absent_seqs, "4");
  EXPECT_NE(line.text().find(" absent_seqs=4 "), std::string::npos) << line.text();
}

TEST(FaultAudit, AbsentSeqsAreShownAsRuns) {
  std::map<std::int64_t, std::int64_t> r;
  for (std::int64_t s : {1, 2, 6, 8, 9}) r[s] = 1;
  EXPECT_EQ(audit("s", record(12), r).absent_seqs, "3-5,7,10-12");
  EXPECT_EQ(audit("s", record(40), {}).absent_seqs, "1-40");
  std::map<std::int64_t, std::int64_t> odd;
  for (std::int64_t s = 2; s <= 40; s += 2) odd[s] = 1;
  EXPECT_EQ(audit("s", record(40), odd).absent_seqs, "1,3,5,7,9,11,13,15,...");
}

TEST(FaultAudit, ADuplicateRowFails) {
  auto r = rows(1, 10);
  r[7] = 2;
  const auto line = audit("s", record(10), r);
  EXPECT_FALSE(line.ok());
  EXPECT_EQ(line.duplicated, 1);
}

TEST(FaultAudit, PendingSeqsStillInTheOutboxAreNotMissing) {
  auto rec = record(10);
  rec.pending = {9, 10};
  const auto line = audit("s", rec, rows(1, 8));
  EXPECT_TRUE(line.ok()) << line.text();
  EXPECT_EQ(line.pending, 2);
}

TEST(FaultAudit, CrashGapsAreNeverGivenOutAndRowsThereArePhantoms) {
  auto rec = record(20);
  rec.crash_gaps = {{5, 15}};
  auto r = rows(1, 5);
  for (std::int64_t s = 16; s <= 20; ++s) r[s] = 1;
  auto line = audit("s", rec, r);
  EXPECT_TRUE(line.ok()) << line.text();
  EXPECT_EQ(line.assigned, 10);
  r[10] = 1;
  line = audit("s", rec, r);
  EXPECT_FALSE(line.ok());
  EXPECT_EQ(line.phantom, 1);
  r.erase(10);
  r[21] = 1;  // beyond the last seq the agent gave out
  EXPECT_EQ(audit("s", rec, r).phantom, 1);
}

TEST(FaultAudit, DropsMustEqualTheAgentsCounterExactly) {
  auto rec = record(10);
  rec.dropped = 2;
  auto r = rows(1, 10);
  r.erase(3);
  r.erase(4);
  EXPECT_TRUE(audit("s", rec, r).ok());
  r.erase(5);  // one more absent than counted
  EXPECT_EQ(audit("s", rec, r).missing, 1);
  EXPECT_FALSE(audit("s", rec, r).ok());
  rec.dropped = 4;  // counted more than are absent
  EXPECT_EQ(audit("s", rec, r).missing, -1);
  EXPECT_FALSE(audit("s", rec, r).ok());
}

TEST(FaultAudit, BrokerModeLossIsReportedButAllowedOnlyWhenTheScenarioSaysSo) {
  auto rec = record(10);
  rec.delivery = "broker";
  auto r = rows(1, 10);
  r.erase(2);
  EXPECT_FALSE(audit("s", rec, r).ok());
  const auto line = audit("s", rec, r, "collector-memory");
  EXPECT_TRUE(line.ok());
  EXPECT_NE(line.text().find("missing=1"), std::string::npos);
  EXPECT_NE(line.text().find("allowed_loss=collector-memory"), std::string::npos);
  r[3] = 2;  // duplicates are never allowed
  EXPECT_FALSE(audit("s", rec, r, "collector-memory").ok());
}

TEST(FaultAudit, AnAgentThatGaveOutNothingIsNotAPass) {
  EXPECT_FALSE(audit("s", record(0), {}).ok());
}

}  // namespace
}  // namespace streamtrack::faults
