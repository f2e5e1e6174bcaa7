#include "collector/setup/setup_db.hpp"

#include <stdexcept>

#include "collector/store/migrations.hpp"
#include "collector/store/pg_connection.hpp"

namespace streamtrack::collector::setup {

namespace {

// Names are checked by validate(), so they need no escaping inside identifiers, literals or
// dollar-quoted blocks; quoting them anyway keeps upper case and '-' intact.
std::string ident(const std::string& name) {
  return "\"" + name + "\"";
}
std::string literal(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// Creates the login role unless it exists; refuses one that exists with more privileges than
// a daemon needs (and so the admin's own role), rather than silently taking them away.
std::string role_sql(const std::string& role, const std::string& purpose) {
  return "DO $streamtrack$\nBEGIN\n"
         "  IF EXISTS (SELECT FROM pg_roles WHERE rolname = " +
         literal(role) +
         "\n             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR "
         "rolbypassrls)) THEN\n"
         "    RAISE EXCEPTION 'role " +
         role + " (" + purpose +
         ") already exists with SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS; "
         "StreamTrack wants a role that has none: choose another name';\n"
         "  END IF;\n"
         "  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = " +
         literal(role) +
         ") THEN\n"
         "    CREATE ROLE " +
         ident(role) +
         " LOGIN;\n"
         "  END IF;\n"
         "END\n$streamtrack$;\n"
         "ALTER ROLE " +
         ident(role) + " LOGIN;\n";
}

// Takes back every role membership (pg_read_all_data, pg_write_all_data, a group role...): a
// daemon role holds exactly what setup-db grants it.
std::string memberships_sql(const std::string& role) {
  return "DO $streamtrack$\nDECLARE g record;\nBEGIN\n"
         "  FOR g IN SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid\n"
         "           WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = " +
         literal(role) +
         ") LOOP\n"
         "    EXECUTE format('REVOKE %I FROM %I', g.rolname, " +
         literal(role) +
         ");\n"
         "  END LOOP;\nEND\n$streamtrack$;\n";
}

// Takes back default privileges (ALTER DEFAULT PRIVILEGES) that grant `role` anything on
// objects others create in the current database.
std::string default_privileges_sql(const std::string& role) {
  return "DO $streamtrack$\nDECLARE d record;\nBEGIN\n"
         "  FOR d IN SELECT DISTINCT pg_get_userbyid(a.defaclrole) AS owner, n.nspname,\n"
         "             CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'\n"
         "               WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS "
         "kind\n"
         "           FROM pg_default_acl a LEFT JOIN pg_namespace n ON n.oid = a.defaclnamespace,\n"
         "             aclexplode(a.defaclacl) x\n"
         "           WHERE x.grantee = (SELECT oid FROM pg_roles WHERE rolname = " +
         literal(role) +
         ")\n             AND x.grantee <> a.defaclrole LOOP\n"
         "    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I', d.owner)\n"
         "      || CASE WHEN d.nspname IS NULL THEN '' ELSE format(' IN SCHEMA %I', d.nspname) "
         "END\n"
         "      || format(' REVOKE ALL ON %s FROM %I', d.kind, " +
         literal(role) +
         ");\n"
         "  END LOOP;\nEND\n$streamtrack$;\n";
}

std::string reader_defaults_sql(const SetupOptions& o) {
  return "ALTER ROLE " + ident(o.reader_role) + " SET default_transaction_read_only = on;\n";
}

std::string database_privileges_sql(const SetupOptions& o) {
  const auto db = ident(o.database);
  return "REVOKE ALL ON DATABASE " + db + " FROM PUBLIC;\n" +
         "GRANT CONNECT, TEMPORARY ON DATABASE " + db + " TO " + ident(o.writer_role) + ";\n" +
         "GRANT CONNECT ON DATABASE " + db + " TO " + ident(o.reader_role) + ";\n";
}

// The writer creates (and so owns) the schema's tables, partitions and views.
std::string schema_privileges_sql(const SetupOptions& o) {
  return "REVOKE CREATE ON SCHEMA public FROM PUBLIC;\n"
         "GRANT USAGE, CREATE ON SCHEMA public TO " +
         ident(o.writer_role) + ";\n" + "GRANT USAGE ON SCHEMA public TO " + ident(o.reader_role) +
         ";\n";
}

// Exactly reader_relations(): whatever else the reader was granted on tables is taken back.
std::string reader_grants_sql(const SetupOptions& o) {
  std::string list;
  for (const auto& r : reader_relations()) list += (list.empty() ? "" : ", ") + r;
  return "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + ident(o.reader_role) + ";\n" +
         "GRANT SELECT ON " + list + " TO " + ident(o.reader_role) + ";\n";
}

std::string create_database_sql(const SetupOptions& o) {
  return "CREATE DATABASE " + ident(o.database) + " ENCODING 'UTF8' TEMPLATE template0";
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const std::vector<std::string>& reader_relations() {
  static const std::vector<std::string> relations{"agents",
                                                  "alerts",
                                                  "channel_current",
                                                  "channels",
                                                  "livestream_changes",
                                                  "livestream_metrics",
                                                  "livestreams",
                                                  "stream_analytics_hourly",
                                                  "v_channel_viewers",
                                                  "v_sessions"};
  return relations;
}

void validate(const SetupOptions& o) {
  const std::pair<const char*, const std::string*> names[] = {{"--database", &o.database},
                                                              {"--writer-role", &o.writer_role},
                                                              {"--reader-role", &o.reader_role}};
  for (const auto& [option, value] : names) {
    if (!valid_name(*value)) {
      throw std::invalid_argument(std::string(option) + ": \"" + *value +
                                  "\" is not 1-63 characters of A-Z, a-z, 0-9, '_' and '-'");
    }
  }
  if (o.writer_role == o.reader_role) {
    throw std::invalid_argument("--reader-role: must differ from --writer-role (\"" +
                                o.writer_role + "\"): the reader must not write");
  }
}

std::string render_psql_script(const SetupOptions& o) {
  validate(o);
  std::string s =
      "-- StreamTrack database setup, the same as `streamtrack-collector setup-db` (which wrote\n"
      "-- this file). Run it as a PostgreSQL superuser:\n"
      "--   sudo -u postgres psql -f /usr/share/streamtrack/sql/setup-db.sql\n"
      "-- It creates the roles " +
      o.writer_role + " (the collector: owns the schema) and " + o.reader_role +
      " (streamtrack-web:\n"
      "-- SELECT only), the database " +
      o.database + ", and applies the schema as " + o.writer_role +
      ". Rerunning it is safe.\n"
      "-- Passwords: \\password " +
      o.writer_role + " and \\password " + o.reader_role +
      " in psql (or peer/cert authentication).\n"
      "\\set ON_ERROR_STOP on\n\n";
  s += role_sql(o.writer_role, "writer") + role_sql(o.reader_role, "reader") +
       reader_defaults_sql(o) + memberships_sql(o.writer_role) + memberships_sql(o.reader_role);
  s += "SELECT " + literal(create_database_sql(o)) +
       " WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = " + literal(o.database) +
       ") \\gexec\n";
  s += database_privileges_sql(o);
  s += "\n\\connect " + o.database + "\n";
  s += schema_privileges_sql(o) + default_privileges_sql(o.writer_role) +
       default_privileges_sql(o.reader_role);
  s += "\n-- The schema, applied as the writer so that it owns every table.\nSET ROLE " +
       ident(o.writer_role) + ";\n" + store::k_schema_migrations_table_sql + ";\n";
  for (const auto& m : store::migrations()) {
    const auto v = std::to_string(m.version);
    s.append("\n-- Migration ").append(v).append(": ").append(m.description).append("\n");
    s.append("SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ").append(v);
    s.append(") AS streamtrack_apply \\gset\n\\if :streamtrack_apply\nBEGIN;\n");
    s.append(m.sql).append("\n");
    s.append("INSERT INTO schema_migrations (version, description) VALUES (").append(v);
    s.append(", ").append(literal(m.description)).append(");\nCOMMIT;\n\\endif\n");
  }
  s += "RESET ROLE;\n\n" + reader_grants_sql(o);
  return s;
}

void run_setup(const SetupOptions& o, const std::function<void(const std::string&)>& progress) {
  validate(o);
  store::ConnectOptions admin_options;
  admin_options.dsn = o.admin_dsn;
  admin_options.application_name = "streamtrack-collector setup-db";
  {
    store::PgConnection admin(admin_options);
    admin.exec(role_sql(o.writer_role, "writer"));
    admin.exec(role_sql(o.reader_role, "reader"));
    // Only the SCRAM verifier leaves this process: the password itself never reaches the
    // server's logs or pg_stat_activity.
    if (o.writer_password) {
      admin.exec("ALTER ROLE " + ident(o.writer_role) + " PASSWORD " +
                 literal(admin.encrypt_password(*o.writer_password, o.writer_role)));
    }
    if (o.reader_password) {
      admin.exec("ALTER ROLE " + ident(o.reader_role) + " PASSWORD " +
                 literal(admin.encrypt_password(*o.reader_password, o.reader_role)));
    }
    admin.exec(reader_defaults_sql(o));
    admin.exec(memberships_sql(o.writer_role) + memberships_sql(o.reader_role));
    progress("roles: " + o.writer_role + " (writer), " + o.reader_role + " (reader, read-only)" +
             (o.writer_password || o.reader_password ? ", passwords set" : ""));
    if (admin.exec("SELECT 1 FROM pg_database WHERE datname = $1", {o.database}).rows() == 0) {
      admin.exec(create_database_sql(o));
      progress("database: created " + o.database);
    } else {
      progress("database: " + o.database + " exists");
    }
    admin.exec(database_privileges_sql(o));
  }
  auto target_options = admin_options;
  target_options.database = o.database;
  store::PgConnection target(target_options);
  target.exec(schema_privileges_sql(o));
  target.exec(default_privileges_sql(o.writer_role) + default_privileges_sql(o.reader_role));
  if (!o.apply_schema) {
    progress("schema: not applied (--no-schema); run setup-db again once the tables exist");
    return;
  }
  target.exec("SET ROLE " + ident(o.writer_role));
  const auto applied = store::apply_migrations(target);
  target.exec("RESET ROLE");
  progress("schema: " +
           (applied.empty() ? std::string("up to date")
                            : "applied " + std::to_string(applied.size()) + " migrations") +
           ", owned by " + o.writer_role);
  target.exec(reader_grants_sql(o));
  progress("grants: " + o.reader_role + " may SELECT " + std::to_string(reader_relations().size()) +
           " tables and views");
}

}  // namespace streamtrack::collector::setup
