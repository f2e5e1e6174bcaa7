#pragma once

// A real Mosquitto with password logins and the shipped ACL (conf/mosquitto-acl.example), and
// its own command line clients (mosquitto_pub, mosquitto_sub) to act as other users.

#include <unistd.h>

#include <map>
#include <stdexcept>
#include <thread>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

class AclBroker {
 public:
  // `users`: user name -> password.
  explicit AclBroker(std::map<std::string, std::string> users)
      : m_users(std::move(users)), m_port(free_port()) {
    bool first = true;
    for (const auto& [user, password] : m_users) {
      std::vector<std::string> argv{"mosquitto_passwd", "-b"};
      if (first) argv.push_back("-c");
      argv.insert(argv.end(), {(m_dir / "passwords").string(), user, password});
      const auto r = run_command(argv);
      if (r.exit_code != 0) throw std::runtime_error("mosquitto_passwd failed: " + r.output);
      write_file(m_dir / (user + ".password"), password);
      first = false;
    }
    std::string conf =
        "allow_anonymous false\npersistence false\nlog_dest stderr\n"
        "log_type all\nconnection_messages true\n";
    if (::geteuid() == 0) conf += "user root\n";
    conf += "listener " + std::to_string(m_port) + " 127.0.0.1\n";
    conf += "password_file " + (m_dir / "passwords").string() + "\n";
    conf += "acl_file " + (source_dir() / "conf" / "mosquitto-acl.example").string() + "\n";
    write_file(m_dir / "mosquitto.conf", conf);
    Process::Options o;
    o.argv = {"/usr/sbin/mosquitto", "-c", (m_dir / "mosquitto.conf").string()};
    o.log_file = m_dir / "mosquitto.log";
    m_process = std::make_unique<Process>(o);
    if (!wait_until([&] { return port_accepts(m_port) || !m_process->running(); }) ||
        !m_process->running()) {
      throw std::runtime_error("AclBroker: mosquitto did not start:\n" + log());
    }
  }

  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(m_port); }
  std::string log() const { return read_file(m_dir / "mosquitto.log"); }

  // [mqtt] lines for an agent logging in as `user`.
  std::string credentials(const std::string& user) const {
    return "username = \"" + user + "\"\npassword_file = \"" +
           (m_dir / (user + ".password")).string() + "\"\n";
  }

  // Publishes as `user` with client id "pub-<user>" (QoS 1); the broker drops what the ACL
  // forbids and logs "Denied PUBLISH from pub-<user>".
  void publish(const std::string& user, const std::string& topic, const std::string& payload) {
    const auto r = run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(m_port),
                                "-u", user, "-P", m_users.at(user), "-i", "pub-" + user, "-q", "1",
                                "-t", topic, "-m", payload});
    if (r.exit_code != 0) throw std::runtime_error("mosquitto_pub failed: " + r.output);
  }

  // A subscriber as `user`, printing "<topic> <payload>" a line; waits until subscribed.
  std::unique_ptr<Process> subscribe(const std::string& user, const std::string& filter) {
    Process::Options o;
    const std::string id = "sub-" + user + "-" + std::to_string(++m_subscribers);
    o.argv = {"mosquitto_sub",
              "-h",
              "127.0.0.1",
              "-p",
              std::to_string(m_port),
              "-u",
              user,
              "-P",
              m_users.at(user),
              "-i",
              id,
              "-q",
              "1",
              "-v",
              "-t",
              filter};
    auto p = std::make_unique<Process>(o);
    const std::string needle = "Sending SUBACK to " + id;
    if (!wait_until([&] { return log().find(needle) != std::string::npos; })) {
      throw std::runtime_error("AclBroker: subscriber did not subscribe:\n" + log());
    }
    return p;
  }

 private:
  TempDir m_dir{"streamtrack-acl-broker"};
  std::map<std::string, std::string> m_users;
  std::uint16_t m_port;
  std::unique_ptr<Process> m_process;
  int m_subscribers = 0;
};

// A real Mosquitto, anonymous access, with extra mosquitto.conf lines.
class CustomBroker {
 public:
  explicit CustomBroker(const std::string& extra_conf) : m_port(free_port()) {
    std::string conf =
        "allow_anonymous true\npersistence false\nlog_dest stderr\n"
        "log_type all\nconnection_messages true\n";
    if (::geteuid() == 0) conf += "user root\n";
    conf += "listener " + std::to_string(m_port) + " 127.0.0.1\n" + extra_conf;
    write_file(m_dir / "mosquitto.conf", conf);
    Process::Options o;
    o.argv = {"/usr/sbin/mosquitto", "-c", (m_dir / "mosquitto.conf").string()};
    o.log_file = m_dir / "mosquitto.log";
    m_process = std::make_unique<Process>(o);
    if (!wait_until([&] { return port_accepts(m_port) || !m_process->running(); }) ||
        !m_process->running()) {
      throw std::runtime_error("CustomBroker: mosquitto did not start:\n" + log());
    }
  }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(m_port); }
  std::string log() const { return read_file(m_dir / "mosquitto.log"); }
  const std::filesystem::path& dir() const { return m_dir.path(); }

 private:
  TempDir m_dir{"streamtrack-custom-broker"};
  std::uint16_t m_port;
  std::unique_ptr<Process> m_process;
};

// A real Mosquitto that refuses every subscription with a SUBACK failure (0x80), as a broker
// whose ACL plugin checks subscriptions does (here: the dynamic security plugin, anonymous
// clients, default subscribe access denied). Mosquitto 2.0's acl_file never refuses a
// subscription: it only withholds the messages (AclBroker shows that case).
// Debian's mosquitto package ships the plugin under the multiarch library directory.
inline std::filesystem::path dynamic_security_plugin() {
  for (const auto& lib : std::filesystem::directory_iterator("/usr/lib")) {
    const auto plugin = lib.path() / "mosquitto_dynamic_security.so";
    if (std::filesystem::exists(plugin)) return plugin;
  }
  throw std::runtime_error("mosquitto_dynamic_security.so not found under /usr/lib/*/");
}

inline std::unique_ptr<CustomBroker> subscribe_refusing_broker(const TempDir& dir) {
  write_file(dir / "dynsec.json",
             "{\"defaultACLAccess\":{\"publishClientSend\":true,\"publishClientReceive\":true,"
             "\"subscribe\":false,\"unsubscribe\":true},\"clients\":[],\"groups\":[],"
             "\"roles\":[]}\n");
  return std::make_unique<CustomBroker>("plugin " + dynamic_security_plugin().string() +
                                        "\n"
                                        "plugin_opt_config_file " +
                                        (dir / "dynsec.json").string() + "\n");
}

}  // namespace streamtrack::testing
