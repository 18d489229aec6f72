#include "smpkit/ble/gatt_smp.h"

#include <algorithm>
#include <vector>

namespace smpkit::ble {
namespace {

constexpr uint8_t kAttErrInvalidHandle = 0x01;
constexpr uint8_t kAttErrRequestNotSupported = 0x06;
constexpr uint8_t kAttErrInvalidLength = 0x0D;

uint16_t ClampMtu(uint16_t mtu) { return std::clamp<uint16_t>(mtu, kAttDefaultMtu, kAttMaxMtu); }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::array<uint8_t, 16>> ParseUuid128(std::string_view text) {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return Error::Format(Errc::kInvalidArgument, "UUID '%.*s' is not 8-4-4-4-12 hex digits",
                         static_cast<int>(std::min<size_t>(text.size(), 40)), text.data());
  }
  std::array<uint8_t, 16> be{};
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    const int d = HexDigit(text[i]);
    if (d < 0) {
      return Error::Format(Errc::kInvalidArgument, "UUID has a non-hex character at %zu", i);
    }
    be[n / 2] = static_cast<uint8_t>(be[n / 2] << 4 | d);
    ++n;
  }
  std::array<uint8_t, 16> le{};
  for (size_t i = 0; i < 16; ++i) le[i] = be[15 - i];
  return le;
}

GattSmpServer::GattSmpServer(Link& link, uint16_t rx_mtu) : link_(link), rx_mtu_(ClampMtu(rx_mtu)) {
  // The link outlives this server: its callbacks check that the server still exists.
  link_.SetChannelHandler(Role::kPeripheral, kL2capAttCid,
                          [this, alive = std::weak_ptr<bool>(alive_)](ConstByteSpan pdu) {
                            if (!alive.expired()) OnAtt(pdu);
                          });
  link_.AddDisconnectListener([this, alive = std::weak_ptr<bool>(alive_)](uint8_t) {
    if (alive.expired()) return;
    mtu_ = kAttDefaultMtu;  // unbonded: CCC and MTU do not survive the connection
    ccc_ = 0;
  });
}

Status GattSmpServer::Notify(ConstByteSpan value) {
  if (!link_.connected()) return Error(Errc::kBadState, "not connected");
  if (!notifications_enabled()) {
    ++dropped_;
    return Error(Errc::kBadState, "notification dropped: client has not enabled the SMP CCC");
  }
  if (value.size() > mtu_ - 3u) {
    return Error::Format(Errc::kInvalidArgument, "notification of %zu octets above MTU %u - 3",
                         value.size(), mtu_);
  }
  std::vector<uint8_t> pdu(3 + value.size());
  pdu[0] = kAttHandleValueNtf;
  StoreLe16(&pdu[1], kSmpValueHandle);
  std::copy(value.begin(), value.end(), pdu.begin() + 3);
  return link_.SendL2cap(Role::kPeripheral, kL2capAttCid, pdu);
}

void GattSmpServer::SendError(uint8_t req_opcode, uint16_t handle, uint8_t code) {
  uint8_t rsp[5] = {kAttErrorRsp, req_opcode, 0, 0, code};
  StoreLe16(&rsp[2], handle);
  (void)link_.SendL2cap(Role::kPeripheral, kL2capAttCid, rsp);
}

void GattSmpServer::OnAtt(ConstByteSpan pdu) {
  if (pdu.empty()) return;
  const uint8_t op = pdu[0];
  if (pdu.size() > mtu_ && op != kAttExchangeMtuReq) return;  // larger than the bearer allows
  if (op == kAttExchangeMtuReq) {
    if (pdu.size() != 3) return SendError(op, 0, kAttErrInvalidLength);
    mtu_ = ClampMtu(std::min(LoadLe16(&pdu[1]), rx_mtu_));
    uint8_t rsp[3] = {kAttExchangeMtuRsp, 0, 0};
    StoreLe16(&rsp[1], rx_mtu_);
    (void)link_.SendL2cap(Role::kPeripheral, kL2capAttCid, rsp);
  } else if (op == kAttWriteReq) {
    if (pdu.size() < 3) return SendError(op, 0, kAttErrInvalidLength);
    const uint16_t handle = LoadLe16(&pdu[1]);
    if (handle != kSmpCccHandle) return SendError(op, handle, kAttErrInvalidHandle);
    if (pdu.size() != 5) return SendError(op, handle, kAttErrInvalidLength);
    if (const uint8_t err = access_check_ ? access_check_() : 0; err != 0)
      return SendError(op, handle, err);
    ccc_ = LoadLe16(&pdu[3]);
    uint8_t rsp[1] = {kAttWriteRsp};
    (void)link_.SendL2cap(Role::kPeripheral, kL2capAttCid, rsp);
  } else if (op == kAttWriteCmd) {
    if (pdu.size() < 3 || LoadLe16(&pdu[1]) != kSmpValueHandle) return;  // commands get no error
    if (access_check_ && access_check_() != 0) {
      ++refused_writes_;
      return;
    }
    if (on_write_) on_write_(pdu.subspan(3));
  } else if ((op & 0x40) == 0) {  // an unsupported request gets an error; commands are ignored
    SendError(op, 0, kAttErrRequestNotSupported);
  }
}

