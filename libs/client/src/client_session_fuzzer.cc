// Fuzzes the client's response path: arbitrary packets arrive as the answers to an upgrade
// (params, image state, slot info, upload chunks, state writes, reset, polls). Input: a
// sequence of records [flags][len][len bytes]; flags bit 0 patches the record's header to
// match the pending request (seq, group, id, op) so that payloads reach the decoders, bit 1
// sends it twice (duplicate), bit 2 delays it past the timeout (late). The whole input is
// also given to each typed response decoder as a payload.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/device/device.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/simlink/scheduler_executor.h"

namespace {

using namespace smpkit;

class FuzzLink : public client::Link {
 public:
  FuzzLink(client::Executor& ex, const uint8_t* data, size_t size)
      : ex_(ex), data_(data), size_(size) {}
  Status Send(ConstByteSpan p) override {
    if (p.size() < 8 || pos_ >= size_) return {};
    uint8_t flags = data_[pos_++];
    if (pos_ >= size_) return {};
    size_t len = data_[pos_++];
    len = std::min(len, size_ - pos_);
    std::vector<uint8_t> packet(data_ + pos_, data_ + pos_ + len);
    pos_ += len;
    if ((flags & 1) && packet.size() >= 8) {
      packet[0] =
          static_cast<uint8_t>((packet[0] & 0xf8) | (p[0] & 0x18) | smp::ResponseOp(p[0] & 7));
      packet[2] = static_cast<uint8_t>((packet.size() - 8) >> 8);
      packet[3] = static_cast<uint8_t>(packet.size() - 8);
      packet[4] = p[4];
      packet[5] = p[5];
      packet[6] = p[6];
      packet[7] = p[7];
    }
    client::Duration delay =
        (flags & 4) ? std::chrono::milliseconds(30) : std::chrono::microseconds(10);
    int copies = (flags & 2) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      ex_.PostAfter(delay, [this, packet] {
        if (handler_) handler_(packet);
      });
    }
    return {};
  }
  void SetReceiveHandler(ReceiveHandler h) override { handler_ = std::move(h); }
  client::LinkInfo Info() const override { return {1024, false, 0}; }

 private:
  client::Executor& ex_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  ReceiveHandler handler_;
};

const std::vector<uint8_t>& Image() {
  static const std::vector<uint8_t> image = *device::MakeFactoryImage("2.0.0", 600, 5);
  return image;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  FuzzLink link(ex, data, size);
  client::SessionConfig config;
  config.timeout = std::chrono::milliseconds(20);
  config.retries = 1;
  client::Session session(link, ex, config);
  client::Client c(session);
  client::UpgradeOptions options;
  options.upload.first_timeout = std::chrono::milliseconds(20);
  options.upload.max_window = 4;
  options.reset_wait = std::chrono::milliseconds(200);
  options.poll_interval = std::chrono::milliseconds(50);
  (void)c.Upgrade(Image(), options);
  // Raw packets straight into the session too (no request pending).
  session.OnPacket(ConstByteSpan(data, size));
  // And the whole input as the payload of each typed answer.
  const ConstByteSpan payload(data, size);
  (void)client::DecodeEchoResponse(payload);
  (void)client::DecodeParamsResponse(payload);
  (void)client::DecodeInfoResponse(payload);
  (void)client::DecodeUploadResponse(payload);
  (void)client::DecodeImageStateResponse(payload);
  (void)client::DecodeSlotInfoResponse(payload);
  (void)client::DecodeTaskStatResponse(payload);
  (void)client::DecodeStatListResponse(payload);
  (void)client::DecodeStatShowResponse(payload);
  (void)client::DecodeEnumCountResponse(payload);
  (void)client::DecodeEnumListResponse(payload);
  (void)client::DecodeEnumSingleResponse(payload);
  (void)client::DecodeEnumDetailsResponse(payload);
  (void)client::DecodeFsDownloadResponse(payload);
  (void)client::DecodeFsStatusResponse(payload);
  (void)client::DecodeFsHashResponse(payload);
  (void)client::DecodeFsSupportedHashesResponse(payload);
  (void)client::DecodeShellExecResponse(payload);
  (void)client::DecodeSettingsReadResponse(payload);
  return 0;
}
