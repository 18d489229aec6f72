#include "modules/dfu.h"

#include <algorithm>
#include <array>
#include <string>
#include <variant>

#include "smpkit/mcuboot/image.h"

namespace smpkit::desktop::modules {

Dfu::Dfu(const Context& ctx, device::Device& dev, flash::Flash& flash, std::function<void()> reboot)
    : ctx_(ctx),
      dev_(dev),
      flash_(flash),
      reboot_(std::move(reboot)),
      dfu_timeout_(ctx.sched,
                   [this] {
                     ctx_.Log(ModuleId::kDfu, "DFU timed out");
                     Terminate();
                   }),
      reboot_work_(ctx.sched,
                   [this] {
                     if (transfer_open_) Terminate();
                     ctx_.Log(ModuleId::kDfu, "rebooting");
                     reboot_();
                   }),
      erase_work_(ctx.sched, [this] { EraseStep(); }),
      store_work_(ctx.sched, [this] { StoreStep(); }) {
  owner_.name = "Config Channel";
  owner_.id = kOwnerIdDfu;
  owner_.owner_changed = [this](const DfuLockOwner* n) {
    ctx_.Log(ModuleId::kDfu, "DFU lock taken by %s: slot must be erased before the next transfer",
             std::string(n->name).c_str());
    other_used_slot_ = true;
  };
  sync_buf_.resize(size_t{ctx_.cfg.sync_buffer_words} * 4);
  using M = ModuleId;
  EventBus& bus = ctx_.bus;
  bus.DeclareSource<ConfigEvent>(M::kDfu);
  bus.DeclareSource<PowerManagerRestrictEvent>(M::kDfu);
  bus.Subscribe<ModuleStateEvent>(M::kDfu, Priority::kNormal,
                                  [this](const ModuleStateEvent& e) { return OnModuleState(e); },
                                  {M::kMain});
  bus.Subscribe<ConfigEvent>(M::kDfu, Priority::kEarly,
                             [this](const ConfigEvent& e) { return OnConfig(e); },
                             {M::kConfigChannel});
  bus.Subscribe<HidReportEvent>(M::kDfu, Priority::kNormal, [this](const HidReportEvent&) {
    device_in_use_ = true;
    return false;
  });
  bus.Subscribe<BlePeerEvent>(M::kDfu, Priority::kNormal, [this](const BlePeerEvent&) {
    device_in_use_ = true;
    return false;
  });
}

const flash::Partition& Dfu::RunningSlot() {
  const auto& pair = dev_.layout().images[0];
  return dev_.bootloader().active_slot(0) == 0 ? pair.primary : pair.secondary;
}

const flash::Partition& Dfu::Slot() {
  const auto& pair = dev_.layout().images[0];
  return dev_.bootloader().active_slot(0) == 0 ? pair.secondary : pair.primary;
}

bool Dfu::Claim() {
  if (!ctx_.cfg.dfu_lock) return true;
  return ctx_.lock.Claim(owner_).ok();
}

void Dfu::Release() {
  if (!ctx_.cfg.dfu_lock || reboot_work_.IsPending()) return;
  (void)ctx_.lock.Release(owner_);
}

bool Dfu::OnModuleState(const ModuleStateEvent& e) {
  if (e.module != ModuleId::kMain || e.state != ModuleState::kReady) return false;
  if (!ctx_.cfg.direct_xip && ctx_.cfg.confirm_at_boot) {
    auto st = dev_.bootloader().ConfirmRunning(0);
    if (st.ok())
      ctx_.Log(ModuleId::kDfu, "running image confirmed");
    else
      ctx_.Log(ModuleId::kDfu, "image confirm failed: %s",
               std::string(st.error().message()).c_str());
  }
  if (!ctx_.cfg.dfu_lock) {
    ctx_.Log(ModuleId::kDfu, "background erase of the update slot");
  } else if (!ctx_.lock.Claim(owner_).ok()) {
    ctx_.Log(ModuleId::kDfu, "assertion: DFU lock not free at boot");
  } else {
    ctx_.Log(ModuleId::kDfu,
             "DFU lock taken by Config Channel: background erase of the update slot");
  }
  erase_offset_ = 0;
  erase_work_.Reschedule(sim::Duration(0));
  return false;
}

void Dfu::EraseStep() {
  if (device_in_use_) {
    device_in_use_ = false;
    ++erase_postponed_;
    ctx_.Log(ModuleId::kDfu, "device in use: background erase postponed by %.0f s",
             sim::ToSeconds(ctx_.tm.erase_postpone));
    erase_work_.Reschedule(ctx_.tm.erase_postpone);
    return;
  }
  const flash::Partition& slot = Slot();
  const uint32_t page = slot.page_size();
  const auto before = flash_.elapsed();
  sim::Duration cost = ctx_.tm.blank_check_per_page;
  auto blank = slot.IsErased(erase_offset_, page);
  Status st = blank.ok() ? Status() : Status(blank.error());
  if (st.ok() && !*blank) st = slot.ErasePage(erase_offset_);
  cost += flash_.elapsed() - before;
  if (!st.ok()) {
    ctx_.Log(ModuleId::kDfu, "background erase failed: %s",
             std::string(st.error().message()).c_str());
    Release();
    return;
  }
  erase_offset_ += page;
  if (erase_offset_ < slot.size()) {
    erase_work_.Reschedule(cost);
    return;
  }
  ctx_.Log(
      ModuleId::kDfu, "%s",
      ctx_.cfg.dfu_lock ? "secondary slot is clean; DFU lock released" : "secondary slot is clean");
  flash_clean_ = true;
  erase_offset_ = 0;
  Release();
}

void Dfu::Respond(const ConfigEvent& req, ConstByteSpan data, ConfigStatus status) {
  ConfigEvent rsp = req;
  rsp.is_request = false;
  rsp.status = status;
  rsp.SetPayload(data);
  ctx_.Submit(ModuleId::kDfu, rsp);
}

bool Dfu::OnConfig(const ConfigEvent& e) {
  if (!e.is_request || e.recipient != 0 || e.module_id != kConfigModIdDfu) return false;
  auto cmd = DecodeDfuCommand(e.option, e.status, e.payload());
  if (!cmd.ok()) {
    if (e.option == OptionField(DfuOption::kStart) && e.status == ConfigStatus::kSet &&
        cmd.error().code() == Errc::kTruncated) {
      ctx_.Log(ModuleId::kDfu, "start: %s (ignored)", std::string(cmd.error().message()).c_str());
      sync_offset_ = 0;
      Respond(e, {});
      return true;
    }
    ctx_.Log(ModuleId::kDfu, "config request rejected: %s",
             std::string(cmd.error().message()).c_str());
    Respond(e, {}, ConfigStatus::kReject);
    return true;
  }
  std::array<uint8_t, kConfigDataMax> out{};
  if (std::holds_alternative<DescriptorFetch>(*cmd)) {
    std::string_view s = descr_index_ == 0 ? kDfuModuleName
                         : descr_index_ <= kDfuOptionCount
                             ? DfuOptionName(static_cast<DfuOption>(descr_index_ - 1))
                             : std::string_view("\n");
    descr_index_ = descr_index_ > kDfuOptionCount ? 0 : descr_index_ + 1;
    Respond(e, ConstByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  } else if (std::holds_alternative<StartCommand>(*cmd)) {
    Start(e.payload());
    Respond(e, {});
  } else if (auto* d = std::get_if<DataCommand>(&*cmd)) {
    Data(d->data);
    Respond(e, {});
  } else {
    const DfuOption o = std::get<FetchCommand>(*cmd).option;
    size_t n = 0;
    switch (o) {
      case DfuOption::kSync: {
        n = EncodeSync(Sync(), out).value_or(0);
        break;
      }
      case DfuOption::kReboot: {
        // Era A's lock guards flash work only (dfu.rst of the era: lock before erasing or
        // transferring); the claim on reboot came with the newer lock (nrf-desktop.md §5.9).
        const bool can = ctx_.cfg.smp == SmpEra::kEraA || Claim();
        if (can) {
          ctx_.Restrict(ModuleId::kDfu, PowerLevel::kSuspended);
          reboot_work_.Reschedule(ctx_.tm.dfu_reboot_delay);
          ctx_.Log(ModuleId::kDfu, "reboot requested");
        } else {
          ctx_.Log(ModuleId::kDfu, "reboot refused: DFU lock held by another transport");
        }
        out[0] = can ? 1 : 0;
        n = 1;
        break;
      }
      case DfuOption::kFwInfo: {
        FwInfo fi;
        fi.slot = dev_.bootloader().active_slot(0);
        std::array<uint8_t, mcuboot::kImageHeaderSize> hb{};
        if (RunningSlot().Read(0, hb).ok()) {
          if (auto h = mcuboot::ImageHeader::Decode(hb); h.ok()) {
            fi.image_size = h->img_size;
            fi.major = h->version.major;
            fi.minor = h->version.minor;
            fi.revision = h->version.revision;
            fi.build = h->version.build;
          }
        }
        n = EncodeFwInfo(fi, out).value_or(0);
        break;
      }
      case DfuOption::kModuleVariant: {
        std::string_view v = ctx_.cfg.direct_xip ? "MCUBOOT+XIP" : "MCUBOOT";
        std::copy(v.begin(), v.end(), out.begin());
        n = v.size();
        break;
      }
      case DfuOption::kDevInfo:
        n = EncodeDevInfo(ctx_.cfg.vid, ctx_.cfg.pid, ctx_.cfg.generation, out).value_or(0);
        break;
      default:
        break;
    }
    Respond(e, ConstByteSpan(out.data(), n));
  }
  return true;
}

void Dfu::Start(ConstByteSpan data) {
  // dfu.c clears the RAM buffer first. A store still running would then compute
  // sync_offset_ - store_offset_ below zero (found by the config_dfu fuzzer): the buffer is gone,
  // so the store stops too.
  sync_offset_ = 0;
  store_offset_ = 0;
  store_work_.Cancel();
  auto s = DecodeStart(data);
  if (!s.ok()) return;
  if (!Claim()) {
    ctx_.Log(ModuleId::kDfu, "start refused: another DFU transport is active (lock held by %s)",
             ctx_.lock.owner() ? std::string(ctx_.lock.owner()->name).c_str() : "?");
    return;
  }
  if (other_used_slot_) {
    other_used_slot_ = false;
    flash_clean_ = false;
    cur_offset_ = img_length_ = img_csum_ = 0;
    erase_offset_ = 0;
    ctx_.Log(ModuleId::kDfu, "slot was used by another transport: erasing before the transfer");
    erase_work_.Reschedule(sim::Duration(0));
    return;
  }
  if (!flash_clean_) {
    ctx_.Log(ModuleId::kDfu, "start ignored: update slot not clean yet");
    return;
  }
  if (transfer_open_) {
    ctx_.Log(ModuleId::kDfu, "start ignored: transfer already open");
    return;
  }
  if (s->offset != 0) {
    if (s->offset != cur_offset_ || s->length != img_length_ || s->crc != img_csum_) {
      ctx_.Log(ModuleId::kDfu, "resume at %u refused: device has offset %u, length %u", s->offset,
               cur_offset_, img_length_);
      Release();
      return;
    }
  } else if (cur_offset_ != 0) {
    ctx_.Log(ModuleId::kDfu, "slot holds a partial image: erasing before a new transfer");
    flash_clean_ = false;
    cur_offset_ = img_length_ = img_csum_ = 0;
    erase_offset_ = 0;
    erase_work_.Reschedule(sim::Duration(0));
    return;
  } else {
    img_length_ = s->length;
    img_csum_ = s->crc;
  }
  if (img_length_ > Slot().size()) {
    ctx_.Log(ModuleId::kDfu, "image of %u bytes does not fit the %u-byte slot", img_length_,
             Slot().size());
    Terminate();
    return;
  }
  transfer_open_ = true;
  ctx_.Restrict(ModuleId::kDfu, PowerLevel::kSuspended);
  dfu_timeout_.Reschedule(ctx_.tm.dfu_timeout);
  ctx_.Log(ModuleId::kDfu, "DFU started at offset %u of %u bytes", cur_offset_, img_length_);
}

void Dfu::Data(ConstByteSpan data) {
  if (!flash_clean_ || !transfer_open_) {
    ctx_.Log(ModuleId::kDfu, "data ignored: no transfer open");
    return;
  }
  if (ctx_.cfg.smp != SmpEra::kEraA && !Claim())
    ctx_.Log(ModuleId::kDfu, "assertion: DFU lock lost during a transfer");
  if (data.empty()) {
    Terminate();
    return;
  }
  const size_t room = sync_buf_.size() - sync_offset_;
  const size_t n = std::min(room, data.size());
  std::copy_n(data.begin(), n, sync_buf_.begin() + sync_offset_);
  sync_offset_ += static_cast<uint32_t>(n);
  dfu_timeout_.Reschedule(ctx_.tm.dfu_timeout);
}

SyncInfo Dfu::Sync() {
  if (sync_offset_ > 0 && !store_work_.IsPending()) {
    store_offset_ = 0;
    store_work_.Reschedule(sim::Duration(0));
  }
  // Era A: four states, and a status poll does not touch the lock (the "other owner" state and
  // the opportunistic claim came with the newer lock, nrf-desktop.md §3, §5.12).
  const bool era_a = ctx_.cfg.smp == SmpEra::kEraA;
  const bool can = era_a || Claim();
  SyncInfo s;
  s.state = !can               ? SyncState::kActiveOther
            : !flash_clean_    ? SyncState::kCleaning
            : sync_offset_ > 0 ? SyncState::kStoring
            : transfer_open_   ? SyncState::kActiveConfigChannel
                               : SyncState::kInactive;
  s.length = img_length_;
  s.crc = img_csum_;
  s.offset = cur_offset_;
  s.buffer_size = static_cast<uint16_t>(std::min<size_t>(sync_buf_.size(), 0xffff));
  if (!era_a && can && !dfu_timeout_.IsPending() && !erase_work_.IsPending() &&
      !reboot_work_.IsPending())
    Release();
  return s;
}

Status Dfu::Write(uint32_t off, ConstByteSpan data) {
  // 1-byte write emulation: read-modify-write of the aligned words around the range.
  return Slot().WriteUnaligned(off, data);
}

void Dfu::StoreStep() {
  if (store_offset_ >= sync_offset_) {  // nothing (left) to store
    sync_offset_ = store_offset_ = 0;
    return;
  }
  if (device_in_use_) {
    device_in_use_ = false;  // skip this slot
  } else {
    const uint32_t remaining = sync_offset_ - store_offset_;
    uint32_t n = std::min<uint32_t>(16, remaining);
    if (remaining < 16 && remaining > 4) n = remaining & ~3u;
    auto st =
        Write(cur_offset_ + store_offset_, ConstByteSpan(sync_buf_.data() + store_offset_, n));
    if (!st.ok()) {
      ctx_.Log(ModuleId::kDfu, "store failed: %s", std::string(st.error().message()).c_str());
      Terminate();
      return;
    }
    store_offset_ += n;
  }
  if (store_offset_ < sync_offset_) {
    store_work_.Reschedule(ctx_.tm.store_period);
    dfu_timeout_.Reschedule(ctx_.tm.dfu_timeout);
    return;
  }
  cur_offset_ += sync_offset_;
  sync_offset_ = store_offset_ = 0;
  if (cur_offset_ == img_length_) {
    ctx_.Log(ModuleId::kDfu, "image written (%u bytes)", img_length_);
    if (!ctx_.cfg.direct_xip) {
      auto st = dev_.bootloader().RequestUpgrade(0, false);
      if (!st.ok())
        ctx_.Log(ModuleId::kDfu, "upgrade request failed: %s",
                 std::string(st.error().message()).c_str());
    }
    Terminate();
  }
}

void Dfu::Terminate() {
  transfer_open_ = false;
  dfu_timeout_.Cancel();
  store_work_.Cancel();
  sync_offset_ = 0;
  ctx_.Restrict(ModuleId::kDfu, PowerLevel::kMax);
  Release();
}

}  // namespace smpkit::desktop::modules
