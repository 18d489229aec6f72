#include "smpkit/ble/smp_peripheral.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace smpkit::ble {

SmpPeripheral::SmpPeripheral(sim::Scheduler& scheduler, Link& link, GattSmpServer& gatt,
                             SmpPeripheralConfig config, Handler handler, Registered registered,
                             Log log)
    : sched_(scheduler),
      link_(link),
      gatt_(gatt),
      config_(config),
      handler_(std::move(handler)),
      registered_(std::move(registered)),
      log_(std::move(log)),
      reasm_buf_(config.buf_size),
      reasm_(reasm_buf_) {
  std::weak_ptr<bool> guard = alive_;
  gatt_.SetWriteHandler([this, guard](ConstByteSpan v) {
    if (!guard.expired()) OnWrite(v);
  });
}

SmpPeripheral::~SmpPeripheral() {
  *alive_ = false;
  gatt_.SetWriteHandler({});
}

void SmpPeripheral::OnWrite(ConstByteSpan value) {
  if (registered_ && !registered_()) return;  // no such service yet
  auto r = reasm_.Feed(value);
  if (!r.ok()) {
    if (log_) log_(fmt::format("SMP reassembly: {}", r.error().message()));
    return;
  }
  if (!r->has_value()) return;
  // Each request holds one of the buffers until it is answered; with none free the transport
  // drops it (smp_bt's allocation fails) and the client must retransmit.
  if (in_use_ >= config_.buf_count) {
    if ((dropped_++ == 0 || dropped_ % 100 == 0) && log_) {
      log_(fmt::format("no free SMP buffer ({} in use): request dropped ({} so far)", in_use_,
                       dropped_));
    }
    return;
  }
  ++in_use_;
  auto frames = std::make_shared<smp::FrameCollector>();
  const Work work = handler_(**r, *frames);
  // The CPU work runs alongside the radio; only flash operations need the radio to be idle
  // (the SoftDevice grants flash timeslots between radio events). Answers keep request order:
  // once a flash job is queued, later answers queue behind it.
  std::weak_ptr<bool> guard = alive_;
  auto respond = [this, guard, frames] {
    if (!guard.expired()) Respond(*frames);
  };
  sched_.PostAfter(config_.cpu_time, [this, guard, work, respond] {
    if (guard.expired() || !link_.connected()) return;
    if (work.flash == sim::Duration(0) && !link_.processing_busy()) {
      respond();
      return;
    }
    const sim::Duration erase = std::min(work.erase, work.flash);
    if (erase > sim::Duration(0)) link_.RunBetweenRadioEvents(erase, {}, config_.erase_slice);
    link_.RunBetweenRadioEvents(work.flash - erase, respond);
  });
}

void SmpPeripheral::Respond(const smp::FrameCollector& frames) {
  if (in_use_ > 0) --in_use_;
  for (const auto& f : frames.frames) {
    auto frag = transport::BleFragmenter::Create(f, gatt_.mtu());
    if (!frag.ok()) continue;
    while (!frag->Done()) {
      auto st = gatt_.Notify(frag->Next());
      if (!st.ok()) {
        if (log_) log_(fmt::format("notify: {}", st.error().message()));
        break;
      }
    }
  }
}

}  // namespace smpkit::ble
