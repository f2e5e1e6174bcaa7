#pragma once

#include <chrono>
#include <string>

#include "collector/alerts/alert.hpp"

// The bodies alerts travel in: the generic JSON (MQTT and the "json" webhook preset), the
// Prometheus Alertmanager /api/v2/alerts array, and Slack/Discord-compatible text.
namespace streamtrack::collector::alerts {

// {"schema":1,"event":"firing","rule":...,"key":[...],"state":...,"severity":...,"labels":{},
//  "summary":...,"value":...,"threshold":...,"active_since":...,"fired_at":...,
//  "resolved_at":...,"duration_s":...,"collector":...,"ts":...}; absent values are omitted.
std::string alert_json(const Notification& n);

// A one-element array for POST /api/v2/alerts. A firing alert gets endsAt = now + `hold` (the
// Alertmanager resolves it by itself if the collector stops sending); a resolved one gets its
// resolved time.
std::string alertmanager_json(const Notification& n, std::chrono::milliseconds hold);

// {"text": ..., "content": ..., "allowed_mentions": {"parse": []}}: Slack reads "text" (with
// &, <, > escaped), Discord reads "content" (with every '@' followed by a zero-width space), so
// no name in an alert can mention @everyone or anyone else.
std::string chat_json(const Notification& n);

// "[FIRING] viewer_drop (warning) twitch/foo viewers fell 62% ..." and, on resolve,
// "[RESOLVED] ... after 12m30s".
std::string chat_text(const Notification& n);

}  // namespace streamtrack::collector::alerts
