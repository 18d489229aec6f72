#include "smpkit/simlink/device_link.h"

#include <string>

namespace smpkit::simlink {

DeviceRunner::DeviceRunner(device::Device& device, client::Executor& executor)
    : device_(device), executor_(executor), alive_(std::make_shared<bool>(true)) {}

DeviceRunner::~DeviceRunner() { *alive_ = false; }

void DeviceRunner::Handle(ConstByteSpan packet,
                          const std::function<void(ConstByteSpan)>& on_response) {
  sink_ = &on_response;
  device_.HandlePacket(packet, *this);
  sink_ = nullptr;
  const auto reboot = device_.PendingReboot();
  if (reboot && !reboot_scheduled_) {
    reboot_scheduled_ = true;
    std::weak_ptr<bool> alive = alive_;
    executor_.PostAfter(*reboot, [this, alive] {
      if (auto a = alive.lock(); !a || !*a) return;
      reboot_scheduled_ = false;
      ++reboots_;
      (void)device_.Boot();
    });
  }
}

void DeviceRunner::SendResponse(ConstByteSpan frame) {
  if (sink_) (*sink_)(frame);
}

DevicePacketLink::DevicePacketLink(device::Device& device, client::Executor& executor,
                                   DeviceLinkConfig config)
    : runner_(device, executor),
      executor_(executor),
      config_(config),
      alive_(std::make_shared<bool>(true)) {}

DevicePacketLink::~DevicePacketLink() { *alive_ = false; }

Status DevicePacketLink::Send(ConstByteSpan packet) {
  if (packet.size() > config_.mtu) {
    return Error::Format(Errc::kNoSpace, "packet of %zu bytes exceeds the link MTU %zu",
                         packet.size(), config_.mtu);
  }
  std::weak_ptr<bool> alive = alive_;
  executor_.PostAfter(
      config_.latency, [this, alive, p = std::vector<uint8_t>(packet.begin(), packet.end())] {
        if (auto a = alive.lock(); !a || !*a) return;
        runner_.Handle(p, [this, alive](ConstByteSpan response) {
          executor_.PostAfter(
              config_.latency,
              [this, alive, r = std::vector<uint8_t>(response.begin(), response.end())] {
                if (auto a2 = alive.lock(); !a2 || !*a2) return;
                if (handler_) handler_(r);
              });
        });
      });
  return {};
}

DeviceSerialStream::DeviceSerialStream(device::Device& device, client::Executor& executor,
                                       SerialLineFaults faults, DeviceLinkConfig config)
    : runner_(device, executor),
      executor_(executor),
      faults_(faults),
      config_(config),
      rng_(faults.seed),
      decode_buffer_(transport::kSerialMaxPacketSize + 2),
      decoder_(decode_buffer_),
      alive_(std::make_shared<bool>(true)) {}

DeviceSerialStream::~DeviceSerialStream() { *alive_ = false; }

std::vector<uint8_t> DeviceSerialStream::Mangle(ConstByteSpan bytes) {
  std::vector<uint8_t> out;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  size_t start = 0;
  while (start < bytes.size()) {
    size_t end = start;
    while (end < bytes.size() && bytes[end] != '\n') ++end;
    if (end < bytes.size()) ++end;  // include the newline
    std::vector<uint8_t> line(bytes.begin() + start, bytes.begin() + end);
    start = end;
    if (u(rng_) < faults_.drop_line) continue;
    if (line.size() > 1 && u(rng_) < faults_.corrupt_line) {
      ++corrupted_;
      size_t at = std::uniform_int_distribution<size_t>(0, line.size() - 2)(rng_);
      line[at] ^= static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 6)(rng_));
    }
    out.insert(out.end(), line.begin(), line.end());
  }
  return out;
}

Status DeviceSerialStream::Write(ConstByteSpan bytes) {
  std::weak_ptr<bool> alive = alive_;
  executor_.PostAfter(config_.latency, [this, alive, b = Mangle(bytes)]() mutable {
    if (auto a = alive.lock(); a && *a) DeviceReceive(std::move(b));
  });
  return {};
}

void DeviceSerialStream::DeviceReceive(std::vector<uint8_t> bytes) {
  ConstByteSpan rest(bytes);
  while (!rest.empty()) {
    auto r = decoder_.Feed(rest);
    rest = rest.subspan(std::max<size_t>(r.consumed, r.packet.ok() ? r.consumed : 1));
    if (!r.packet.ok() || !r.packet->has_value()) continue;
    std::vector<uint8_t> packet((*r.packet)->begin(), (*r.packet)->end());
    runner_.Handle(packet, [this](ConstByteSpan response) {
      std::vector<uint8_t> wire;
      if (faults_.log_lines) {
        std::string log = "[00:00:0" + std::to_string(log_counter_++ % 10) +
                          ".000] <inf> app: handled SMP request\r\n";
        wire.insert(wire.end(), log.begin(), log.end());
      }
      std::vector<uint8_t> enc(transport::SerialEncoder::EncodedSize(response.size()));
      auto n = transport::SerialEncoder::Encode(response, enc);
      if (!n.ok()) return;
      enc.resize(*n);
      std::vector<uint8_t> mangled = Mangle(enc);
      wire.insert(wire.end(), mangled.begin(), mangled.end());
      std::weak_ptr<bool> alive = alive_;
      executor_.PostAfter(config_.latency, [this, alive, w = std::move(wire)] {
        if (auto a = alive.lock(); !a || !*a) return;
        if (handler_) handler_(w);
      });
    });
  }
}

}  // namespace smpkit::simlink
