#pragma once
// The SMP GATT service (smp-protocol.md 8.2) over the link model's ATT bearer: one
// characteristic, Write Without Response from the central, notifications (only once the
// client has enabled them in the CCC) from the peripheral. Payload-agnostic: it moves ATT
// values of at most MTU - 3 octets; SMP fragmentation and reassembly live in
// smpkit::transport. Both classes register handlers on the Link and must not outlive it
// (nor be destroyed before it while it may still disconnect).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/ble/link.h"

namespace smpkit::ble {

inline constexpr std::string_view kSmpServiceUuid = "8D53DC1D-1DB7-4CD3-868B-8A527460AA84";
inline constexpr std::string_view kSmpCharacteristicUuid = "DA2E7828-FBCE-4E01-AE9E-261174997C48";

// A 128-bit UUID in ATT (little-endian) byte order, parsed from its text form.
// Errors: kInvalidArgument for anything but 8-4-4-4-12 hex digits.
Result<std::array<uint8_t, 16>> ParseUuid128(std::string_view text);

inline constexpr uint16_t kAttDefaultMtu = 23;
inline constexpr uint16_t kAttMaxMtu = 517;

// Attribute handles of the service in the simulated peripheral's database.
inline constexpr uint16_t kSmpServiceHandle = 0x0010;
inline constexpr uint16_t kSmpCharDeclHandle = 0x0011;
inline constexpr uint16_t kSmpValueHandle = 0x0012;
inline constexpr uint16_t kSmpCccHandle = 0x0013;

// ATT opcodes used here (Core spec Vol 3 Part F 3.4).
inline constexpr uint8_t kAttErrorRsp = 0x01;
inline constexpr uint8_t kAttExchangeMtuReq = 0x02;
inline constexpr uint8_t kAttExchangeMtuRsp = 0x03;
inline constexpr uint8_t kAttWriteReq = 0x12;
inline constexpr uint8_t kAttWriteRsp = 0x13;
inline constexpr uint8_t kAttHandleValueNtf = 0x1B;
inline constexpr uint8_t kAttWriteCmd = 0x52;

// Peripheral side.
class GattSmpServer {
 public:
  // `rx_mtu`: the largest ATT MTU this server accepts (23..517), e.g. 498 for smp_svr.
  GattSmpServer(Link& link, uint16_t rx_mtu);

  // Receives the value of every Write Without Response to the SMP characteristic.
  void SetWriteHandler(std::function<void(ConstByteSpan value)> handler) {
    on_write_ = std::move(handler);
  }
  // Sends one notification. Errors: kBadState when not connected or when the client has not
  // enabled notifications (the value is dropped and counted); kInvalidArgument for a value
  // above MTU - 3.
  Status Notify(ConstByteSpan value);

  // The characteristic's permissions (e.g. encryption required): `check` returns 0 when access
  // is allowed, else the ATT error code for a refused CCC write (0x05 insufficient
  // authentication, 0x0F insufficient encryption); refused Write Commands are dropped.
  void SetAccessCheck(std::function<uint8_t()> check) { access_check_ = std::move(check); }
  uint64_t refused_writes() const { return refused_writes_; }

  uint16_t mtu() const { return mtu_; }
  bool notifications_enabled() const { return (ccc_ & 0x0001) != 0; }
  uint64_t dropped_notifications() const { return dropped_; }

 private:
  void OnAtt(ConstByteSpan pdu);
  void SendError(uint8_t req_opcode, uint16_t handle, uint8_t code);
  Link& link_;
  uint16_t rx_mtu_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for the link's callbacks
  uint16_t mtu_ = kAttDefaultMtu;
  uint16_t ccc_ = 0;
  uint64_t dropped_ = 0;
  uint64_t refused_writes_ = 0;
  std::function<void(ConstByteSpan)> on_write_;
  std::function<uint8_t()> access_check_;
};

// Central side.
class GattSmpClient {
 public:
  GattSmpClient(Link& link, uint16_t rx_mtu);

  // ATT Exchange MTU; `done` gets the agreed MTU. Errors: kBusy while another ATT request is
  // outstanding; kBadState when not connected.
  Status ExchangeMtu(std::function<void(uint16_t mtu)> done = {});
  // Writes the CCC (0x0001 to enable, 0x0000 to disable). Errors: as ExchangeMtu.
  Status SetNotifications(bool enable, std::function<void()> done = {});
  // One ATT Write Command of `value`. Errors: kInvalidArgument above MTU - 3; kBadState when
  // not connected.
  Status WriteWithoutResponse(ConstByteSpan value);
  void SetNotificationHandler(std::function<void(ConstByteSpan value)> handler) {
    on_notification_ = std::move(handler);
  }

  uint16_t mtu() const { return mtu_; }
  size_t max_write() const { return mtu_ - 3u; }

 private:
  void OnAtt(ConstByteSpan pdu);
  Link& link_;
  uint16_t rx_mtu_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for the link's callbacks
  uint16_t mtu_ = kAttDefaultMtu;
  uint8_t pending_request_ = 0;  // opcode of the outstanding request, 0 if none
  std::function<void(uint16_t)> on_mtu_;
  std::function<void()> on_write_rsp_;
  std::function<void(ConstByteSpan)> on_notification_;
};

}  // namespace smpkit::ble
