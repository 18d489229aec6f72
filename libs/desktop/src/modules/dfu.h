#pragma once
// dfu: nRF Desktop's config-channel DFU module. At boot it confirms the running image and
// erases the update slot in the background (postponed while the device is in use), holding
// the DFU lock meanwhile; it takes an image over the config channel (start, data into a RAM
// sync buffer, sync stores it to flash in small steps between other work), answers fwinfo,
// devinfo, variant and the module descriptor, marks the image for MCUboot and reboots on
// request.

#include <cstdint>
#include <functional>
#include <vector>

#include "modules/context.h"
#include "smpkit/desktop/config_dfu.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/flash.h"

namespace smpkit::desktop::modules {

class Dfu {
 public:
  // `reboot` restarts the device (after the reboot delay); it is called from the scheduler,
  // never while this module is on the stack.
  Dfu(const Context& ctx, device::Device& dev, flash::Flash& flash, std::function<void()> reboot);
  Dfu(const Dfu&) = delete;
  Dfu& operator=(const Dfu&) = delete;

  bool flash_clean() const { return flash_clean_; }
  bool erase_pending() const { return erase_work_.IsPending(); }
  bool transfer_open() const { return transfer_open_; }
  bool reboot_pending() const { return reboot_work_.IsPending(); }
  bool other_transport_used_slot() const { return other_used_slot_; }
  uint32_t cur_offset() const { return cur_offset_; }
  uint32_t sync_offset() const { return sync_offset_; }
  uint32_t erase_postponed() const { return erase_postponed_; }

 private:
  bool OnModuleState(const ModuleStateEvent& e);
  bool OnConfig(const ConfigEvent& e);
  void Respond(const ConfigEvent& req, ConstByteSpan data,
               ConfigStatus status = ConfigStatus::kSuccess);
  bool Claim();
  void Release();
  void EraseStep();
  void StoreStep();
  void Start(ConstByteSpan data);
  void Data(ConstByteSpan data);
  SyncInfo Sync();
  void Terminate();
  Status Write(uint32_t off, ConstByteSpan data);
  const flash::Partition& Slot();
  const flash::Partition& RunningSlot();

  const Context& ctx_;
  device::Device& dev_;
  flash::Flash& flash_;
  std::function<void()> reboot_;
  DfuLockOwner owner_;
  sim::DelayableWork dfu_timeout_;
  sim::DelayableWork reboot_work_;
  sim::DelayableWork erase_work_;
  sim::DelayableWork store_work_;
  bool transfer_open_ = false;
  uint32_t cur_offset_ = 0, img_csum_ = 0, img_length_ = 0;
  uint32_t sync_offset_ = 0, store_offset_ = 0, erase_offset_ = 0;
  bool device_in_use_ = false;
  bool flash_clean_ = false;
  bool other_used_slot_ = false;
  uint32_t erase_postponed_ = 0;
  size_t descr_index_ = 0;
  std::vector<uint8_t> sync_buf_;
};

}  // namespace smpkit::desktop::modules
