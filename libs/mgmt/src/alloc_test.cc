// Proves the request path allocates nothing: a counting global operator new wraps the
// server while it answers echo, params and info requests.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "smpkit/flash/flash.h"
#include "smpkit/mcuboot/boot.h"
#include "smpkit/mgmt/img_group.h"
#include "smpkit/mgmt/os_group.h"
#include "smpkit/smp/message.h"
#include "test_util.h"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace smpkit::mgmt {
namespace {

class FixedSink : public smp::ResponseSink {
 public:
  void SendResponse(ConstByteSpan frame) override {
    last_size = frame.size();
    ++count;
  }
  size_t last_size = 0;
  int count = 0;
};

TEST(ZeroAllocation, EchoParamsInfo) {
  smp::ServerConfig config;
  OsHooks hooks;
  OsGroup os(OsGroupConfig{}, config, hooks);
  smp::Registry registry;
  ASSERT_TRUE(registry.Register(os).ok());
  smp::Server server(registry, config);
  const auto echo = testing::FromHex("0a 00 00 09 00 00 2a 00 a1 61 64 65 68 65 6c 6c 6f");
  const auto params = testing::FromHex("08 00 00 01 00 00 04 06 a0");
  const auto info = testing::FromHex("08 00 00 0a 00 00 01 07 a1 66 66 6f 72 6d 61 74 61 61");
  uint8_t scratch[512];
  FixedSink sink;

  // The counter is live: a deliberate allocation is seen.
  const long before_probe = g_allocations.load();
  ::operator delete(::operator new(16));  // a direct call cannot be elided
  ASSERT_EQ(g_allocations.load(), before_probe + 1);

  const long before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    server.Process(echo, scratch, sink);
    server.Process(params, scratch, sink);
    server.Process(info, scratch, sink);
  }
  const long after = g_allocations.load();
  EXPECT_EQ(after - before, 0) << "heap allocations in the request path";
  EXPECT_EQ(sink.count, 300);
}

TEST(ZeroAllocation, UploadChunks) {
  flash::RamFlash flash(flash::Geometry{0x40000, 4096, 4, 0xff});
  auto layout = flash::MakeLayout(flash, {0x4000, 0x1e000, 1, 0, 0});
  ASSERT_TRUE(layout.ok());
  mcuboot::Bootloader boot(std::span<const flash::SlotPair>(layout->images.data(), 1), {});
  ImgHooks hooks;
  ImgGroupConfig img_config;
  img_config.image_check = false;
  ImgGroup img(boot, std::span<const flash::SlotPair>(layout->images.data(), 1), img_config, hooks);
  smp::ServerConfig config;
  config.buf_size = 8192;
  smp::Registry registry;
  ASSERT_TRUE(registry.Register(img).ok());
  smp::Server server(registry, config);
  FixedSink sink;
  std::vector<uint8_t> chunk(4096, 0x5a);
  std::copy(std::begin({0x3d, 0xb8, 0xf3, 0x96}), std::end({0x3d, 0xb8, 0xf3, 0x96}), chunk.begin());
  std::vector<uint8_t> frame_buf(8192);
  std::vector<std::vector<uint8_t>> frames;
  const uint32_t len = 16 * 4096;
  for (uint32_t off = 0; off < len; off += 4096) {
    smp::Header h;
    h.op = 2;
    h.group = 1;
    h.id = 1;
    auto f = smp::BuildFrame(h, frame_buf, [&](cbor::Writer& w) {
      if (off == 0) w.Key("len").Uint(len);
      w.Key("off").Uint(off).Key("data").Bytes(chunk);
    });
    ASSERT_TRUE(f.ok());
    frames.emplace_back(f->begin(), f->end());
  }
  uint8_t scratch[8192];
  server.Process(frames[0], scratch, sink);  // first chunk: erase and session start
  ASSERT_TRUE(img.upload_in_progress());
  const long before = g_allocations.load();
  for (size_t i = 1; i + 1 < frames.size(); ++i) server.Process(frames[i], scratch, sink);
  const long after = g_allocations.load();
  EXPECT_EQ(after - before, 0) << "heap allocations per upload chunk";
  EXPECT_EQ(img.upload_offset(), 15u * 4096);
}

}  // namespace
}  // namespace smpkit::mgmt