GattSmpClient::GattSmpClient(Link& link, uint16_t rx_mtu) : link_(link), rx_mtu_(ClampMtu(rx_mtu)) {
  // The link outlives this client (a phone detaches, the link terminates later): its
  // callbacks check that the client still exists.
  link_.SetChannelHandler(Role::kCentral, kL2capAttCid,
                          [this, alive = std::weak_ptr<bool>(alive_)](ConstByteSpan pdu) {
                            if (!alive.expired()) OnAtt(pdu);
                          });
  link_.AddDisconnectListener([this, alive = std::weak_ptr<bool>(alive_)](uint8_t) {
    if (alive.expired()) return;
    mtu_ = kAttDefaultMtu;
    pending_request_ = 0;
  });
}

Status GattSmpClient::ExchangeMtu(std::function<void(uint16_t)> done) {
  if (!link_.connected()) return Error(Errc::kBadState, "not connected");
  if (pending_request_ != 0) return Error(Errc::kBusy, "an ATT request is already outstanding");
  uint8_t req[3] = {kAttExchangeMtuReq, 0, 0};
  StoreLe16(&req[1], rx_mtu_);
  SMPKIT_TRY(link_.SendL2cap(Role::kCentral, kL2capAttCid, req));
  pending_request_ = kAttExchangeMtuReq;
  on_mtu_ = std::move(done);
  return Ok();
}

Status GattSmpClient::SetNotifications(bool enable, std::function<void()> done) {
  if (!link_.connected()) return Error(Errc::kBadState, "not connected");
  if (pending_request_ != 0) return Error(Errc::kBusy, "an ATT request is already outstanding");
  uint8_t req[5] = {kAttWriteReq, 0, 0, static_cast<uint8_t>(enable ? 1 : 0), 0};
  StoreLe16(&req[1], kSmpCccHandle);
  SMPKIT_TRY(link_.SendL2cap(Role::kCentral, kL2capAttCid, req));
  pending_request_ = kAttWriteReq;
  on_write_rsp_ = std::move(done);
  return Ok();
}

Status GattSmpClient::WriteWithoutResponse(ConstByteSpan value) {
  if (!link_.connected()) return Error(Errc::kBadState, "not connected");
  if (value.size() > max_write()) {
    return Error::Format(Errc::kInvalidArgument, "write of %zu octets above MTU %u - 3",
                         value.size(), mtu_);
  }
  std::vector<uint8_t> pdu(3 + value.size());
  pdu[0] = kAttWriteCmd;
  StoreLe16(&pdu[1], kSmpValueHandle);
  std::copy(value.begin(), value.end(), pdu.begin() + 3);
  return link_.SendL2cap(Role::kCentral, kL2capAttCid, pdu);
}

void GattSmpClient::OnAtt(ConstByteSpan pdu) {
  if (pdu.empty()) return;
  const uint8_t op = pdu[0];
  if (op == kAttHandleValueNtf) {
    if (pdu.size() >= 3 && LoadLe16(&pdu[1]) == kSmpValueHandle && on_notification_) {
      on_notification_(pdu.subspan(3));
    }
  } else if (op == kAttExchangeMtuRsp && pending_request_ == kAttExchangeMtuReq &&
             pdu.size() == 3) {
    pending_request_ = 0;
    mtu_ = ClampMtu(std::min(LoadLe16(&pdu[1]), rx_mtu_));
    if (auto cb = std::move(on_mtu_)) cb(mtu_);
  } else if ((op == kAttWriteRsp || op == kAttErrorRsp) && pending_request_ == kAttWriteReq) {
    pending_request_ = 0;
    if (auto cb = std::move(on_write_rsp_); cb && op == kAttWriteRsp) cb();
  } else if (op == kAttErrorRsp) {
    pending_request_ = 0;
  }
}

}  // namespace smpkit::ble
