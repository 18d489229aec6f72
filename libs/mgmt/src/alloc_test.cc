// Proves the request path allocates nothing: a counting global operator new wraps the
// server while it answers echo, params and info requests.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "smpkit/flash/flash.h"
#include "smpkit/mcuboot/boot.h"
#include "smpkit/mgmt/fs_group.h"
#include "smpkit/mgmt/img_group.h"
#include "smpkit/mgmt/os_group.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/mgmt/settings_group.h"
#include "smpkit/mgmt/shell_group.h"
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

// The file, shell and settings groups answer without heap allocations of their own: file
// downloads, status and crc32 over a file system that only reads, shell commands over one
// that only prints, settings over fixed storage. (Their backends are the owner's: smpkit's
// RAM file system allocates when a file grows; `smpkit device`'s directory opens files.)
TEST(ZeroAllocation, FileShellAndSettingsRequests) {
  RamFileSystem files(1 << 20);
  files.files()["f"] = std::vector<uint8_t>(20000, 0x42);
  class Echo : public ShellCommands {
   public:
    std::optional<int> Execute(std::span<const std::string_view> argv, ShellOutput& out) override {
      for (auto a : argv) out.Print(a);
      return 0;
    }
  } echo;
  class Fixed : public SettingsBackend {
   public:
    int RuntimeGet(std::string_view, ByteSpan out) override {
      const size_t n = std::min<size_t>(out.size(), 4);
      for (size_t i = 0; i < n; ++i) out[i] = value[i];
      return static_cast<int>(n);
    }
    int RuntimeSet(std::string_view, ConstByteSpan v) override {
      for (size_t i = 0; i < v.size() && i < 4; ++i) value[i] = v[i];
      return 0;
    }
    int Delete(std::string_view) override { return 0; }
    int Commit() override { return 0; }
    int Load() override { return 0; }
    int Save() override { return 0; }
    uint8_t value[4] = {1, 2, 3, 4};
  } settings;
  smp::ServerConfig config;
  config.buf_size = 1024;
  FsGroup fs(FsGroupConfig{}, config, files);
  ShellGroup shell(ShellGroupConfig{}, echo);
  SettingsGroup set(SettingsGroupConfig{}, settings);
  smp::Registry registry;
  ASSERT_TRUE(registry.Register(fs).ok());
  ASSERT_TRUE(registry.Register(shell).ok());
  ASSERT_TRUE(registry.Register(set).ok());
  smp::Server server(registry, config);
  // Download at 1024, status, crc32, shell exec ["echo", "hi"], settings write and read.
  // Header (its length from the payload) + payload, from hex.
  auto frame = [](unsigned op, unsigned group, unsigned id, const char* payload) {
    const size_t len = testing::FromHex(payload).size();
    char header[32];
    std::snprintf(header, sizeof(header), "%02x00%04zx%04x01%02x", op, len, group, id);
    return testing::FromHex(std::string(header) + payload);
  };
  const auto download = frame(0x08, 8, 0, "a2 63 6f6666 19 0400 64 6e616d65 67 2f6c6673312f66");
  const auto status = frame(0x08, 8, 1, "a1 64 6e616d65 67 2f6c6673312f66");
  const auto crc = frame(0x08, 8, 2, "a1 64 6e616d65 67 2f6c6673312f66");
  const auto exec = frame(0x0a, 9, 0, "a1 64 61726776 82 64 6563686f 62 6869");
  const auto write = frame(0x0a, 3, 0, "a2 64 6e616d65 63 612f62 63 76616c 42 0909");
  const auto read = frame(0x08, 3, 0, "a1 64 6e616d65 63 612f62");
  uint8_t scratch[1024];
  FixedSink sink;
  const long before = g_allocations.load();
  for (int i = 0; i < 50; ++i) {
    for (const auto* req : {&download, &status, &crc, &exec, &write, &read}) {
      server.Process(*req, scratch, sink);
    }
  }
  const long after = g_allocations.load();
  EXPECT_EQ(after - before, 0) << "heap allocations in the request path";
  EXPECT_EQ(sink.count, 300);
  EXPECT_EQ(server.stats().errors, 0u);
}

}  // namespace
}  // namespace smpkit::mgmt
