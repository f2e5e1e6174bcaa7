#include "agent/daemon/ack_receiver.hpp"

#include "common/daemon/log.hpp"
#include "common/wire/codec.hpp"

namespace streamtrack::agent {

using std::chrono::milliseconds;

AckReceiver::AckReceiver(const AgentConfig& config, const wire::Topics& topics,
                         publish::Publisher& publisher, const publish::RowSource& rows,
                         streamtrack::status::AgentMetrics& metrics)
    : m_config(config),
      m_topics(topics),
      m_publisher(publisher),
      m_rows(rows),
      m_metrics(metrics) {}

// Fails too when the broker does not deliver the ack topic to this agent (an ACL that filters
// instead of refusing, as Mosquitto 2.0's acl_file does).
streamtrack::status::CheckResult AckReceiver::check() const {
  {
    std::lock_guard lock(m_subscription_mutex);
    if (!m_subscription.ok) return m_subscription;
  }
  const auto since = m_waiting_since_ns.load();
  if (since != 0) {
    const auto waited = Steady::now().time_since_epoch() - std::chrono::nanoseconds{since};
    if (waited > m_config.ack_timeout) {
      return {false,
              "no ack for " +
                  std::to_string(std::chrono::duration_cast<milliseconds>(waited).count() / 1000) +
                  "s after the broker took samples: is a collector running, and may "
                  "this agent read " +
                  m_topics.ack(m_config.id) + " (broker ACL)?"};
    }
  }
  return {true, "acks arriving"};
}

void AckReceiver::on_subscribed(bool ok, const std::string& filter, const std::string& reason) {
  if (ok) {
    set_subscription(true, "subscribed to " + filter);
  } else {
    set_subscription(false, "subscription to " + filter + " " + reason +
                                ": samples are resent and never removed");
  }
}

void AckReceiver::set_subscription(bool ok, std::string detail) {
  std::lock_guard lock(m_subscription_mutex);
  m_subscription = streamtrack::status::CheckResult{ok, std::move(detail)};
}

void AckReceiver::on_puback(Steady::time_point now) {
  if (m_config.delivery == Delivery::committed && m_waiting_since_ns.load() == 0) {
    m_waiting_since_ns = now.time_since_epoch().count();
  }
}

void AckReceiver::on_collision(Steady::time_point now, milliseconds hold) {
  if (m_config.delivery != Delivery::committed) return;
  if (now >= m_identity_conflict_until) {
    log::error("agent: acks suspended: another agent appears to use id=" + log::quote(m_config.id) +
               "; give each agent its own id");
  }
  m_identity_conflict_until = now + hold;
}

void AckReceiver::ignore(std::string_view reason, std::int64_t seqs, const std::string& detail) {
  m_metrics.count_acks_ignored(reason, seqs);
  log::warning("ack: ignored seqs=" + std::to_string(seqs) + " reason=" + std::string(reason) +
               (detail.empty() ? std::string() : " " + detail));
}

void AckReceiver::on_message(const ClientEvent& e) {
  const auto expected = m_topics.ack(m_config.id);
  auto ack = wire::decode_ack(e.text);
  if (!ack) {
    ignore("malformed", 1, "error=" + log::quote(ack.error()));  // one message
    return;
  }
  const std::int64_t named = wire::seqs_named(*ack);
  if (e.topic != expected) {
    ignore("wrong_topic", named, "topic=" + log::quote(e.topic));
    return;
  }
  if (Steady::now() < m_identity_conflict_until) {
    ignore("identity_conflict", named, "(another agent appears to use this id)");
    return;
  }
  if (e.retained) {
    // A collector never retains acks: this one was left on the broker by someone else, or
    // by an earlier life of the agent's peer, and says nothing about what we hold now.
    ignore("retained", named, "(clear it with an empty retained message on " + expected + ")");
    return;
  }
  const auto report = m_publisher.on_ack(*ack);
  if (report.beyond_last_seq == 0) m_waiting_since_ns = 0;  // a collector answers
  const auto last = "last_seq=" + std::to_string(m_rows.last_seq());
  if (report.beyond_last_seq > 0) {
    ignore("beyond_last_seq", report.beyond_last_seq, last);
    m_metrics.count_identity_conflict("ack");
    log::error("agent: another agent may be using id=" + log::quote(m_config.id) +
               ": an ack names seqs this agent never gave out " + last +
               " (or someone forges acks; check the broker ACL)");
  }
  if (report.not_published > 0) ignore("not_published", report.not_published, last);
  if (report.already_done > 0) {
    m_metrics.count_acks_ignored("already_done", report.already_done);
    log::debug("ack: ignored seqs=" + std::to_string(report.already_done) + " reason=already_done");
  }
  if (report.applied > 0) log::debug("ack: applied seqs=" + std::to_string(report.applied));
  if (report.applied > 0 && !m_first_ack_logged) {
    m_first_ack_logged = true;
    log::info("ack: applied seqs=" + std::to_string(report.applied) +
              " (the first ack of this run; later ones are logged at debug level)");
  }
}

}  // namespace streamtrack::agent
