// The unlucky operator's cases: a database that stops, a query that hangs on a lock, a pool
// that is exhausted. The daemon answers each with a JSON 503 and carries on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <regex>

#include "tests/web/integration/web_fixture.hpp"

namespace streamtrack::web::testing {
namespace {

using namespace std::chrono_literals;

class ResilienceTest : public WebTest {};

// Holds an ACCESS EXCLUSIVE lock on a table until destroyed (a superuser's open transaction).
class TableLock {
 public:
  TableLock(const std::string& dsn, const std::string& table) {
    m_conn = PQconnectdb(dsn.c_str());
    PQclear(PQexec(m_conn, "BEGIN"));
    PQclear(PQexec(m_conn, ("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE").c_str()));
  }
  ~TableLock() {
    PQclear(PQexec(m_conn, "ROLLBACK"));
    PQfinish(m_conn);
  }

 private:
  PGconn* m_conn = nullptr;
};

std::string error_code(const HttpReply& r) {
  const auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"]["code"].get<std::string>() : "";
}

TEST_F(ResilienceTest, AQueryStuckOnALockIsCancelledByTheStatementTimeout) {
  auto collector = start_stack_collector();
  auto web = start_web({"", "statement_timeout = \"300ms\"\n"});
  {
    TableLock lock(m_dsn, "channel_current");
    const auto reply = get("/api/v1/channels");
    EXPECT_EQ(reply.status, 503) << reply.body;
    EXPECT_EQ(error_code(reply), "timeout");
    EXPECT_EQ(reply.header("retry-after"), "2");
  }
  EXPECT_EQ(get("/api/v1/channels").status, 200);
  EXPECT_NE(web->output().find("sqlstate=57014"), std::string::npos);
}

TEST_F(ResilienceTest, AnExhaustedPoolAnswersBusyInsteadOfQueueingForever) {
  auto collector = start_stack_collector();
  auto web =
      start_web({"", "pool_max = 1\nacquire_timeout = \"200ms\"\nstatement_timeout = \"60s\"\n"});
  std::future<HttpReply> stuck;
  {
    TableLock lock(m_dsn, "agents");
    stuck = std::async(std::launch::async, [&] { return get("/api/v1/agents"); });
    // Once the one connection waits on the lock, the next request cannot get one.
    ASSERT_TRUE(wait_until([&] {
      const auto r = get("/api/v1/channels");
      return r.status == 503 && error_code(r) == "busy";
    }));
  }
  EXPECT_EQ(stuck.get().status, 200);
  EXPECT_EQ(get("/api/v1/channels").status, 200);
}

TEST_F(ResilienceTest, ThePoolGrowsUnderLoadAndClosesIdleConnections) {
  auto collector = start_stack_collector();
  auto web = start_web({"", "pool_idle = \"1s\"\n"});
  const std::string count_sql =
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'streamtrack-web'";
  std::vector<std::future<HttpReply>> replies;
  {
    TableLock lock(m_dsn, "agents");
    for (int i = 0; i < 6; ++i) {
      replies.push_back(std::async(std::launch::async, [&] { return get("/api/v1/agents"); }));
    }
    // Six requests wait on the lock, each on a connection of its own.
    ASSERT_TRUE(wait_until([&] { return std::stoi(pg_scalar(m_dsn, count_sql)) >= 6; }));
  }
  for (auto& r : replies) EXPECT_EQ(r.get().status, 200);
  // Idle for more than pool_idle: closed (the daemon's own health check keeps at most one).
  EXPECT_TRUE(wait_until([&] { return std::stoi(pg_scalar(m_dsn, count_sql)) <= 1; }))
      << pg_scalar(m_dsn, count_sql);
}

TEST_F(ResilienceTest, RunningOutOfFileDescriptorsNeitherSpinsNorStopsTheDaemon) {
  auto collector = start_stack_collector();
  // A daemon limited to 64 descriptors, then more live clients than it can hold.
  Process::Options p;
  p.argv = {"prlimit", "--nofile=64:64", (bin_dir() / "streamtrack-web").string(), "-c",
            write_web_config({}, "web-fds.toml").string()};
  p.log_file = m_dir / "web-fds.log";
  Process web(p);
  ASSERT_TRUE(web.wait_for_output("web: ready")) << web.output();
  std::smatch m;
  const auto out = web.output();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("port=(\\d+)")));
  m_web_port = static_cast<std::uint16_t>(std::stoi(m[1]));
  {
    std::vector<std::unique_ptr<SseClient>> clients;
    for (int i = 0; i < 80; ++i) {
      clients.push_back(std::make_unique<SseClient>(m_web_port, "/api/v1/live"));
    }
    ASSERT_TRUE(web.wait_for_output("http: accept failed")) << web.output().substr(0, 4000);
  }  // the clients go away
  ASSERT_TRUE(wait_until([&] { return get("/healthz").status == 200; }));
  EXPECT_TRUE(web.running());
  // Failed accepts are retried after a pause, not in a busy loop (which logs without end).
  std::size_t failures = 0;
  const auto log = web.output();
  for (auto pos = log.find("http: accept failed"); pos != std::string::npos;
       pos = log.find("http: accept failed", pos + 1)) {
    ++failures;
  }
  EXPECT_LT(failures, 200u);
}

