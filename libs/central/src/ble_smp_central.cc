#include "smpkit/central/ble_smp_central.h"

namespace smpkit::central {

Status BleSmpCentral::Attach(ble::Link& link, std::function<void()> ready) {
  if (!link.connected()) return Error(Errc::kBadState, "cannot attach: the link is not connected");
  Detach();
  link_ = &link;
  gatt_ = std::make_unique<ble::GattSmpClient>(link, rx_mtu_);
  gatt_->SetNotificationHandler([this](ConstByteSpan value) {
    auto r = reasm_.Feed(value);
    if (r.ok() && r->has_value() && on_packet_) on_packet_(**r);
  });
  return gatt_->ExchangeMtu([this, ready = std::move(ready)](uint16_t) mutable {
    (void)gatt_->SetNotifications(true, [this, ready = std::move(ready)] {
      ready_ = true;
      if (ready) ready();
    });
  });
}

void BleSmpCentral::Detach() {
  ready_ = false;
  gatt_.reset();
  link_ = nullptr;
  reasm_.Reset();
}

Status BleSmpCentral::Send(ConstByteSpan packet) {
  if (!ready_ || !link_ || !link_->connected()) return Ok();  // lost: the session retries
  SMPKIT_ASSIGN_OR_RETURN(auto frag, transport::BleFragmenter::Create(packet, gatt_->mtu()));
  while (!frag.Done()) SMPKIT_TRY(gatt_->WriteWithoutResponse(frag.Next()));
  return Ok();
}

client::LinkInfo BleSmpCentral::Info() const {
  client::LinkInfo info;
  info.mtu = gatt_ ? gatt_->max_write() : ble::kAttDefaultMtu - 3u;
  info.reassembles = true;
  return info;
}

}  // namespace smpkit::central
