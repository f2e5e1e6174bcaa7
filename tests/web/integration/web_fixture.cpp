#include "tests/web/integration/web_fixture.hpp"

#include <regex>

namespace streamtrack::web::testing {

void WebTest::SetUp() {
  CollectorTest::SetUp();
  // The documented read-only role (docs/api.md): the web daemon connects as this one.
  pg_query(m_dsn,
           "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'streamtrack_web') "
           "THEN CREATE ROLE streamtrack_web LOGIN; END IF; END $$");
  pg_query(m_dsn, "GRANT pg_read_all_data TO streamtrack_web");
  write_file(
      m_ui / "index.html",
      "<!doctype html><title>StreamTrack</title><script type=module src=/app.js></script>\n");
  write_file(m_ui / "app.js", "export const ok = true;\n");
  write_file(m_ui / "style.css", "body { color: black; }\n");
  write_file(m_ui / "icon.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>\n");
  write_file(m_ui / "manifest.webmanifest", "{\"name\":\"StreamTrack\"}\n");
  write_file(m_ui / "sw.js", "self.addEventListener('fetch', () => {});\n");
  write_file(m_ui / ".secret", "not for you\n");
}

std::string WebTest::readonly_dsn() const {
  return std::regex_replace(m_dsn, std::regex("user=postgres"), "user=streamtrack_web");
}

std::unique_ptr<Process> WebTest::start_stack_collector(const std::string& extra) {
  CollectorOptions o;
  o.extra = "[analytics]\nrefresh_interval = \"200ms\"\n" + extra;
  auto proc = start_collector(o);
  EXPECT_TRUE(wait_until([&] {
    try {
      return pg_scalar(m_dsn, "SELECT count(*) FROM schema_migrations WHERE version = 3") == "1";
    } catch (const std::exception&) {
      return false;
    }
  }));
  return proc;
}

std::filesystem::path WebTest::write_web_config(const WebOptions& o, const std::string& name) {
  const std::string toml = "[web]\nlog_level = \"debug\"\nlisten = \"127.0.0.1:0\"\nui_dir = \"" +
                           m_ui.path().string() + "\"\n[postgres]\ndsn = \"" + readonly_dsn() +
                           "\"\n" + o.postgres + "\n" + o.extra + "\n";
  const auto path = m_dir / name;
  write_file(path, toml);
  return path;
}

std::unique_ptr<Process> WebTest::start_web(const WebOptions& o) {
  return start_web_with(write_web_config(o, "web.toml"));
}

std::unique_ptr<Process> WebTest::start_web_with(const std::filesystem::path& config) {
  Process::Options p;
  p.argv = {(bin_dir() / "streamtrack-web").string(), "-c", config.string()};
  p.log_file = m_dir / (config.stem().string() + ".log");
  auto proc = std::make_unique<Process>(p);
  EXPECT_TRUE(proc->wait_for_output("web: ready")) << proc->output();
  std::smatch m;
  const auto out = proc->output();
  const std::regex port_re("web: serving url=\\S+ port=(\\d+)");
  m_web_port = 0;
  if (std::regex_search(out, m, port_re)) m_web_port = static_cast<std::uint16_t>(std::stoi(m[1]));
  EXPECT_NE(m_web_port, 0) << out;
  return proc;
}

json WebTest::get_json(const std::string& target, int expected_status) const {
  const auto reply = get(target);
  EXPECT_EQ(reply.status, expected_status) << target << " -> " << reply.body;
  const auto j = json::parse(reply.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << target << " -> " << reply.body;
  return j;
}

void WebTest::publish_and_wait(MqttProbe& probe, const std::vector<Sample>& samples,
                               std::int64_t expected_rows) {
  for (const auto& s : samples) publish(probe, s);
  expect_count("SELECT count(*) FROM livestream_metrics", expected_rows);
}

Sample sample_at(const std::string& agent, std::int64_t seq, TimePoint ts,
                 const std::string& channel, std::int64_t viewers, bool live) {
  Sample s;
  s.agent = agent;
  s.seq = seq;
  s.ts = ts;
  s.platform = "owncast";
  s.channel = channel;
  s.live = live;
  if (live) {
    s.viewers = viewers;
    s.chat_messages = seq % 5;
    s.bitrate_kbps = 2500.0 + static_cast<double>(seq);
    s.title = "Stream " + channel;
    s.category = "Music";
  }
  return s;
}

}  // namespace streamtrack::web::testing