TEST_F(ResilienceTest, ALiveClientThatStopsReadingIsDroppedAndOthersKeepTheirFeed) {
  auto collector = start_stack_collector();
  pg_query(m_dsn,
           "INSERT INTO channels (platform, name) SELECT 'owncast', 'c' || g FROM "
           "generate_series(1, 2000) g");
  pg_query(m_dsn,
           "INSERT INTO livestreams (channel_id, session_key, started_at, last_sample_at) "
           "SELECT id, 'k', now(), now() FROM channels");
  auto web = start_web({"[live]\nclient_buffer = 1048576\n", ""});
  // A client with a tiny receive buffer that never reads.
  const int stuck = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 4096;
  ::setsockopt(stuck, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(m_web_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(stuck, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = "GET /api/v1/live HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(stuck, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  SseClient reader(m_web_port, "/api/v1/live");
  ASSERT_EQ(reader.wait_status(), 200);
  // Each statement announces 2,000 channels (about 600 KB of events per client).
  int round = 0;
  ASSERT_TRUE(wait_until([&] {
    ++round;
    pg_query(m_dsn,
             "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
             "agent_id, seq) SELECT id, now(), " +
                 std::to_string(round) + ", 'flood', id * 1000 + " + std::to_string(round) +
                 " FROM livestreams");
    return get("/metrics").body.find("streamtrack_web_slow_clients_dropped 1") != std::string::npos;
  }));
  ::close(stuck);
  // The reader, which keeps up, saw the last round complete.
  const auto last = std::to_string(round);
  EXPECT_TRUE(reader.wait_for([&](const SseEvent& e) {
    return e.data.find("\"name\":\"c2000\"") != std::string::npos &&
           e.data.find("\"viewers\":" + last + "}") != std::string::npos;
  }));
  EXPECT_FALSE(reader.closed());
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(ResilienceTest, TheDashboardAndHealthAnswerWhileEveryWorkerWaitsOnTheDatabase) {
  auto collector = start_stack_collector();
  const auto config = write_web_config({"", "statement_timeout = \"120s\"\n"}, "web-one.toml");
  auto text = read_file(config);
  write_file(config, text.replace(text.find("[web]\n"), 6, "[web]\nworkers = 1\n"));
  auto web = start_web_with(config);
  std::future<HttpReply> stuck;
  {
    TableLock lock(m_dsn, "agents");
    stuck = std::async(std::launch::async, [&] { return get("/api/v1/agents"); });
    ASSERT_TRUE(wait_until([&] {
      return pg_scalar(m_dsn,
                       "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                       "'streamtrack-web' AND wait_event_type = 'Lock'") == "1";
    }));
    // The only worker is stuck: files, health and metrics do not need it.
    EXPECT_EQ(get("/").status, 200);
    EXPECT_EQ(get("/app.js").status, 200);
    EXPECT_EQ(get("/healthz").status, 200);
    EXPECT_EQ(get("/readyz").status, 200);
    EXPECT_EQ(get("/metrics").status, 200);
  }
  EXPECT_EQ(stuck.get().status, 200);
}

TEST_F(ResilienceTest, ADatabaseOutageIsA503AndTheDaemonRecovers) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  auto web = start_web();
  SseClient live(m_web_port, "/api/v1/live");
  ASSERT_EQ(live.wait_status(), 200);

  m_pg.stop();
  ASSERT_TRUE(wait_until([&] { return get_json("/readyz", 503)["status"] == "fail"; }));
  const auto down = get("/api/v1/channels");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(error_code(down), "database_unavailable");
  EXPECT_EQ(get("/healthz").status, 200);

  m_pg.start();
  ASSERT_TRUE(wait_until([&] { return get("/readyz").status == 200; }));
  EXPECT_EQ(get("/api/v1/channels").status, 200);
  // The feed was interrupted: the live client is told to reload, then gets new commits.
  EXPECT_TRUE(live.wait_for([](const SseEvent& e) { return e.event == "resync"; }));
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  publish(probe, sample_at("a1", 1, now, "after", 5));
  EXPECT_TRUE(live.wait_for([](const SseEvent& e) {
    return e.event == "sample" && e.data.find("\"after\"") != std::string::npos;
  }));
}

TEST_F(ResilienceTest, AClientThatNeverReadsItsRepliesIsDisconnectedAfterTheIdleTimeout) {
  auto collector = start_stack_collector();
  const auto config = write_web_config({}, "web.toml");
  write_file(config, "[web]\nidle_timeout = \"1s\"\n" + read_file(config).substr(6));
  auto web = start_web_with(config);
  const auto gauge = [&] {
    const auto body = get("/metrics").body;
    const std::string name = "\nstreamtrack_web_connections ";
    const auto at = body.find(name);
    return at == std::string::npos ? -1.0 : std::stod(body.substr(at + name.size()));
  };
  // Pipelined requests for a 445 KB file, far more than the socket buffers hold, never read:
  // without a write deadline the connection and its reply are held forever.
  const int stuck = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 4096;
  ::setsockopt(stuck, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(m_web_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(stuck, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string requests;
  for (int i = 0; i < 40; ++i)
    requests += "GET /vendor/chart.js/chart.esm.js HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(stuck, requests.data(), requests.size(), 0),
            static_cast<ssize_t>(requests.size()));
  // Our /metrics request is the only other connection once the stuck one is closed.
  EXPECT_TRUE(wait_until([&] { return gauge() >= 2.0; }, std::chrono::seconds(10)));
  EXPECT_TRUE(wait_until([&] { return gauge() == 1.0; }, std::chrono::seconds(30)))
      << "connections: " << gauge();
  ::close(stuck);
  EXPECT_EQ(get("/healthz").status, 200);
}

}  // namespace
}  // namespace streamtrack::web::testing
