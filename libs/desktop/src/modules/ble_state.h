#pragma once
// ble_state, with the Bluetooth host around it: enables Bluetooth once main is ready and
// reports it; takes a connection (a ble::Link from the phone) with its GATT SMP service and
// SMP transport, reports the peer (connected, secured, disconnected) and its connection
// parameters, keeps the device awake while connected, sends parameter update requests for
// the other modules (deferred past the post-connection window, one at a time) and, after that
// window, asks for the preferred parameters as Zephyr's host does.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "modules/context.h"
#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/smp_peripheral.h"

namespace smpkit::desktop::modules {

class BleState final : public BtHost {
 public:
  // What the connection's SMP transport serves.
  struct SmpService {
    size_t buf_size = 0;
    ble::SmpPeripheral::Handler handler;
    ble::SmpPeripheral::Registered registered;
  };
  // `gatt_servers` keeps every connection's GATT server (their handlers stay on old links);
  // `dropped_before` adds up the requests the connections' transports dropped.
  BleState(const Context& ctx, SmpService smp,
           std::vector<std::unique_ptr<ble::GattSmpServer>>& gatt_servers,
           const std::function<void(const ble::ConnParams&)>& params_observer,
           uint64_t& dropped_before);
  // Forgets the connection without touching the link (which may be gone); a power-off calls
  // Drop() first.
  ~BleState() override;
  BleState(const BleState&) = delete;
  BleState& operator=(const BleState&) = delete;

  // The phone's link, connected. Errors: kBadState (one already attached, not connected).
  Status Attach(ble::Link& link, std::optional<uint16_t> att_rx_mtu);
  // Drops the connection (the device resets or powers off).
  void Drop(uint8_t reason);
  // Pairing done: the link is encrypted.
  void SetSecured();
  // Requests the current connection's SMP transport dropped for want of a buffer.
  uint64_t transport_dropped() const {
    return smp_transport_ ? smp_transport_->dropped_no_buffer() : 0;
  }

  // BtHost
  const ble::Link* conn() const override { return link_; }
  Status RequestParams(const ble::ConnParamRequest& req) override;
  Status Disconnect() override;

 private:
  bool OnModuleState(const ModuleStateEvent& e);
  void OnLinkDown(uint8_t reason);
  void EndSmpTransport();
  void SendParams(const ble::ConnParamRequest& req);
  void WindowEnd();

  const Context& ctx_;
  SmpService smp_;
  std::vector<std::unique_ptr<ble::GattSmpServer>>& gatt_servers_;
  const std::function<void(const ble::ConnParams&)>& params_observer_;
  uint64_t& dropped_before_;
  bool ble_ready_ = false;
  ble::Link* link_ = nullptr;
  uint64_t link_gen_ = 0;
  ble::GattSmpServer* gatt_ = nullptr;
  std::unique_ptr<ble::SmpPeripheral> smp_transport_;  // smp_bt, one per connection
  sim::Time connected_at_{0};
  std::optional<ble::ConnParamRequest> deferred_req_;
  std::optional<ble::ConnParamRequest> queued_req_;
  bool req_in_flight_ = false;
  bool link_secured_ = false;
  sim::TaskId window_task_ = sim::kNoTask;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace smpkit::desktop::modules
