#pragma once
// SMP over a serial console byte stream (smp-protocol.md §8.3): a Link that frames packets
// with transport::SerialEncoder and reassembles received ones with SerialDecoder, ignoring
// log lines and shell text on the same port and dropping corrupted packets (the session's
// timeouts resend them). The byte stream is an interface so the same framing runs over a
// real port or pty (libs/io) and over a simulated line in tests.

#include <functional>
#include <memory>
#include <vector>

#include "smpkit/client/link.h"
#include "smpkit/transport/serial.h"

namespace smpkit::client {

class ByteStream {
 public:
  using ReadHandler = std::function<void(ConstByteSpan bytes)>;
  virtual ~ByteStream() = default;
  // Queues bytes for transmission. Errors: kIo.
  virtual Status Write(ConstByteSpan bytes) = 0;
  // Bytes as they arrive (from the executor's loop).
  virtual void SetReadHandler(ReadHandler handler) = 0;
};

struct SerialLinkStats {
  uint64_t packets = 0;
  uint64_t decode_errors = 0;  // corrupted or truncated packets dropped
};

class SerialLink final : public Link {
 public:
  explicit SerialLink(ByteStream& stream);
  ~SerialLink() override;

  Status Send(ConstByteSpan packet) override;
  void SetReceiveHandler(ReceiveHandler handler) override { handler_ = std::move(handler); }
  // Packets of any size are split into lines; the server keeps 4 bytes of its buffer for
  // the length prefix and CRC.
  LinkInfo Info() const override { return {transport::kSerialMaxPacketSize, true, 4}; }
  const SerialLinkStats& stats() const { return stats_; }

 private:
  void OnBytes(ConstByteSpan bytes);

  ByteStream& stream_;
  std::vector<uint8_t> decode_buffer_;
  transport::SerialDecoder decoder_;
  std::vector<uint8_t> encoded_;
  ReceiveHandler handler_;
  SerialLinkStats stats_;
};

}  // namespace smpkit::client
