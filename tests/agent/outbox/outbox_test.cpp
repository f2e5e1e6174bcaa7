// The SQLite outbox: seqs, limits and drop policies, write failures, corruption.

#include "agent/outbox/outbox.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <sstream>

#include "agent/outbox/memory_fallback.hpp"
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
  const auto rows = box.read(0, std::numeric_limits<std::int64_t>::max(), 1'000'000);
  EXPECT_TRUE(rows) << rows.error();
  if (!rows) return out;
  for (const auto& r : *rows) out.push_back(r.seq);
  return out;
}

std::vector<fs::path> moved_aside(const TempDir& dir) {
  std::vector<fs::path> aside;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().filename().string().starts_with("outbox.db.corrupt-")) aside.push_back(e.path());
  }
  return aside;
}

// Another process's connection that holds the database's lock (locking_mode=EXCLUSIVE keeps
// it after the first write), as a backup tool or a stuck inspector could.
struct LockHolder {
  explicit LockHolder(const fs::path& db) : conn(db.string(), SQLite::OPEN_READWRITE) {
    conn.exec("PRAGMA locking_mode=EXCLUSIVE");
    conn.exec("BEGIN EXCLUSIVE");
    conn.exec(
        "INSERT INTO meta(key, value) VALUES('lock-holder', 1) "
        "ON CONFLICT(key) DO UPDATE SET value = value + 1");
    conn.exec("COMMIT");
  }
  SQLite::Database conn;
};

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
  const auto read = box.read(1, 2, 10);
  ASSERT_TRUE(read) << read.error();
  const auto& rows = *read;
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
  const auto aside = moved_aside(dir);
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

TEST(Outbox, ARolledBackDatabaseContinuesAboveItsDurableReservation) {
  TempDir dir;
  {
    Outbox box(dir / "outbox.db", Options{});
    auto b = batch(5);
    ASSERT_TRUE(box.append(b));
    // The reservation is on disk before any of its seqs is used.
    EXPECT_GE(std::stoll(read_file(dir / "outbox.db.seq")), 5);
  }
  // A clean close lowers it to the last seq: a restart continues without a gap.
  EXPECT_EQ(std::stoll(read_file(dir / "outbox.db.seq")), 5);
  {
    Outbox box(dir / "outbox.db", Options{});
    auto b = batch(1);
    ASSERT_TRUE(box.append(b));
    EXPECT_EQ(b[0].seq, 6);
  }
  // Power loss: commits up to seq 900 were published, then rolled back with the WAL. The
  // database remembers 6; the reservation on disk says 1006 may have been given out.
  write_file(dir / "outbox.db.seq", "1006\n");
  {
    // Inspection shows what the database recorded, and the reservation beside it.
    Options inspect;
    inspect.read_only = true;
    Outbox reader(dir / "outbox.db", inspect);
    EXPECT_EQ(reader.stats().last_seq, 6);
    EXPECT_EQ(reader.stats().seq_reserved, 1006);
  }
  EXPECT_EQ(std::stoll(read_file(dir / "outbox.db.seq")), 1006);  // untouched by a reader
  Outbox box(dir / "outbox.db", Options{});
  EXPECT_EQ(box.last_seq(), 1006);
  auto b = batch(2);
  ASSERT_TRUE(box.append(b));
  EXPECT_EQ(b[0].seq, 1007);
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 1007, 1008}));
}

