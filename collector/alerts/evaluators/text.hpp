#pragma once

#include <chrono>
#include <string>

// Numbers as the evaluators put them in alert summaries.
namespace streamtrack::collector::alerts::evaluators {

// Four significant digits ("60", "0.25", "1.235e+04").
std::string num(double v);

double seconds(std::chrono::milliseconds d);

}  // namespace streamtrack::collector::alerts::evaluators
