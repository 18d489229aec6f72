#pragma once
// The phone's side of SMP over Bluetooth LE: a GATT SMP client on the central end of a
// simulated ble::Link, offered to the SMP client session as a client::Link. Requests are
// split into ATT Write Commands of MTU - 3 bytes (the server reassembles, "SMP reassembly"
// in nRF Connect Device Manager); notifications are reassembled by the SMP length field.
// Survives reconnects: Attach() a new link after the device rebooted.

#include <array>
#include <functional>
#include <memory>

#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/link.h"
#include "smpkit/client/link.h"
#include "smpkit/transport/ble_sar.h"

namespace smpkit::central {

class BleSmpCentral final : public client::Link {
 public:
  // `rx_mtu`: the ATT MTU the phone offers (e.g. 498 with data length extension).
  explicit BleSmpCentral(uint16_t rx_mtu = 498) : rx_mtu_(rx_mtu) {}

  // Starts using a connected link: ATT MTU exchange, then enabling notifications (CCC);
  // `ready` runs once both are done. Errors: kBadState if the link is not connected.
  Status Attach(ble::Link& link, std::function<void()> ready = {});
  // Forgets the link (after a disconnect). Packets sent meanwhile are lost, not errors.
  void Detach();
  bool ready() const { return ready_; }
  uint16_t mtu() const { return gatt_ ? gatt_->mtu() : 0; }

  // client::Link
  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { on_packet_ = std::move(handler); }
  client::LinkInfo Info() const override;

 private:
  uint16_t rx_mtu_;
  ble::Link* link_ = nullptr;
  std::unique_ptr<ble::GattSmpClient> gatt_;
  bool ready_ = false;
  std::array<uint8_t, 16384> reasm_buf_{};
  transport::BleReassembler reasm_{reasm_buf_};
  ReceiveHandler on_packet_;
};

}  // namespace smpkit::central
