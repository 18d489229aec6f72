#include "smpkit/desktop/config_dfu_host.h"

#include <algorithm>
#include <array>

namespace smpkit::desktop {

ConfigDfuHost::ConfigDfuHost(sim::Scheduler& scheduler, DesktopDevice& device,
                             ConfigDfuHostOptions options)
    : scheduler_(scheduler), device_(device), opt_(options) {}

void ConfigDfuHost::Request(ConfigStatus status, uint8_t option_field, ConstByteSpan data,
                            std::function<void(Result<ConfigEvent>)> cb) {
  ConfigEvent e;
  e.transport_id = opt_.transport_id;
  e.is_request = true;
  e.recipient = 0;
  e.module_id = kConfigModIdDfu;
  e.option = option_field;
  e.status = status;
  e.SetPayload(data);
  const bool sent = device_.ConfigRequest(
      e,
      [cb](const ConfigEvent& rsp) {
        if (rsp.status != ConfigStatus::kSuccess) {
          cb(Error::Format(Errc::kRemote, "config request for option %u answered with status %u",
                           rsp.option, static_cast<unsigned>(rsp.status)));
          return;
        }
        cb(rsp);
      },
      opt_.report_delay);
  if (!sent)
    cb(Error(Errc::kBadState, "config channel unavailable (device off or request pending)"));
}

void ConfigDfuHost::Fetch(DfuOption option, std::function<void(Result<ConfigEvent>)> cb) {
  Request(ConfigStatus::kFetch, OptionField(option), {}, std::move(cb));
}

void ConfigDfuHost::Set(DfuOption option, ConstByteSpan data,
                        std::function<void(Result<ConfigEvent>)> cb) {
  Request(ConfigStatus::kSet, OptionField(option), data, std::move(cb));
}

void ConfigDfuHost::Sync(std::function<void(Result<SyncInfo>)> cb) {
  ++result_.sync_fetches;
  Fetch(DfuOption::kSync, [cb](Result<ConfigEvent> r) {
    if (!r.ok()) return cb(r.error());
    cb(DecodeSync(r->payload()));
  });
}

void ConfigDfuHost::Fail(Error e) {
  busy_ = false;
  if (done_) {
    auto d = std::move(done_);
    done_ = nullptr;
    d(std::move(e));
  }
}

void ConfigDfuHost::Run(std::vector<uint8_t> image, Done done) {
  image_ = std::move(image);
  done_ = std::move(done);
  busy_ = true;
  result_ = ConfigDfuResult{};
  result_.started = scheduler_.Now();
  crc_ = Crc32(image_, kDfuCrcSeed);
  offset_ = 0;
  storing_retries_ = 0;
  start_attempts_ = 0;
  busy_since_ = scheduler_.Now();
  WaitNotBusy();
}

void ConfigDfuHost::WaitNotBusy() {
  Sync([this](Result<SyncInfo> s) {
    if (!s.ok()) return Fail(s.error());
    if (s->state == SyncState::kCleaning || s->state == SyncState::kActiveOther ||
        s->state == SyncState::kStoring) {
      if (scheduler_.Now() - busy_since_ >= opt_.busy_timeout) {
        if (s->state == SyncState::kActiveOther)
          return Fail(
              Error(Errc::kBusy, "another DFU transport holds the DFU lock (sync state 4)"));
        return Fail(Error::Format(Errc::kTimeout, "device stayed busy (sync state %u)",
                                  static_cast<unsigned>(s->state)));
      }
      scheduler_.PostAfter(opt_.busy_poll, [this] { WaitNotBusy(); });
      return;
    }
    buffer_size_ = s->buffer_size == 0 ? 512 : s->buffer_size;
    const bool same = s->length == image_.size() && s->crc == crc_ && s->offset <= s->length;
    offset_ = same ? s->offset : 0;
    result_.resumed_from = offset_;
    SendStart();
  });
}

void ConfigDfuHost::SendStart() {
  // A device of the seed's era reports no "other owner" state: a start it refuses because
  // another transport holds the DFU lock just leaves it inactive.
  if (++start_attempts_ > 5)
    return Fail(Error(Errc::kBusy,
                      "device refused the start 5 times (sync state 0): another DFU transport "
                      "may hold the DFU lock"));
  std::array<uint8_t, kStartSize> buf{};
  StartCommand s{static_cast<uint32_t>(image_.size()), crc_, offset_};
  (void)EncodeStart(s, buf);
  Set(DfuOption::kStart, buf, [this](Result<ConfigEvent> r) {
    if (!r.ok()) return Fail(r.error());
    busy_since_ = scheduler_.Now();
    AfterStart();
  });
}

void ConfigDfuHost::AfterStart() {
  Sync([this](Result<SyncInfo> s) {
    if (!s.ok()) return Fail(s.error());
    switch (s->state) {
      case SyncState::kActiveConfigChannel:
      case SyncState::kStoring:
        checkpoint_ = std::min<uint32_t>(static_cast<uint32_t>(image_.size()),
                                         (offset_ / buffer_size_ + 1) * buffer_size_);
        return SendData();
      case SyncState::kCleaning:
        if (scheduler_.Now() - busy_since_ >= opt_.busy_timeout)
          return Fail(Error(Errc::kTimeout, "device kept erasing"));
        // The device erased a stale slot: start again from 0 once it is clean.
        offset_ = 0;
        scheduler_.PostAfter(opt_.busy_poll, [this] { AfterStart(); });
        return;
      case SyncState::kActiveOther:
        return Fail(Error(
            Errc::kBusy, "start refused: another DFU transport holds the DFU lock (sync state 4)"));
      case SyncState::kInactive:
        return SendStart();
    }
  });
}

void ConfigDfuHost::SendData() {
  if (offset_ >= checkpoint_) return Checkpoint();
  const uint32_t n = std::min<uint32_t>(kMaxDataPerReport, checkpoint_ - offset_);
  Set(DfuOption::kData, ConstByteSpan(image_.data() + offset_, n),
      [this, n](Result<ConfigEvent> r) {
        if (!r.ok()) return Fail(r.error());
        offset_ += n;
        ++result_.data_reports;
        SendData();
      });
}

void ConfigDfuHost::Checkpoint() {
  Sync([this](Result<SyncInfo> s) {
    if (!s.ok()) return Fail(s.error());
    if (s->length != image_.size() || s->crc != crc_)
      return Fail(Error(Errc::kCorrupt, "device reports another image during the transfer"));
    if (s->state == SyncState::kStoring) {
      ++storing_retries_;
      sim::Duration sleep = opt_.storing_sleep * (1 << std::min<uint32_t>(storing_retries_ / 8, 2));
      sleep = std::min<sim::Duration>(sleep, sim::Ms(1000));
      scheduler_.PostAfter(sleep, [this] { Checkpoint(); });
      return;
    }
    storing_retries_ = 0;
    if (s->offset != offset_)
      return Fail(
          Error::Format(Errc::kCorrupt, "device offset %u, host offset %u", s->offset, offset_));
    if (offset_ == image_.size()) return Finish();
    if (s->state != SyncState::kActiveConfigChannel)
      return Fail(Error::Format(Errc::kRemote, "transfer interrupted at offset %u (sync state %u)",
                                offset_, static_cast<unsigned>(s->state)));
    checkpoint_ =
        std::min<uint32_t>(static_cast<uint32_t>(image_.size()), checkpoint_ + buffer_size_);
    SendData();
  });
}

void ConfigDfuHost::Finish() {
  if (!opt_.reboot) {
    busy_ = false;
    result_.finished = scheduler_.Now();
    auto d = std::move(done_);
    done_ = nullptr;
    if (d) d(result_);
    return;
  }
  Fetch(DfuOption::kReboot, [this](Result<ConfigEvent> r) {
    if (!r.ok()) return Fail(r.error());
    if (r->data_len < 1 || r->data[0] != 1)
      return Fail(
          Error(Errc::kAccessDenied, "reboot refused: the DFU lock is held by another transport"));
    result_.rebooted = true;
    result_.finished = scheduler_.Now();
    busy_ = false;
    auto d = std::move(done_);
    done_ = nullptr;
    if (d) d(result_);
  });
}

}  // namespace smpkit::desktop
