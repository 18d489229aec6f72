#pragma once
// ble_latency: lowers the peripheral latency to 0 while SMP or config-channel DFU traffic
// flows (ble_smp_transfer_event, config_event), restores the preferred latency once it stops
// (checked every CONFIG_DESKTOP_BLE_LOW_LATENCY_CHECK_PERIOD), keeps LLPM links at low latency
// while the device is awake (low latency lock), and disconnects a peer that does not secure
// the link in time.

#include "modules/context.h"

namespace smpkit::desktop::modules {

class BleLatency {
 public:
  BleLatency(const Context& ctx, BtHost& host);
  BleLatency(const BleLatency&) = delete;
  BleLatency& operator=(const BleLatency&) = delete;

  bool enabled() const { return enabled_; }    // low latency in use
  bool required() const { return required_; }  // traffic since the last check
  bool secured() const { return secured_; }

 private:
  bool OnPeer(const BlePeerEvent& e);
  bool OnParams(const BlePeerConnParamsEvent& e);
  void UseLowLatency();
  void SetConnLatency(bool low);
  void Check();

  const Context& ctx_;
  BtHost& host_;
  bool enabled_ = false, required_ = false, locked_ = false, llpm_ = false;
  bool connected_ = false, secured_ = false;
  sim::DelayableWork security_timeout_;
  sim::DelayableWork latency_check_;
};

}  // namespace smpkit::desktop::modules
