// The SQLite outbox: seqs, limits and drop policies, write failures, corruption.

#include "agent/outbox/outbox.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "common/wire/codec.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

namespace fs = std::filesystem;
using agent::DropPolicy;
using agent::outbox::Limits;
using agent::outbox::Options;
using agent::outbox::Outbox;

std::vector<Sample> batch(std::size_t n, const std::string& channel = "main") {
  std::vector<Sample> out;
  for (std::size_t i = 0; i < n; ++i) {
    Sample s;
    s.agent = "rig";
    s.platform = "http_json";
    s.channel = channel;
    s.live = true;
    s.viewers = static_cast<std::int64_t>(i);
    s.ts = TimePoint{std::chrono::milliseconds{1'700'000'000'000 + static_cast<std::int64_t>(i)}};
    out.push_back(s);
  }
  return out;
}

Options limits(std::int64_t rows, DropPolicy policy = DropPolicy::drop_oldest,
               std::int64_t bytes = 1 << 30) {
  Options o;
  o.limits = Limits{rows, bytes, policy};
  return o;
}

std::vector<std::int64_t> stored_seqs(Outbox& box) {
  std::vector<std::int64_t> out;
  for (const auto& r : box.read(0, std::numeric_limits<std::int64_t>::max(), 1'000'000)) {
    out.push_back(r.seq);
  }
  return out;
}

TEST(Outbox, AssignsSeqsThatKeepGrowingAcrossReopenAndAfterEmptying) {
  TempDir dir;
  {
    Outbox box(dir / "outbox.db", Options{});
    auto b = batch(3);
    auto r = box.append(b);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->first_seq, 1);
    EXPECT_EQ(r->last_seq, 3);
    EXPECT_EQ(b[2].seq, 3);
    ASSERT_TRUE(box.remove({{1, 3}}));
    EXPECT_EQ(box.depth(), 0);
  }
  Outbox box(dir / "outbox.db", Options{});
  EXPECT_EQ(box.last_seq(), 3);
  auto b = batch(2);
  ASSERT_TRUE(box.append(b));
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{4, 5}));
}

TEST(Outbox, RowsCarryTheEncodedSampleAndItsTopic) {
  TempDir dir;
  Outbox box(dir / "outbox.db", Options{});
  auto b = batch(1, "live/main");
  ASSERT_TRUE(box.append(b));
  const auto rows = box.read(1, 2, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].topic, "streamtrack/v1/rig/metrics/http_json/live%2Fmain");
  const auto decoded = wire::decode_sample(rows[0].payload);
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(*decoded, b[0]);
  EXPECT_EQ(box.bytes(), static_cast<std::int64_t>(rows[0].payload.size()));
}

TEST(Outbox, RemoveDeletesOnlyTheGivenRangesAndIgnoresUnknownSeqs) {
  TempDir dir;
  Outbox box(dir / "outbox.db", Options{});
  auto b = batch(10);
  ASSERT_TRUE(box.append(b));
  auto removed = box.remove({{2, 4}, {7, 7}, {50, 60}});
  ASSERT_TRUE(removed) << removed.error();
  EXPECT_EQ(*removed, 4);
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{1, 5, 6, 8, 9, 10}));
  EXPECT_EQ(box.depth(), 6);
  EXPECT_EQ(box.first_seq(), 1);
}

TEST(Outbox, DropOldestKeepsTheNewestRowsAndCountsPersistently) {
  TempDir dir;
  {
    Outbox box(dir / "outbox.db", limits(5));
    auto b = batch(3);
    ASSERT_TRUE(box.append(b));
    auto c = batch(5);
    auto r = box.append(c);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->dropped_oldest, 3);
    EXPECT_EQ(r->stored, 5);
    EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{4, 5, 6, 7, 8}));
  }
  Outbox box(dir / "outbox.db", limits(5));
  const auto s = box.stats();
  EXPECT_EQ(s.dropped_oldest, 3);
  EXPECT_EQ(s.dropped_newest, 0);
  EXPECT_EQ(s.depth, 5);
  EXPECT_EQ(s.last_seq, 8);
}

TEST(Outbox, DropNewestRefusesWhatDoesNotFitButStillConsumesItsSeq) {
  TempDir dir;
  Outbox box(dir / "outbox.db", limits(5, DropPolicy::drop_newest));
  auto b = batch(3);
  ASSERT_TRUE(box.append(b));
  auto c = batch(4);
  auto r = box.append(c);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->stored, 2);
  EXPECT_EQ(r->dropped_newest, 2);
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  // The refused samples leave a gap in seq: the collector sees them as dropped.
  auto d = batch(1);
  ASSERT_TRUE(box.remove({{1, 1}}));
  ASSERT_TRUE(box.append(d));
  EXPECT_EQ(d[0].seq, 8);
  EXPECT_EQ(box.stats().dropped(), 2);
}

