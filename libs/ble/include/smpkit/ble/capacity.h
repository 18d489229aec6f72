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
  size_t pdus_per_event = 0;    // full-size data PDUs per connection event
  // Octets of one shorter PDU that fit in the time an event has left after them.
  size_t partial_octets_per_event = 0;
  size_t full_pdu_octets = 0;   // min(data length, MTU + 4): the largest PDU a write allows
  double value_share = 0;       // (MTU - 3) / (MTU + 4): the most of a PDU's octets are value
  size_t pdus_per_write = 0;    // LL PDUs one (MTU - 3)-octet write takes
  size_t value_per_write = 0;   // MTU - 3
  sim::Duration event_limit{0};
  std::string arithmetic;  // the calculation, one step per line
};

// An upper bound for Write Without Response traffic of at most MTU - 3 octets per write, each
// PDU answered by an empty one, with the event length, interval and per-event PDU limits of
// `config` (ACL buffers and device processing are not air time and are left out): per event
// as many full-size PDUs as fit, then one shorter PDU in the time left, of which at most
// (MTU - 3) / (MTU + 4) is value.
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
  double bytes_per_second = 0;  // the lowest term
  // "air time", "flash write", "flash erase" or "radio/flash sharing"
  std::string limited_by;
  std::string arithmetic;
};
DfuBound ComputeDfuBound(const Capacity& air, sim::Duration word_write_time, size_t word_size,
                         sim::Duration page_erase_time, size_t page_size, bool erase_during_upload);

// The link model's own capacity for a DFU on a peripheral whose flash work cannot overlap its
// radio events (Link::RunBetweenRadioEvents: paused from radio_guard_before ahead of every
// attended event until radio_guard_after behind it). In each interval an attended event
// carrying k data PDUs (0 up to what WriteCapacity fits, also with its shorter PDU) leaves
// max(0, interval - guards - event) for flash; with a peripheral latency above 0 an event
// may also be skipped, leaving the whole interval. The best steady mix of these in which
// flash keeps up with the data (a linear programme over the options, solved exactly: the
// optimum mixes at most two) gives the rate. Returns 0 bytes/s when flash costs nothing.
struct SharedCapacity {
  double bytes_per_second = 0;
  std::string arithmetic;
};
SharedCapacity RadioFlashSharingCapacity(const LinkConfig& config, uint16_t att_mtu,
                                         double flash_seconds_per_byte);

// Adds the sharing term to `bound` (flash seconds per byte from its write and, when the
// upload erases, erase terms): bytes_per_second becomes the lowest of all terms.
void ApplyRadioFlashSharing(DfuBound& bound, const LinkConfig& config, uint16_t att_mtu);

// The request window's term: with `window` requests of `chunk_data` image octets in flight
// (the device's SMP buffers less one for the answer), each buffer is held from its request's
// first PDU to its answer, at least the request's air time (its data, the SMP header, ATT and
// L2CAP headers in PDUs of at most the data length, each answered by an empty PDU), the
// device's `processing` of the chunk (its flash write) and the answer's exchange; so the rate
// is at most window x chunk_data / that cycle. (Answers and next requests may share a running
// event: the link model carries data queued during an event while either side's MD is set.)
inline constexpr size_t kUploadAnswerOctets = 8 + 16;  // SMP header + {"rc": 0, "off": N}
void ApplyWindowLimit(DfuBound& bound, size_t window, size_t chunk_data,
                      const LinkConfig& config, uint16_t att_mtu, sim::Duration processing);

}  // namespace smpkit::ble
