#pragma once
// Virtual time: nanoseconds since the simulated boot. Nothing in the simulation reads a wall
// clock; time only moves when the Scheduler runs.

#include <chrono>
#include <cstdint>
#include <string>

namespace smpkit::sim {

using Duration = std::chrono::nanoseconds;
// A point in virtual time, measured from boot (t = 0).
using Time = std::chrono::nanoseconds;

constexpr Duration Us(int64_t us) { return std::chrono::microseconds(us); }
constexpr Duration Ms(int64_t ms) { return std::chrono::milliseconds(ms); }

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline double ToMillis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// "12.345678 s" with microsecond resolution, for logs and reports.
std::string FormatTime(Time t);

}  // namespace smpkit::sim