TEST(Outbox, MaxBytesBoundsThePayloadBytes) {
  TempDir dir;
  Outbox probe(dir / "probe.db", Options{});
  auto one = batch(1);
  ASSERT_TRUE(probe.append(one));
  const auto row_bytes = probe.bytes();

  Outbox box(dir / "outbox.db", limits(1000, DropPolicy::drop_oldest, row_bytes * 3 + 5));
  auto b = batch(10);
  auto r = box.append(b);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(box.depth(), 3);
  EXPECT_LE(box.bytes(), row_bytes * 3 + 5);
  EXPECT_EQ(r->dropped_oldest, 7);
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{8, 9, 10}));
}

TEST(Outbox, AFullDatabaseFailsTheAppendKeepsNothingHalfDoneAndRecovers) {
  TempDir dir;
  Outbox box(dir / "outbox.db", Options{});
  auto first = batch(2);
  ASSERT_TRUE(box.append(first));
  box.set_max_page_count(1);  // SQLITE_FULL from now on, like a full disk
  auto big = batch(500);
  auto r = box.append(big);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("full"), std::string::npos) << r.error();
  EXPECT_EQ(box.depth(), 2);
  EXPECT_EQ(box.last_seq(), 2);
  EXPECT_EQ(big[0].seq, 0);
  box.set_max_page_count(1'000'000);
  auto again = box.append(big);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->first_seq, 3);
  EXPECT_EQ(box.depth(), 502);
}

TEST(Outbox, ACorruptDatabaseIsMovedAsideAndSeqsKeepGrowing) {
  TempDir dir;
  {
    Outbox box(dir / "outbox.db", Options{});
    auto b = batch(7);
    ASSERT_TRUE(box.append(b));
  }
  fs::remove(dir / "outbox.db-wal");
  fs::remove(dir / "outbox.db-shm");
  const std::string garbage(8192, 'x');
  write_file(dir / "outbox.db", garbage);

  Outbox box(dir / "outbox.db", Options{});
  std::vector<fs::path> aside;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().filename().string().starts_with("outbox.db.corrupt-")) aside.push_back(e.path());
  }
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(read_file(aside[0]), garbage);
  EXPECT_EQ(box.depth(), 0);
  auto b = batch(1);
  ASSERT_TRUE(box.append(b));
  EXPECT_GT(b[0].seq, 7);
}

TEST(Outbox, ADeletedDatabaseDoesNotRestartSeqs) {
  TempDir dir;
  {
    Outbox box(dir / "outbox.db", Options{});
    auto b = batch(4);
    ASSERT_TRUE(box.append(b));
  }
  for (const char* f : {"outbox.db", "outbox.db-wal", "outbox.db-shm"}) fs::remove(dir / f);
  Outbox box(dir / "outbox.db", Options{});
  auto b = batch(1);
  ASSERT_TRUE(box.append(b));
  EXPECT_GT(b[0].seq, 4);
}

TEST(Outbox, ExportWritesUnsentSamplesOldestFirstAsJsonLines) {
  TempDir dir;
  Outbox box(dir / "outbox.db", Options{});
  auto b = batch(4);
  ASSERT_TRUE(box.append(b));
  ASSERT_TRUE(box.remove({{2, 2}}));
  std::ostringstream out;
  EXPECT_EQ(box.export_json_lines(out), 3);
  std::istringstream in(out.str());
  std::string line;
  std::vector<std::int64_t> seqs;
  while (std::getline(in, line)) {
    auto s = wire::decode_sample(line);
    ASSERT_TRUE(s) << s.error();
    seqs.push_back(s->seq);
  }
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 3, 4}));
}

TEST(Outbox, StatsReportTheOldestUnsentSample) {
  TempDir dir;
  Outbox box(dir / "outbox.db", Options{});
  EXPECT_FALSE(box.stats().oldest_ts);
  auto b = batch(3);
  ASSERT_TRUE(box.append(b));
  ASSERT_TRUE(box.remove({{1, 1}}));
  EXPECT_EQ(box.stats().oldest_ts, b[1].ts);
}

}  // namespace
}  // namespace streamtrack::testing
