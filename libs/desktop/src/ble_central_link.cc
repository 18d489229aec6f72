#include "smpkit/desktop/ble_central_link.h"

namespace smpkit::desktop {

BleCentralLink::BleCentralLink(ble::Link& link, uint16_t rx_mtu)
    : link_(link), gatt_(link, rx_mtu) {
  gatt_.SetNotificationHandler([this](ConstByteSpan value) {
    auto r = reassembler_.Feed(value);
    if (!r.ok()) {
      ++reassembly_errors_;
      return;
    }
    if (r->has_value() && handler_) handler_(**r);
  });
}

Status BleCentralLink::Start(std::function<void()> done) {
  return gatt_.ExchangeMtu([this, done = std::move(done)](uint16_t) mutable {
    auto st = gatt_.SetNotifications(true, [this, done = std::move(done)] {
      ready_ = true;
      if (done) done();
    });
    (void)st;  // only fails when the link went down meanwhile
  });
}

Status BleCentralLink::Send(ConstByteSpan packet) {
  if (!link_.connected()) return Error(Errc::kIo, "BLE link is down");
  if (packet.size() > 65535 + transport::kSmpHeaderSize)
    return Error::Format(Errc::kNoSpace, "SMP packet of %zu bytes exceeds 65543", packet.size());
  SMPKIT_ASSIGN_OR_RETURN(auto frag, transport::BleFragmenter::Create(packet, gatt_.mtu()));
  while (!frag.Done()) {
    auto st = gatt_.WriteWithoutResponse(frag.Next());
    if (!st.ok())
      return Error::Format(Errc::kIo, "GATT write: %s", std::string(st.error().message()).c_str());
  }
  return Ok();
}

}  // namespace smpkit::desktop
