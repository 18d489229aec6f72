#pragma once
// One DFU over simulated Bluetooth LE, end to end on virtual time: a simulated nRF Desktop
// device (SMP, DFU, DFU lock, BLE latency modules, MCUboot) and a simulated phone running the
// nRF Connect Device Manager flow (upload, test, reset, reconnect, check, confirm) over the
// BLE link model. Used by `smpkit demo` and `smpkit bench ble`.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "smpkit/ble/link.h"

namespace smpkit::cli {

struct BleDfuSetup {
  uint32_t image_size = 256 * 1024;
  uint32_t seed = 1;
  size_t window = 1;  // nRF Connect Device Manager with pipelining off
  bool latency_module = true;
  bool print = false;   // timeline on stdout
  bool tables = false;  // the modules' event propagation tables
  std::string prj_conf;  // path of a prj.conf; empty = the seed's defaults
  // Link and device overrides (0 = keep the configuration's value).
  ble::Phy phy = ble::Phy::k2M;
  // The phone's connection interval (1.25 ms units): it connects with it and keeps it when
  // the device asks for another (0: it connects at 30 ms and grants what the device asks).
  uint16_t interval = 0;
  uint16_t data_length = 251;
  uint16_t mtu = 0;          // ATT MTU of both sides (CONFIG_BT_L2CAP_TX_MTU on the device)
  uint16_t buf_size = 0;     // CONFIG_MCUMGR_BUF_SIZE
  uint32_t timeout_s = 5;    // the phone's per-request timeout
  // false: flash operations cost no time (an ideal device), so that only the link and the
  // SMP stack limit the transfer; true: the nRF52840 flash timing.
  bool flash_costs = true;
  // true: the DFU starts on an idle link (the latency module has raised the peripheral
  // latency to the preferred 99); false: right after the phone connected (latency 0).
  bool idle_start = true;
  // Overrides of the configuration (empty = its own): the link layer ("sdc", "zephyr-ll"),
  // the preferred peripheral latency (CONFIG_BT_PERIPHERAL_PREF_LATENCY).
  std::string controller;
  int pref_latency = -1;
  // nRF5340: flash on the application core, radio on the network core (no sharing).
  bool nrf5340 = false;
  // The update slot holds an old image when the upload starts (not erased in the
  // background): MCUmgr erases the needed pages on the first chunk, between radio events.
  bool dirty_slot = false;
  // Called for every connection event while the upload runs, with the event's anchor in
  // seconds since the upload began (empty: not called).
  std::function<void(const ble::EventRecord&, double since_upload_s)> on_upload_event;
};

struct BleDfuResult {
  bool ok = false;
  std::string error;
  double upload_s = 0;  // first request of the upload -> last chunk acknowledged
  double dfu_s = 0;     // the DFU's first request -> new image confirmed
  double first_response_s = 0;  // first upload request -> its answer
  double swap_s = 0;    // the bootloader's swap after the reset (flash work)
  uint64_t bytes = 0;
  uint16_t latency_during_upload = 0xffff;  // peripheral latency while the data flowed
  uint16_t interval_during_upload = 0;
  uint16_t att_mtu = 0;
  size_t chunk = 0;
  size_t window_used = 0;
  uint32_t transfer_events = 0;
  size_t buf_size = 0;
  // Between the acknowledgements past 10 % and past 90 % of the image (startup excluded).
  double steady_bytes_per_s = 0;
  uint64_t link_events = 0;   // connection events during the upload
  uint64_t central_pdus = 0;  // data PDUs the phone sent during the upload
  uint64_t retransmits = 0;
  // Over the steady part of the upload: its length, and the device's time in radio events
  // with their guard times and in flash work between them (seconds; 0 if the link changed).
  double steady_s = 0;
  double steady_radio_s = 0;
  double steady_flash_s = 0;
  // What ran: the configuration's name, its SMP module, whether the latency module and the
  // OS group were there, whether the new image was booted by a power cycle (no remote
  // reset), and the configuration's "no effect" warnings.
  std::string config_name;
  std::string smp_module;
  std::string controller;  // the peripheral's link layer profile
  ble::LinkConfig link;    // the link every connection starts with (params change later)
  bool latency_module_on = false;
  bool os_group = false;
  bool power_cycled = false;
  uint64_t requests_dropped_no_buffer = 0;
  std::vector<std::string> warnings;
};

BleDfuResult RunBleDfu(const BleDfuSetup& setup);

// The phone's link: 2M PHY, data length 251, encrypted (bonded), 30 ms as phones connect.
ble::LinkConfig PhoneLink(const BleDfuSetup& setup);

}  // namespace smpkit::cli
