#include "collector/batch/batch_writer.hpp"

#include <thread>

#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::collector::batch {

using ingest::Item;

void BatchWriter::acknowledge(std::span<const Item> items) {
  std::map<std::string, std::vector<std::int64_t>> seqs;
  for (const auto& item : items) {
    if (item.sample) seqs[item.sample->agent].push_back(item.sample->seq);
    if (item.kind == Item::Kind::sample) {
      ++m_counters.samples;
    } else if (item.kind == Item::Kind::reject) {
      ++m_counters.rejects;
    }
  }
  ++m_counters.batches;
  if (!m_acks) return;
  for (auto& [agent, list] : seqs) m_acks(agent, std::move(list));
}

Outcome BatchWriter::write(const std::vector<Item>& batch) {
  if (batch.empty()) return Outcome::ok;
  return settle(batch, m_store.write(batch));
}

Outcome BatchWriter::write(std::span<const Item> batch) {
  if (batch.empty()) return Outcome::ok;
  // Store::write takes a vector, so a part is copied (in run(), only halves of a refused batch).
  return settle(batch, m_store.write(std::vector<Item>(batch.begin(), batch.end())));
}

Outcome BatchWriter::record(std::span<const Item> items, const store::WriteOutcome& outcome) {
  if (outcome.status == Outcome::ok) acknowledge(items);
  if (outcome.status == Outcome::retry) m_last_error = outcome.error;
  return outcome.status;
}

Outcome BatchWriter::settle(std::span<const Item> batch, const store::WriteOutcome& outcome) {
  if (const auto done = record(batch, outcome); done != Outcome::error) return done;
  if (batch.size() == 1) return write_alone(batch.front(), outcome.error);
  const auto half = batch.size() / 2;
  if (write(batch.first(half)) == Outcome::retry) return Outcome::retry;
  return write(batch.subspan(half));
}

Outcome BatchWriter::write_alone(const Item& item, const std::string& error) {
  if (item.kind == Item::Kind::reject) {
    log::error("ingest: cannot store a rejected message topic=" + log::quote(item.topic) +
               " reason=" + log::quote(item.reason) + " error=" + log::quote(error));
    return Outcome::ok;
  }
  Item as_reject = item;
  as_reject.kind = Item::Kind::reject;
  as_reject.origin = Item::Origin::database;
  as_reject.reason = error;
  log::warning("ingest: database refused a message topic=" + log::quote(item.topic) +
               " error=" + log::quote(error));
  const auto outcome = m_store.write({as_reject});
  if (const auto done = record(std::span<const Item>(&as_reject, 1), outcome);
      done != Outcome::error) {
    return done;
  }
  log::error("ingest: cannot store a refused message topic=" + log::quote(item.topic) +
             " error=" + log::quote(outcome.error));
  return Outcome::ok;
}

void BatchWriter::run(ingest::IngestQueue& queue, const WriterSettings& settings,
                      const std::atomic<bool>& abandon) {
  const auto initial = settings.current();
  Backoff backoff(initial.retry_min, initial.retry_max);
  while (true) {
    // The count before the options: an update in between interrupts this very take.
    const auto interruptions = queue.interruptions();
    const auto options = settings.current();
    const ingest::BatchCut cut{options.max_rows, options.max_delay, options.min_delay};
    auto batch = queue.take_batch(cut, interruptions);
    if (batch.empty()) {
      if (!queue.closed()) continue;  // interrupted: new options
      // Closed (maybe just after the interrupt): what is left, without waiting.
      batch = queue.take_batch(cut);
      if (batch.empty()) return;
    }
    while (write(batch) == Outcome::retry) {
      ++m_counters.retries;
      if (abandon) {
        log::warning("ingest: giving up an unwritten batch at shutdown rows=" +
                     std::to_string(batch.size()) + " (unacknowledged: agents resend it)");
        break;
      }
      const auto delay = backoff.next_delay();
      log::warning("ingest: batch not written, retrying rows=" + std::to_string(batch.size()) +
                   " in_ms=" + std::to_string(delay.count()) +
                   " error=" + log::quote(m_last_error));
      const auto until = std::chrono::steady_clock::now() + delay;
      while (!abandon && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
      }
    }
    backoff.reset();
    queue.release(batch);
  }
}

}  // namespace streamtrack::collector::batch
