#pragma once
// Analytic air-time capacity of a link configuration, with the arithmetic spelled out, so
// that benchmarks can report throughput as a ratio of the model's own bound.

#include <cstddef>
#include <cstdint>
#include <string>

#include "smpkit/ble/link.h"

namespace smpkit::ble {

struct Capacity {
  double bytes_per_second = 0;  // ATT values written central -> peripheral per second
  double pdus_per_event = 0;    // average data PDUs per connection event
  size_t pdus_per_write = 0;    // LL PDUs one (MTU - 3)-octet write takes
  size_t value_per_write = 0;   // MTU - 3
  sim::Duration event_limit{0};
  std::string arithmetic;  // the calculation, one step per line
};

// Capacity for back-to-back Write Without Response of MTU - 3 octets, each answered by an
// empty PDU, with the event length, interval and per-event PDU limits of `config` (ACL
// buffers and device processing are not air time and are left out).
Capacity WriteCapacity(const LinkConfig& config, uint16_t att_mtu);

// The physical bound of a DFU: min(air time, flash write rate, erase rate if the slot is
// erased during the upload), and which term limits it.
struct DfuBound {
  double air_bytes_per_second = 0;
  double write_bytes_per_second = 0;
  double erase_bytes_per_second = 0;  // 0 when the slot is pre-erased
  double bytes_per_second = 0;
  std::string limited_by;  // "air time", "flash write" or "flash erase"
  std::string arithmetic;
};
DfuBound ComputeDfuBound(const Capacity& air, sim::Duration word_write_time, size_t word_size,
                         sim::Duration page_erase_time, size_t page_size, bool erase_during_upload);

}  // namespace smpkit::ble
