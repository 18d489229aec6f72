// An SMP server as firmware embeds it: a registry with the OS management group, the
// dispatcher, and a sink that gets each response frame. The transport is left out: here the
// request is a fixed byte string, as a UDP datagram or a reassembled BLE write would bring it.
#include <cstdio>
#include <cstring>
#include <vector>

#include "smpkit/mgmt/os_group.h"
#include "smpkit/smp/header.h"
#include "smpkit/smp/server.h"

namespace {

// The hooks a device gives the OS group (reset, clock, tasks); the defaults do nothing.
class Hooks final : public smpkit::mgmt::OsHooks {};

class Capture final : public smpkit::smp::ResponseSink {
 public:
  void SendResponse(smpkit::ConstByteSpan frame) override {
    frames.emplace_back(frame.begin(), frame.end());
  }
  std::vector<std::vector<uint8_t>> frames;
};

}  // namespace

int main() {
  using namespace smpkit;
  smp::ServerConfig config;
  Hooks hooks;
  mgmt::OsGroup os(mgmt::OsGroupConfig{}, config, hooks);
  smp::Registry registry;
  if (!registry.Register(os).ok()) return 1;
  smp::Server server(registry, config);

  // OS echo, SMP version 2: op 2 (write), flags 0, length 9, group 0, seq 7, id 0, then the
  // CBOR map {"d": "hello"}.
  const uint8_t request[] = {0x0a, 0x00, 0x00, 0x09, 0x00, 0x00, 0x07, 0x00, 0xa1,
                             0x61, 0x64, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
  std::vector<uint8_t> scratch(config.buf_size);
  Capture sink;
  const size_t answered = server.Process(request, scratch, sink);
  if (answered != 1 || sink.frames.size() != 1) {
    std::fprintf(stderr, "embed_server: %zu answers to one request\n", answered);
    return 1;
  }
  const auto& rsp = sink.frames[0];
  auto header = smp::DecodeHeader(rsp);
  if (!header.ok()) {
    std::fprintf(stderr, "embed_server: bad answer header: %.*s\n",
                 static_cast<int>(header.error().message().size()),
                 header.error().message().data());
    return 1;
  }
  // The answer: op 3 (write response), same group, seq and id, {"r": "hello"}.
  const uint8_t expected_body[] = {0xa1, 0x61, 0x72, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
  const bool body_ok = rsp.size() == smp::kHeaderSize + sizeof(expected_body) &&
                       std::memcmp(rsp.data() + smp::kHeaderSize, expected_body,
                                   sizeof(expected_body)) == 0;
  // The server writes indefinite-length maps by default (zcbor's style): accept either.
  const uint8_t indefinite_body[] = {0xbf, 0x61, 0x72, 0x65, 0x68, 0x65,
                                     0x6c, 0x6c, 0x6f, 0xff};
  const bool indefinite_ok = rsp.size() == smp::kHeaderSize + sizeof(indefinite_body) &&
                             std::memcmp(rsp.data() + smp::kHeaderSize, indefinite_body,
                                         sizeof(indefinite_body)) == 0;
  if (header->op != 3 || header->group != 0 || header->seq != 7 || header->id != 0 ||
      !(body_ok || indefinite_ok)) {
    std::fprintf(stderr, "embed_server: unexpected answer (%zu bytes)\n", rsp.size());
    return 1;
  }
  std::printf("embed_server: echo answered, %zu bytes: {\"r\": \"hello\"}\n", rsp.size());
  return 0;
}
