// Fuzzes a whole transport packet through the SMP dispatcher and the OS group: header
// decoding, multi-frame walking, version/op checks, CBOR decoding and response encoding.
// Every response must be a well-formed frame whose length field matches.
#include <cstdint>
#include <cstdlib>

#include "smpkit/mgmt/os_group.h"

namespace {

class CheckingSink : public smpkit::smp::ResponseSink {
 public:
  void SendResponse(smpkit::ConstByteSpan frame) override {
    auto h = smpkit::smp::DecodeHeader(frame);
    if (!h.ok() || frame.size() != smpkit::smp::kHeaderSize + h->length) std::abort();
    if (h->op != 1 && h->op != 3) std::abort();
  }
};

class Hooks : public smpkit::mgmt::OsHooks {
 public:
  bool RtcGet(smpkit::mgmt::DateTime* out) override {
    *out = smpkit::mgmt::DateTime{};
    return true;
  }
  bool RtcSet(const smpkit::mgmt::DateTime&) override { return true; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static smpkit::smp::ServerConfig config = [] {
    smpkit::smp::ServerConfig c;
    c.buf_size = 512;
    return c;
  }();
  static Hooks hooks;
  static smpkit::mgmt::OsGroup os = [] {
    smpkit::mgmt::OsGroupConfig c;
    c.taskstat = true;
    c.datetime = true;
    c.datetime_ms = true;
    c.reset_boot_mode = true;
    return smpkit::mgmt::OsGroup(c, config, hooks);
  }();
  static smpkit::smp::Registry registry = [] {
    smpkit::smp::Registry r;
    (void)r.Register(os);
    return r;
  }();
  smpkit::smp::Server server(registry, config);
  uint8_t scratch[512];
  CheckingSink sink;
  server.Process(smpkit::ConstByteSpan(data, size), scratch, sink);
  return 0;
}
