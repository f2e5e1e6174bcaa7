#pragma once

#include <functional>
#include <string>

#include "collector/alerts/alert.hpp"

namespace streamtrack::collector::alerts::sinks {

// A destination for notifications. deliver() never blocks on the network: a sink queues and
// sends on its own, retrying as it sees fit.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void deliver(const Notification& n) = 0;
  virtual const std::string& name() const = 0;
};

}  // namespace streamtrack::collector::alerts::sinks
