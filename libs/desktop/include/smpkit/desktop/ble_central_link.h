#pragma once
// A phone's side of SMP over BLE, as a client::Link: the GATT SMP client of libs/ble on the
// central side of a ble::Link (ATT MTU exchange, notifications enabled in the CCC), SMP packets
// split into Write Without Response commands and reassembled from notifications
// (smp-protocol.md §8.2). Lets the libs/client session (uploader, upgrade flow) drive the
// simulated nRF Desktop device over the link model on virtual time.

#include <cstdint>
#include <functional>
#include <vector>

#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/link.h"
#include "smpkit/client/link.h"
#include "smpkit/transport/ble_sar.h"

namespace smpkit::desktop {

class BleCentralLink : public client::Link {
 public:
  // `link` must be connected and outlive this object. `rx_mtu`: the ATT MTU the phone offers.
  explicit BleCentralLink(ble::Link& link, uint16_t rx_mtu = 498);

  // Exchanges the MTU, then enables notifications; `done` runs when both completed.
  // Errors: those of the GATT client (kBadState when not connected, kBusy).
  Status Start(std::function<void()> done = {});
  bool ready() const { return ready_; }

  // Errors: kIo when the link is down, kNoSpace above 65535 bytes.
  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { handler_ = std::move(handler); }
  // One GATT write carries MTU - 3 bytes; the SMP transport reassembles larger packets.
  client::LinkInfo Info() const override { return {gatt_.max_write(), true, 0}; }

  uint64_t reassembly_errors() const { return reassembly_errors_; }

 private:
  ble::Link& link_;
  ble::GattSmpClient gatt_;
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(65535 + transport::kSmpHeaderSize);
  transport::BleReassembler reassembler_{buffer_};
  ReceiveHandler handler_;
  bool ready_ = false;
  uint64_t reassembly_errors_ = 0;
};

}  // namespace smpkit::desktop
