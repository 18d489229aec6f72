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
  double pdus_per_event = 0;    // average full-size data PDUs per connection event
  // Octets of one shorter PDU that fit in the time an event has left after them.
  double partial_octets_per_event = 0;
  size_t pdus_per_write = 0;    // LL PDUs one (MTU - 3)-octet write takes
  size_t value_per_write = 0;   // MTU - 3
  sim::Duration event_limit{0};
  std::string arithmetic;  // the calculation, one step per line
};

// Capacity for back-to-back Write Without Response of MTU - 3 octets, each answered by an
// empty PDU, with the event length, interval and per-event PDU limits of `config` (ACL
// buffers and device processing are not air time and are left out), plus what one shorter
// PDU could add in the time each event has left (an upper bound: a client's short last write
// of a request can use it).
Capacity WriteCapacity(const LinkConfig& config, uint16_t att_mtu);

// The physical bound of a DFU: min(air time, flash write rate, erase rate if the slot is
// erased during the upload), and which term limits it.
struct DfuBound {
  double air_bytes_per_second = 0;
  double write_bytes_per_second = 0;
  double erase_bytes_per_second = 0;  // 0 when the slot is pre-erased
  // min(air, write, erase): the bound of ble-calibration.md, for a device whose flash work can
  // overlap its radio events.
  double physical_bytes_per_second = 0;
  // The radio/flash sharing term (0 when not applied, see ApplyRadioFlashSharing).
  double shared_bytes_per_second = 0;
  double bytes_per_second = 0;  // the lowest term
  // "air time", "flash write", "flash erase" or "radio/flash sharing"
  std::string limited_by;
  std::string arithmetic;
};
DfuBound ComputeDfuBound(const Capacity& air, sim::Duration word_write_time, size_t word_size,
                         sim::Duration page_erase_time, size_t page_size, bool erase_during_upload);

// The link model's own capacity for a DFU on a peripheral whose flash work cannot overlap its
// radio events (Link::RunBetweenRadioEvents: paused from radio_guard_before ahead of every
// attended event until radio_guard_after behind it), at peripheral latency 0 so that every
// event is attended. In each interval an event carrying k data PDUs (0..what fits the event
// limit) leaves max(0, interval - guards - event) for flash; the best steady mix of event sizes
// in which flash keeps up with the data (a two-term linear programme, solved exactly) gives
// the rate. Returns 0 bytes/s when flash work costs nothing.
struct SharedCapacity {
  double bytes_per_second = 0;
  std::string arithmetic;
};
SharedCapacity RadioFlashSharingCapacity(const LinkConfig& config, uint16_t att_mtu,
                                         double flash_seconds_per_byte);

// Adds the sharing term to `bound` (flash seconds per byte from its write and, when the
// upload erases, erase terms): bytes_per_second becomes the lowest of all terms.
void ApplyRadioFlashSharing(DfuBound& bound, const LinkConfig& config, uint16_t att_mtu);

}  // namespace smpkit::ble
