#pragma once
// smp: nRF Desktop's SMP module, in both eras. The seed's (Era A, smp.c): registers the
// upload callback and the image group at boot and the SMP Bluetooth service once ble_state is
// ready; the first chunk of an upload takes the DFU lock until reboot (an upload is rejected
// while the config-channel DFU holds it); every chunk submits a ble_smp_transfer_event. The
// newer dfu_mcumgr: claims the lock for each DFU command (upload, image state, reset),
// releases it after CONFIG_DESKTOP_DFU_MCUMGR_MCUBOOT lock hold time without commands,
// submits one transfer event at a time and confirms the running image at boot.

#include "modules/context.h"
#include "smpkit/device/device.h"
#include "smpkit/mgmt/img_group.h"

namespace smpkit::desktop::modules {

class Smp {
 public:
  Smp(const Context& ctx, BtHost& host, device::Device& dev);
  Smp(const Smp&) = delete;
  Smp& operator=(const Smp&) = delete;

  // The device's MCUmgr callbacks (the upload-confirm callback and the DFU notifications).
  smp::Outcome OnUploadChunk(const mgmt::UploadCheck& c);
  void OnDfuEvent(mgmt::DfuEvent e);
  smp::Outcome OnReset();

  bool service_registered() const { return service_registered_; }  // smp_bt_register() done
  bool started() const { return started_; }                        // Era A: lock taken

 private:
  bool OnModuleState(const ModuleStateEvent& e);
  smp::Outcome McumgrDfuCommand(bool may_transfer, bool answer_honoured = true);
  void SubmitTransfer();

  const Context& ctx_;
  BtHost& host_;
  device::Device& dev_;
  DfuLockOwner owner_;
  bool hooks_registered_ = false;
  bool service_registered_ = false;
  bool started_ = false;       // Era A
  bool event_active_ = false;  // newer era: one transfer event in flight
  sim::DelayableWork timeout_;
};

}  // namespace smpkit::desktop::modules
