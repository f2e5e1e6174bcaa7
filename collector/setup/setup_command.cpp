#include <fstream>
#include <iostream>

#include "collector/app.hpp"
#include "collector/store/pg_connection.hpp"

namespace streamtrack::collector {

namespace {

std::string read_password(const std::string& path, const std::string& option) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    throw std::invalid_argument(option + ": cannot read a password from \"" + path + "\"");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty())
    throw std::invalid_argument(option + ": \"" + path + "\" starts with an empty line");
  return line;
}

}  // namespace

int run_setup_db(SetupCommand command) {
  auto& o = command.options;
  try {
    if (command.print_sql) {
      std::cout << setup::render_psql_script(o);
      return 0;
    }
    if (!command.writer_password_file.empty()) {
      o.writer_password = read_password(command.writer_password_file, "--writer-password-file");
    }
    if (!command.reader_password_file.empty()) {
      o.reader_password = read_password(command.reader_password_file, "--reader-password-file");
    }
    setup::validate(o);
  } catch (const std::invalid_argument& e) {
    std::cerr << "streamtrack-collector setup-db: " << e.what() << "\n";
    return 2;
  }
  try {
    setup::run_setup(o, [](const std::string& line) { std::cout << "setup-db: " << line << "\n"; });
  } catch (const store::PgError& e) {
    std::cerr << "streamtrack-collector setup-db: " << e.describe() << "\n";
    return 1;
  }
  std::cout << "setup-db: done. Next:\n"
            << "  /etc/streamtrack/collector.toml  [postgres] dsn = \"host=127.0.0.1 dbname="
            << o.database << " user=" << o.writer_role << "\"\n"
            << "  /etc/streamtrack/web.toml        [postgres] dsn = \"host=127.0.0.1 dbname="
            << o.database << " user=" << o.reader_role << "\"\n"
            << "  passwords in /etc/credstore/postgres-password (mode 0600), then\n"
            << "  systemctl restart streamtrack-collector streamtrack-web\n";
  return 0;
}

}  // namespace streamtrack::collector
