// docs/operations.md's recipe for copying an agent's outbox, run as written (paths substituted)
// against a running agent, restored on "another machine" and drained to a real broker.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/agent/daemon/agent_support.hpp"

namespace streamtrack::testing {
namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The shell lines of the "Agent outbox" backup item: the indented lines that follow it.
std::vector<std::string> documented_backup_commands() {
  const auto doc = read_file(source_dir() / "docs" / "operations.md");
  const auto item = doc.find("- **Agent outbox**");
  if (item == std::string::npos) throw std::runtime_error("operations.md: no Agent outbox item");
  std::vector<std::string> lines;
  std::istringstream in(doc.substr(item));
  std::string line;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line.rfind("      ", 0) == 0 && line.find_first_not_of(' ') != std::string::npos) {
      in_block = true;
      lines.push_back(line.substr(6));
    } else if (in_block) {
      break;
    }
  }
  return lines;
}

TEST(OutboxBackup, TheDocumentedCopyOfARunningAgentRestoresEverySampleAndNoSeqIsReused) {
  const auto commands = documented_backup_commands();
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].rfind("sqlite3 ", 0), 0u) << commands[0];

  HttpFixtureServer http;
  http.route("/a", json("{\"online\":true,\"viewers\":7}"));
  MosquittoServer broker;

  // The agent being backed up reaches no broker: everything it takes stays in its outbox.
  AgentSetup old_setup;
  old_setup.url = "tcp://127.0.0.1:1";
  old_setup.source_urls = {http.url("/a")};
  AgentRun old_agent(old_setup);
  auto& running = old_agent.start();
  // (The first reads may come before the agent has created its outbox.)
  ASSERT_TRUE(wait_until([&] {
    try {
      return old_agent.stat("depth") >= 20;
    } catch (const std::runtime_error&) {
      return false;
    }
  })) << running.output();

  TempDir backup_dir{"streamtrack-outbox-backup"};
  for (auto command : commands) {
    replace_all(command, "/var/lib/streamtrack-agent", old_agent.state().string());
    replace_all(command, "/root", backup_dir.path().string());
    const auto r = run_command({"sh", "-c", command});
    ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  }
  EXPECT_EQ(running.stop(), 0) << running.output();  // the agent moves to another machine

  // Restored as the recipe says, into a fresh state directory, then started with a broker.
  AgentSetup new_setup = old_setup;
  new_setup.url = broker.url();
  AgentRun new_agent(new_setup);
  std::filesystem::create_directories(new_agent.state());
  std::filesystem::copy_file(backup_dir.path() / "outbox-backup.db",
                             new_agent.state() / "outbox.db");
  std::filesystem::copy_file(backup_dir.path() / "outbox-backup.db.seq",
                             new_agent.state() / "outbox.db.seq");
  ::chmod((new_agent.state() / "outbox.db").c_str(), 0600);
  ::chmod((new_agent.state() / "outbox.db.seq").c_str(), 0600);
  const auto backed_up = new_agent.stat("last_seq");
  const auto reserved = new_agent.stat("seq_reserved");
  ASSERT_GE(backed_up, 20);
  EXPECT_EQ(new_agent.stat("depth"), backed_up);
  ASSERT_GE(reserved, backed_up);

  MqttProbe probe(broker.url(), k_rig_samples);
  auto& restored = new_agent.start();
  // Every backed-up sample arrives, and the new ones carry seqs above the copied reservation
  // (those up to it may have been given out by the old agent after the copy was taken).
  ASSERT_TRUE(wait_until([&] {
    const auto seqs = distinct_seqs(probe);
    return has_all(seqs, backed_up) && seqs.upper_bound(backed_up) != seqs.end();
  })) << restored.output();
  const auto seqs = distinct_seqs(probe);
  for (auto it = seqs.upper_bound(backed_up); it != seqs.end(); ++it) {
    EXPECT_GT(*it, reserved) << "a new sample reused seq " << *it;
  }
  EXPECT_EQ(restored.stop(), 0) << restored.output();
}

}  // namespace
}  // namespace streamtrack::testing
