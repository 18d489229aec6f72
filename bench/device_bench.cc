// Server cost per uploaded byte: image upload chunks of 1, 2, 4 and 8 KiB through the whole
// in-process device (SMP dispatch, CBOR decoding, image group, RAM flash write), next to a
// plain memcpy of the same bytes (from the same request buffers into a slot-sized area).
// Ratio = memcpy bytes/s / upload bytes/s, same run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "smpkit/device/device.h"
#include "smpkit/smp/header.h"
#include "smpkit/smp/img_upload.h"
#include "smpkit/smp/responses.h"

namespace {

class NullSink : public smpkit::smp::ResponseSink {
 public:
  void SendResponse(smpkit::ConstByteSpan frame) override { last = frame.size(); }
  size_t last = 0;
};

class KeepingSink : public smpkit::smp::ResponseSink {
 public:
  void SendResponse(smpkit::ConstByteSpan f) override { frame.assign(f.begin(), f.end()); }
  std::vector<uint8_t> frame;
};

std::vector<uint8_t> Frame(uint64_t off, uint64_t len, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> buf(data.size() + 128);
  smpkit::smp::Header h;
  h.op = 2;
  h.group = 1;
  h.id = 1;
  smpkit::smp::img::UploadRequest r;  // as a client sends it
  if (off == 0) {
    r.image = 0;
    r.len = len;
  }
  r.off = off;
  r.data = data;
  h.length = static_cast<uint16_t>(r.EncodedSize());
  if (!smpkit::smp::EncodeHeader(h, buf).ok()) return {};
  auto n = r.Encode(smpkit::ByteSpan(buf).subspan(smpkit::smp::kHeaderSize));
  if (!n.ok()) return {};
  buf.resize(smpkit::smp::kHeaderSize + *n);
  return buf;
}

void BM_UploadChunk(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  smpkit::device::DeviceConfig config;
  config.slot_size = 0x80000;  // swap-move handles at most 128 sectors
  config.server.buf_size = 9000;
  config.img.image_check = false;
  smpkit::flash::RamFlash flash(config.Geometry());
  smpkit::device::Device dev(flash, config);
  auto factory = smpkit::device::MakeFactoryImage("1.0.0", 4096);
  if (!factory.ok() || !dev.Provision(*factory).ok() || !dev.Boot().ok()) {
    state.SkipWithError("device setup failed");
    return;
  }
  const uint64_t len = config.slot_size - 0x10000;
  std::vector<uint8_t> data(chunk, 0x5a);
  const uint8_t magic[4] = {0x3d, 0xb8, 0xf3, 0x96};
  std::vector<uint8_t> first_data = data;
  std::memcpy(first_data.data(), magic, 4);
  // Pre-encode the continuation frames of one pass; re-encoding is the client's cost.
  std::vector<std::vector<uint8_t>> frames;
  for (uint64_t off = chunk; off + chunk <= len; off += chunk) frames.push_back(Frame(off, len, data));
  const auto first = Frame(0, len, first_data);
  // The frames are taken: the answer to the second one is at its end.
  {
    KeepingSink keep;
    dev.HandlePacket(first, keep);
    dev.HandlePacket(frames[0], keep);
    auto answer = smpkit::smp::img::UploadResponse::Parse(
        smpkit::ConstByteSpan(keep.frame).subspan(std::min(keep.frame.size(), smpkit::smp::kHeaderSize)));
    if (frames.empty() || !answer.ok() || answer->off != 2 * chunk) {
      state.SkipWithError("the device did not take the upload frames");
      return;
    }
  }
  NullSink sink;
  size_t i = frames.size();
  for (auto _ : state) {
    if (i == frames.size()) {
      state.PauseTiming();  // start a new session (erases the slot): not per-byte cost
      dev.HandlePacket(first, sink);
      i = 0;
      state.ResumeTiming();
    }
    dev.HandlePacket(frames[i++], sink);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk));
}
BENCHMARK(BM_UploadChunk)->Arg(1024)->Arg(2048)->Arg(4096)->Arg(8192);

// The same bytes from the same places: the data of each pre-encoded request frame, copied
// to a rotating destination as large as the slot.
void BM_Memcpy(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  const uint64_t len = 0x80000 - 0x10000;
  std::vector<uint8_t> data(chunk, 0x5a);
  std::vector<std::vector<uint8_t>> frames;
  for (uint64_t off = chunk; off + chunk <= len; off += chunk) frames.push_back(Frame(off, len, data));
  std::vector<uint8_t> dst(0x80000);
  size_t i = 0;
  size_t off = 0;
  for (auto _ : state) {
    if (i == frames.size()) i = 0;
    if (off + chunk > dst.size()) off = 0;
    const auto& f = frames[i++];
    std::memcpy(dst.data() + off, f.data() + (f.size() - chunk), chunk);
    benchmark::DoNotOptimize(dst.data());
    off += chunk;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk));
}
BENCHMARK(BM_Memcpy)->Arg(1024)->Arg(2048)->Arg(4096)->Arg(8192);

}  // namespace