TEST(Outbox, ALockedDatabaseAtOpenIsNotCorruptionAndIsNeverMovedAside) {
  TempDir dir;
  {
    Outbox box(dir / "outbox.db", Options{});
    auto b = batch(3);
    ASSERT_TRUE(box.append(b));
  }
  Options o;
  o.busy_timeout = std::chrono::milliseconds{200};
  {
    LockHolder holder(dir / "outbox.db");
    try {
      Outbox box(dir / "outbox.db", o);
      FAIL() << "opened a database another process holds locked";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("locked"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("left in place"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(moved_aside(dir).empty());
  }
  // The lock is gone: the same backlog is there.
  Outbox box(dir / "outbox.db", o);
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_TRUE(moved_aside(dir).empty());
}

TEST(Outbox, AFailedReadIsAnErrorNotAnEmptyResult) {
  TempDir dir;
  Options no_memory;
  no_memory.recent_rows = 0;  // every read goes to the database
  Outbox box(dir / "outbox.db", no_memory);
  auto b = batch(3);
  ASSERT_TRUE(box.append(b));
  SQLite::Database other((dir / "outbox.db").string(), SQLite::OPEN_READWRITE);
  other.exec("ALTER TABLE samples RENAME TO samples_elsewhere");
  const auto failed = box.read(1, 10, 10);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("no such table"), std::string::npos) << failed.error();
  other.exec("ALTER TABLE samples_elsewhere RENAME TO samples");
  const auto rows = box.read(1, 10, 10);
  ASSERT_TRUE(rows) << rows.error();
  EXPECT_EQ(rows->size(), 3u);
}

// The newest rows are served from memory: what read() returns must be what the database holds,
// across the boundary of what memory keeps, after deletes, quarantines and limit drops.
TEST(Outbox, ReadsFromMemoryAgreeWithTheDatabase) {
  TempDir dir;
  Options o = limits(40);
  o.recent_rows = 5;
  Outbox box(dir / "outbox.db", o);
  Options inspect;
  inspect.read_only = true;
  const auto same_as_database = [&](std::int64_t from, std::int64_t before, std::size_t limit) {
    Outbox database(dir / "outbox.db", inspect);
    const auto expected = database.read(from, before, limit);
    const auto got = box.read(from, before, limit);
    ASSERT_TRUE(expected) << expected.error();
    ASSERT_TRUE(got) << got.error();
    ASSERT_EQ(got->size(), expected->size()) << from << ".." << before;
    for (std::size_t i = 0; i < got->size(); ++i) {
      EXPECT_EQ((*got)[i].seq, (*expected)[i].seq);
      EXPECT_EQ((*got)[i].topic, (*expected)[i].topic);
      EXPECT_EQ((*got)[i].payload, (*expected)[i].payload);
    }
  };
  for (int round = 0; round < 12; ++round) {
    auto b = batch(4, "ch" + std::to_string(round));
    ASSERT_TRUE(box.append(b));
    if (round % 3 == 1) {
      ASSERT_TRUE(box.remove({{box.last_seq() - 2, box.last_seq() - 1}}));
    }
    if (round % 4 == 2) {
      ASSERT_TRUE(box.quarantine(box.last_seq(), "refused"));
    }
    for (std::int64_t from = 1; from <= box.last_seq() + 1; ++from) {
      same_as_database(from, box.last_seq() + 1, 1000);
      same_as_database(from, from + 3, 2);
    }
  }
  EXPECT_EQ(box.depth(), static_cast<std::int64_t>(stored_seqs(box).size()));
}

// A failed append (full disk) must not leave memory believing it holds rows it does not, nor
// forget rows the database kept.
TEST(Outbox, ReadsAfterAFailedAppendSeeEveryStoredRow) {
  TempDir dir;
  Options o = limits(1'000'000);
  o.recent_rows = 8;
  Outbox box(dir / "outbox.db", o);
  auto first = batch(6);
  ASSERT_TRUE(box.append(first));
  box.set_max_page_count(1);
  auto big = batch(2000);
  for (auto& s : big) s.title = std::string(1000, 't');
  ASSERT_FALSE(box.append(big));
  box.set_max_page_count(1'000'000);
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
  auto next = batch(3);
  ASSERT_TRUE(box.append(next));
  EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(Outbox, QuarantineMovesARowToTheDeadLetterTableAndCountsIt) {
  TempDir dir;
  {
    Outbox box(dir / "outbox.db", Options{});
    auto b = batch(3);
    ASSERT_TRUE(box.append(b));
    const auto before = box.bytes();
    ASSERT_TRUE(box.quarantine(2, "topic is not UTF-8"));
    ASSERT_TRUE(box.quarantine(42, "no such row"));  // nothing to move: fine
    EXPECT_EQ(stored_seqs(box), (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(box.depth(), 2);
    EXPECT_LT(box.bytes(), before);
    EXPECT_EQ(box.stats().quarantined, 1);
  }
  Outbox box(dir / "outbox.db", Options{});
  EXPECT_EQ(box.stats().quarantined, 1);
  SQLite::Database db((dir / "outbox.db").string(), SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT seq, reason FROM dead_letters");
  ASSERT_TRUE(q.executeStep());
  EXPECT_EQ(q.getColumn(0).getInt64(), 2);
  EXPECT_EQ(q.getColumn(1).getString(), "topic is not UTF-8");
}

TEST(Outbox, SamplesDroppedFromMemoryLeaveAGapAndAreCounted) {
  TempDir dir;
  Outbox box(dir / "outbox.db", Options{});
  auto b = batch(2);
  ASSERT_TRUE(box.append(b));
  auto c = batch(1);
  auto r = box.append(c, 4);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(c[0].seq, 7);
  EXPECT_EQ(box.stats().dropped_unsaved, 4);
  EXPECT_EQ(box.stats().dropped(), 4);
}

TEST(MemoryFallback, IsBoundedByBytesAsWellAsRowsAndCountsItsDrops) {
  using agent::outbox::MemoryFallback;
  const auto one_row_bytes = static_cast<std::int64_t>(wire::encode_sample(batch(1)[0]).size());
  MemoryFallback memory;
  const MemoryFallback::Limits limits{1'000'000, one_row_bytes * 10, DropPolicy::drop_oldest};
  std::int64_t dropped = 0;
  for (int i = 0; i < 8; ++i) dropped += memory.keep(batch(3), limits);
  EXPECT_LE(memory.bytes(), one_row_bytes * 10 + 8);  // timestamps differ in length
  EXPECT_EQ(memory.count(), 9);
  EXPECT_EQ(dropped, 24 - 9);
  EXPECT_EQ(memory.dropped(), dropped);
  EXPECT_EQ(memory.take_dropped(), dropped);
  EXPECT_EQ(memory.dropped(), 0);
  // drop_newest refuses the batch that does not fit.
  MemoryFallback newest;
  const MemoryFallback::Limits tight{1'000'000, one_row_bytes * 4, DropPolicy::drop_newest};
  EXPECT_EQ(newest.keep(batch(3, "first"), tight), 0);
  EXPECT_EQ(newest.keep(batch(3, "second"), tight), 3);
  ASSERT_FALSE(newest.empty());
  EXPECT_EQ(newest.front().front().channel, "first");
}

}  // namespace
}  // namespace streamtrack::testing
