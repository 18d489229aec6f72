#pragma once
// In-process links to a simulated device::Device on an Executor, for tests, the `sim:`
// connection and benchmarks: packets (as over UDP) or a serial console byte stream (with
// optional corrupted lines and log output interleaved). They perform the device's reset:
// reset_delay after an accepted OS reset the device reboots (Device::Boot()), losing
// packets meanwhile.

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "smpkit/client/link.h"
#include "smpkit/client/serial_link.h"
#include "smpkit/device/device.h"

namespace smpkit::simlink {

struct DeviceLinkConfig {
  client::Duration latency = std::chrono::microseconds(50);  // one way
  size_t mtu = 1500;                                         // packet link: one datagram
};

// Shared: runs the device and its resets.
class DeviceRunner : public smp::ResponseSink {
 public:
  DeviceRunner(device::Device& device, client::Executor& executor);
  ~DeviceRunner() override;
  // Feeds one packet; responses go to `on_response`.
  void Handle(ConstByteSpan packet, const std::function<void(ConstByteSpan)>& on_response);
  uint32_t reboots() const { return reboots_; }

 private:
  void SendResponse(ConstByteSpan frame) override;
  device::Device& device_;
  client::Executor& executor_;
  const std::function<void(ConstByteSpan)>* sink_ = nullptr;
  bool reboot_scheduled_ = false;
  uint32_t reboots_ = 0;
  std::shared_ptr<bool> alive_;
};

class DevicePacketLink final : public client::Link {
 public:
  DevicePacketLink(device::Device& device, client::Executor& executor,
                   DeviceLinkConfig config = {});
  ~DevicePacketLink() override;
  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { handler_ = std::move(handler); }
  client::LinkInfo Info() const override { return {config_.mtu, false, 0}; }
  DeviceRunner& runner() { return runner_; }

 private:
  DeviceRunner runner_;
  client::Executor& executor_;
  DeviceLinkConfig config_;
  ReceiveHandler handler_;
  std::shared_ptr<bool> alive_;
};

struct SerialLineFaults {
  double corrupt_line = 0;  // probability a line (either direction) gets one byte flipped
  double drop_line = 0;     // probability a line is lost
  bool log_lines = false;   // the device prints log lines between its SMP lines
  uint64_t seed = 1;
};

// The host end of a simulated serial line to the device (a ByteStream for SerialLink).
class DeviceSerialStream final : public client::ByteStream {
 public:
  DeviceSerialStream(device::Device& device, client::Executor& executor,
                     SerialLineFaults faults = {}, DeviceLinkConfig config = {});
  ~DeviceSerialStream() override;
  Status Write(ConstByteSpan bytes) override;
  void SetReadHandler(ReadHandler handler) override { handler_ = std::move(handler); }
  uint64_t corrupted_lines() const { return corrupted_; }

 private:
  // Applies line faults to `bytes` (whole lines) and returns what arrives.
  std::vector<uint8_t> Mangle(ConstByteSpan bytes);
  void DeviceReceive(std::vector<uint8_t> bytes);

  DeviceRunner runner_;
  client::Executor& executor_;
  SerialLineFaults faults_;
  DeviceLinkConfig config_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> decode_buffer_;
  transport::SerialDecoder decoder_;
  ReadHandler handler_;
  uint64_t corrupted_ = 0;
  uint64_t log_counter_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace smpkit::simlink
