#pragma once
// An image upload over the GATT SMP service, as in ble-calibration.md: the central writes each
// request in (MTU - 3)-octet Write Commands, the peripheral spends the flash-write time of the
// request's image data between radio events, then answers with one small notification. One
// request in flight (stop-and-wait) by default, or up to `window`. The traffic is modelled by
// size only (no SMP parsing here).

#include <cstddef>
#include <cstdint>

#include "smpkit/base/result.h"
#include "smpkit/ble/link.h"

namespace smpkit::ble {

struct UploadScenario {
  LinkConfig link;
  uint16_t att_mtu = 498;  // both sides offer this in the MTU exchange
  size_t image_size = 64 * 1024;
  size_t chunk_data = 2392;      // image octets per request
  size_t request_overhead = 83;  // SMP header + CBOR keys around the data (2475 total)
  size_t response_size = 20;
  sim::Duration word_write_time = std::chrono::microseconds(42);
  size_t word_size = 4;
  sim::Duration per_request_cpu{0};  // extra processing per request, also between events
  sim::Duration idle_before_start = std::chrono::seconds(2);  // after setup, before request 1
  sim::Duration give_up_after = std::chrono::seconds(600);
  uint64_t seed = 1;
  size_t window = 1;  // requests in flight
  // A slot that is not blank: when the first request arrives the device erases this many
  // pages first (MCUmgr's image-sized erase), between radio events in partial-erase steps.
  size_t erase_pages = 0;
  sim::Duration page_erase_time = std::chrono::microseconds(87500);
  // CONFIG_SOC_FLASH_NRF_PARTIAL_ERASE_MS: a page erase runs in slices of this length, each
  // fitting whole between two radio events.
  sim::Duration erase_step = std::chrono::milliseconds(3);
};

struct UploadResult {
  sim::Duration elapsed{0};  // first request queued -> last response received
  size_t requests = 0;
  double bytes_per_second = 0;
  sim::Duration first_response{0};  // first request queued -> its response received
  LinkStats stats;
};

// Errors: kInvalidArgument for a bad link configuration or request larger than the SMP
// buffers would allow; kTimeout if the upload does not finish within give_up_after;
// kIo if the link drops.
Result<UploadResult> SimulateUpload(const UploadScenario& scenario);

}  // namespace smpkit::ble
