// Server-side cost of SMP requests: a whole echo round through the dispatcher, and the
// parsing of a 4 KiB image upload request (smp::img::UploadRequest, as the image group does).
#include <benchmark/benchmark.h>

#include <vector>

#include "smpkit/mgmt/os_group.h"
#include "smpkit/smp/img_upload.h"
#include "smpkit/smp/message.h"

namespace {

class NullSink : public smpkit::smp::ResponseSink {
 public:
  void SendResponse(smpkit::ConstByteSpan frame) override { benchmark::DoNotOptimize(frame.data()); }
};

void BM_EchoRequest(benchmark::State& state) {
  smpkit::smp::ServerConfig config;
  smpkit::mgmt::OsHooks hooks;
  smpkit::mgmt::OsGroup os(smpkit::mgmt::OsGroupConfig{}, config, hooks);
  smpkit::smp::Registry registry;
  (void)registry.Register(os);
  smpkit::smp::Server server(registry, config);
  const std::vector<uint8_t> echo = {0x0a, 0, 0, 9, 0, 0, 0x2a, 0, 0xa1, 0x61, 0x64,
                                     0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f};
  uint8_t scratch[384];
  NullSink sink;
  for (auto _ : state) server.Process(echo, scratch, sink);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EchoRequest);

void BM_DecodeUpload4K(benchmark::State& state) {
  std::vector<uint8_t> data(4096, 0xa5);
  std::vector<uint8_t> sha(32, 0x11);
  std::vector<uint8_t> buf(4300);
  smpkit::smp::Header h;
  h.op = 2;
  h.group = 1;
  h.id = 1;
  auto frame = smpkit::smp::BuildFrame(h, buf, [&](smpkit::cbor::Writer& w) {
    w.Key("image").Uint(0).Key("len").Uint(262144).Key("off").Uint(0).Key("sha").Bytes(sha);
    w.Key("data").Bytes(data);
  });
  if (!frame.ok()) {
    state.SkipWithError("cannot build the request");
    return;
  }
  const auto payload = frame->subspan(smpkit::smp::kHeaderSize);
  for (auto _ : state) {
    auto r = smpkit::smp::img::UploadRequest::Parse(payload);  // what the image group does
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame->size()));
}
BENCHMARK(BM_DecodeUpload4K);

}  // namespace
