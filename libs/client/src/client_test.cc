// Client session, uploader and upgrade flow against the simulated device, in virtual time.
#include "smpkit/client/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <iterator>

#include "smpkit/base/crc.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"
#include "smpkit/client/link_filter.h"
#include "smpkit/client/serial_link.h"
#include "smpkit/client/session.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mcuboot/image_create.h"
#include "smpkit/mgmt/ram_fs.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/simlink/device_link.h"
#include "smpkit/simlink/scheduler_executor.h"
#include "smpkit/testing/hex.h"
#include "smpkit/testing/vectors.h"

namespace smpkit::client {
namespace {

using ::testing::HasSubstr;

std::vector<uint8_t> ReadVector(const std::string& name) {
  return smpkit::testing::ReadVector("mcuboot/" + name);
}

device::DeviceConfig SmallDevice(size_t buf_size = 1024, size_t buf_count = 4) {
  device::DeviceConfig c;
  c.slot_size = 0x20000;
  c.server.buf_size = buf_size;
  c.server.buf_count = buf_count;
  return c;
}

// A device with a factory image, booted.
struct Bench {
  explicit Bench(device::DeviceConfig config = SmallDevice())
      : flash(config.Geometry()), dev(flash, config), ex(sched) {
    auto factory = device::MakeFactoryImage("1.0.0", 3000);
    EXPECT_TRUE(factory.ok());
    EXPECT_TRUE(dev.Provision(*factory).ok());
    auto boot = dev.Boot();
    EXPECT_TRUE(boot.ok());
  }
  flash::RamFlash flash;
  device::Device dev;
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex{sched};
};

// A test image of `size` bytes (hash-only MCUboot image) with a version.
std::vector<uint8_t> TestImage(const char* version, uint32_t body, uint32_t seed) {
  auto img = device::MakeFactoryImage(version, body, seed);
  EXPECT_TRUE(img.ok());
  return *img;
}

const ImageSlotState* Slot(const std::vector<ImageSlotState>& s, uint32_t slot) {
  for (const auto& e : s)
    if (e.slot == slot) return &e;
  return nullptr;
}

// A scripted link: records what the session sends; the test injects responses.
class ScriptLink : public Link {
 public:
  Status Send(ConstByteSpan p) override {
    sent.emplace_back(p.begin(), p.end());
    return {};
  }
  void SetReceiveHandler(ReceiveHandler h) override { handler = std::move(h); }
  LinkInfo Info() const override { return {1500, false, 0}; }
  void Reply(const std::vector<uint8_t>& request, uint8_t version,
             const std::function<void(cbor::Writer&)>& body) {
    auto h = smp::DecodeHeader(request);
    smp::Header r = *h;
    r.op = smp::ResponseOp(h->op);
    r.version = version;
    std::vector<uint8_t> buf(256);
    auto f = smp::BuildFrame(r, buf, body);
    ASSERT_TRUE(f.ok());
    handler(*f);
  }
  std::vector<std::vector<uint8_t>> sent;
  ReceiveHandler handler;
};

Request EchoRequest(const char* text) {
  Request r;
  r.op = 2;
  r.group = 0;
  r.id = 0;
  std::vector<uint8_t> p(64);
  cbor::Writer w(p);
  w.BeginMap().Key("d").Text(text).End();
  p.resize(w.size());
  r.payload = p;
  return r;
}

std::string EchoText(const Result<Reply>& r) {
  if (!r.ok()) return "error: " + std::string(r.error().message());
  std::string_view t;
  (void)cbor::DecodeMap(r->payload, {cbor::TextField("r", &t)});
  return std::string(t);
}

TEST(SessionTest, LateAndDuplicateResponsesAreNeverTakenForTheNextRequest) {
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  ScriptLink link;
  Session s(link, ex, {.timeout = sim::Ms(100), .retries = 2});
  std::optional<Result<Reply>> first, second;
  s.Submit(EchoRequest("one"), [&](Result<Reply> r) { first = std::move(r); });
  // No answer: the session retransmits with a new sequence number.
  sched.RunFor(sim::Ms(150));
  ASSERT_EQ(link.sent.size(), 2u);
  auto h0 = smp::DecodeHeader(link.sent[0]);
  auto h1 = smp::DecodeHeader(link.sent[1]);
  EXPECT_NE(h0->seq, h1->seq);
  // The late answer to the first transmission completes the request.
  link.Reply(link.sent[0], 1, [](cbor::Writer& w) { w.Key("r").Text("one"); });
  sched.RunUntilIdle();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(EchoText(*first), "one");
  s.Submit(EchoRequest("two"), [&](Result<Reply> r) { second = std::move(r); });
  // Answers to the retired transmissions (duplicates) must be dropped.
  link.Reply(link.sent[1], 1, [](cbor::Writer& w) { w.Key("r").Text("one"); });
  link.Reply(link.sent[0], 1, [](cbor::Writer& w) { w.Key("r").Text("one"); });
  EXPECT_FALSE(second.has_value());
  EXPECT_EQ(s.stats().dropped_stale, 2u);
  // A response with the right seq but another command is not taken either.
  auto bogus = link.sent.back();
  bogus[7] = 9;  // command id
  link.Reply(bogus, 1, [](cbor::Writer& w) { w.Key("r").Text("one"); });
  EXPECT_FALSE(second.has_value());
  link.Reply(link.sent.back(), 1, [](cbor::Writer& w) { w.Key("r").Text("two"); });
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(EchoText(*second), "two");
}

TEST(SessionTest, TimeoutNamesTheCommandAndAttempts) {
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  ScriptLink link;
  Session s(link, ex, {.timeout = sim::Ms(100), .retries = 2});
  auto r = s.Call(EchoRequest("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kTimeout);
  EXPECT_EQ(r.error().message(), "no response to os echo after 3 attempts in 0.3 s");
  EXPECT_EQ(link.sent.size(), 3u);
  // The last attempt of a server never heard from goes out in SMP v1.
  EXPECT_EQ(smp::DecodeHeader(link.sent[0])->version, smp::kVersion2);
  EXPECT_EQ(smp::DecodeHeader(link.sent[2])->version, smp::kVersion1);
  EXPECT_EQ(sched.Now(), sim::Ms(300));
}

TEST(SessionTest, FallsBackToV1OnTooNewAndOnVersion0Answers) {
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  ScriptLink link;
  Session s(link, ex, {.timeout = sim::Ms(100), .retries = 1});
  std::optional<Result<Reply>> got;
  s.Submit(EchoRequest("a"), [&](Result<Reply> r) { got = std::move(r); });
  link.Reply(link.sent[0], 1, [](cbor::Writer& w) { w.Key("rc").Uint(13); });
  ASSERT_EQ(link.sent.size(), 2u);
  EXPECT_EQ(smp::DecodeHeader(link.sent[1])->version, smp::kVersion1);
  link.Reply(link.sent[1], 0, [](cbor::Writer& w) { w.Key("r").Text("a"); });
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(EchoText(*got), "a");
  EXPECT_FALSE(s.using_v2());

  // Strict v2: a version-0 answer is an error naming the cause.
  ScriptLink link2;
  Session strict(link2, ex, {.timeout = sim::Ms(100), .retries = 1, .allow_v1_fallback = false});
  std::optional<Result<Reply>> got2;
  strict.Submit(EchoRequest("a"), [&](Result<Reply> r) { got2 = std::move(r); });
  link2.Reply(link2.sent[0], 0, [](cbor::Writer& w) { w.Key("r").Text("a"); });
  ASSERT_TRUE(got2.has_value());
  ASSERT_FALSE(got2->ok());
  EXPECT_EQ(got2->error().code(), Errc::kNotSupported);
  EXPECT_THAT(std::string(got2->error().message()), HasSubstr("SMP v1 only"));
}

TEST(SessionTest, TooOldSwitchesToV2AndBothRefusalsFail) {
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  ScriptLink link;
  Session s(link, ex, {.timeout = sim::Ms(100), .retries = 1, .start_v2 = false});
  std::optional<Result<Reply>> got;
  s.Submit(EchoRequest("a"), [&](Result<Reply> r) { got = std::move(r); });
  EXPECT_EQ(smp::DecodeHeader(link.sent[0])->version, smp::kVersion1);
  link.Reply(link.sent[0], 0, [](cbor::Writer& w) { w.Key("rc").Uint(12); });
  ASSERT_EQ(link.sent.size(), 2u);
  EXPECT_EQ(smp::DecodeHeader(link.sent[1])->version, smp::kVersion2);
  link.Reply(link.sent[1], 1, [](cbor::Writer& w) { w.Key("rc").Uint(13); });
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code(), Errc::kNotSupported);
  EXPECT_EQ(got->error().message(), "device rejects both SMP versions (rc 12 and rc 13)");
}

TEST(SessionTest, BothErrorShapesAreDescribed) {
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  ScriptLink link;
  Session s(link, ex);
  std::optional<Result<Reply>> got;
  s.Submit(EchoRequest("a"), [&](Result<Reply> r) { got = std::move(r); });
  link.Reply(link.sent[0], 1, [](cbor::Writer& w) {
    w.Key("err").BeginMap().Key("group").Uint(1).Key("rc").Uint(9).End();
  });
  ASSERT_TRUE(got.has_value() && got->ok());
  Status st = ReplyStatus(**got);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kRemote);
  EXPECT_THAT(std::string(st.error().message()), HasSubstr("os echo: "));
  EXPECT_THAT(std::string(st.error().message()), HasSubstr("9"));
  EXPECT_TRUE(st.error().has_smp());
  EXPECT_EQ(st.error().smp_group(), 1);
  EXPECT_EQ(st.error().smp_rc(), 9);
  EXPECT_FALSE(st.error().smp_mgmt_rc());
  got.reset();
  s.Submit(EchoRequest("b"), [&](Result<Reply> r) { got = std::move(r); });
  link.Reply(link.sent[1], 1, [](cbor::Writer& w) { w.Key("rc").Uint(8); });
  ASSERT_TRUE(got.has_value() && got->ok());
  st = ReplyStatus(**got);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.error().message()), HasSubstr("8"));
  EXPECT_TRUE(st.error().smp_mgmt_rc());
  EXPECT_EQ(st.error().smp_group(), 0);  // the echo's group
  EXPECT_EQ(st.error().smp_rc(), 8);
}

TEST(ChunkSizingTest, FramesFillThePacketLimitExactly) {
  std::vector<uint8_t> sha(32, 0xab), data(9000, 0x5a), payload;
  for (size_t limit : {64, 100, 128, 300, 384, 512, 1024, 1500, 2048, 8192, 65543}) {
    for (uint64_t off : {uint64_t{0}, uint64_t{23}, uint64_t{300}, uint64_t{70000}}) {
      bool first = off == 0;
      size_t n = UploadChunkFit(limit, first, 0, 100000, off, sha.size(), false);
      if (n == 0) continue;
      n = std::min(n, data.size());
      EncodeUploadPayload(payload, first, 0, 100000, off, sha, false, ConstByteSpan(data).first(n));
      size_t frame = smp::kHeaderSize + payload.size();
      EXPECT_LE(frame, limit) << limit << " " << off;
      if (n < data.size()) {
        // One more data byte must not fit (the bstr head may grow by 1..2 bytes).
        EncodeUploadPayload(payload, first, 0, 100000, off, sha, false,
                            ConstByteSpan(data).first(n + 1));
        EXPECT_GT(smp::kHeaderSize + payload.size(), limit) << limit << " " << off;
        EXPECT_GE(frame + 2, limit) << limit << " " << off;
      }
    }
  }
  // The spec's worked example (smp-protocol.md §6.5.5): 384-byte buffer, continuation chunk
  // with 32-bit offset ≈ 358 bytes; exactly: 384 - 8 - {a2 63'off' 1a.... 64'data' 59 xxxx}.
  EXPECT_EQ(UploadChunkFit(384, false, 0, 100000, 70000, 32, false), 384u - 8 - 1 - 4 - 5 - 5 - 3);
}

struct Upgraded {
  Result<UpgradeResult> result;
  std::vector<ImageSlotState> state;
};

TEST(UpgradeTest, VectorImageAllModes) {
  auto image = ReadVector("unsigned-hashonly.bin");
  ASSERT_EQ(image.size(), 2052u);
  auto hash = ImageHashOf(image);
  ASSERT_TRUE(hash.ok());
  for (UpgradeMode mode :
       {UpgradeMode::kTestAndConfirm, UpgradeMode::kConfirmOnly, UpgradeMode::kTestOnly}) {
    SCOPED_TRACE(std::string(UpgradeModeName(mode)));
    Bench b(SmallDevice(384));
    simlink::DevicePacketLink dlink(b.dev, b.ex);
    LinkFilter link(dlink, b.ex, {}, {}, 1);
    Session session(link, b.ex);
    Client client(session);
    std::vector<std::string> phases;
    UpgradeOptions opt;
    opt.mode = mode;
    opt.upload.progress = [&](const Progress& p) {
      if (phases.empty() || phases.back() != PhaseName(p.phase))
        phases.push_back(std::string(PhaseName(p.phase)));
    };
    auto r = client.Upgrade(image, opt);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->version, "1.2.3.4");
    EXPECT_EQ(r->upload.match, std::optional<bool>(true));
    EXPECT_EQ(b.dev.boot_count(), 2u);
    std::vector<std::string> expected = {"probe", "upload", "mark", "reset", "wait", "check"};
    if (mode == UpgradeMode::kTestAndConfirm) expected.push_back("confirm");
    expected.push_back("done");
    EXPECT_EQ(phases, expected);
    auto st = client.ImageState();
    ASSERT_TRUE(st.ok());
    const ImageSlotState* s0 = Slot(*st, 0);
    ASSERT_NE(s0, nullptr);
    EXPECT_EQ(s0->hash, *hash);
    EXPECT_TRUE(s0->active);
    EXPECT_EQ(s0->confirmed, mode != UpgradeMode::kTestOnly);
    EXPECT_EQ(s0->version, "1.2.3.4");
    // Running it again is a no-op for the confirming modes.
    if (mode != UpgradeMode::kTestOnly) {
      auto again = client.Upgrade(image, opt);
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(again->already_running);
    }
  }
}

// Uploads `image` through `link` and checks the device's slot 1 holds it with match true.
void ExpectUploadLands(Bench& b, Link& link, const std::vector<uint8_t>& image, size_t window,
                       uint64_t* retransmits) {
  Session session(link, b.ex, {.timeout = sim::Ms(50), .retries = 8});
  Client client(session);
  UploadOptions opt;
  opt.max_window = window;
  opt.first_timeout = sim::Ms(50);
  auto r = client.Upload(image, opt);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->match, std::optional<bool>(true));
  auto state = b.dev.ImageState();
  ASSERT_TRUE(state.ok());
  auto hash = ImageHashOf(image);
  bool found = false;
  for (const auto& s : state->view()) {
    if (s.slot == 1) {
      found = true;
      EXPECT_TRUE(std::equal(s.hash.begin(), s.hash.begin() + hash->size(), hash->begin()));
    }
  }
  EXPECT_TRUE(found);
  *retransmits += r->retransmits + r->rewinds;
}

TEST(FaultTest, Udp200UploadsWithLossDuplicationReordering) {
  FaultConfig faults;
  faults.drop = 0.10;
  faults.duplicate = 0.05;
  faults.reorder = 0.05;
  faults.delay = sim::Us(200);
  faults.reorder_delay = sim::Ms(2);
  uint64_t recoveries = 0;
  int ok = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Bench b(SmallDevice(512, 5));
    simlink::DevicePacketLink dlink(b.dev, b.ex);
    LinkFilter link(dlink, b.ex, faults, faults, seed);
    auto image =
        TestImage("2.0.0", 6000 + static_cast<uint32_t>(seed * 37), static_cast<uint32_t>(seed));
    ExpectUploadLands(b, link, image, 4, &recoveries);
    if (!::testing::Test::HasFailure()) ++ok;
  }
  EXPECT_EQ(ok, 200);
  EXPECT_GT(recoveries, 200u);  // the faults really hit
}

TEST(FaultTest, Serial200UploadsWithCorruptedLinesAndLogOutput) {
  uint64_t recoveries = 0, corrupted = 0;
  int ok = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Bench b(SmallDevice(512, 5));
    simlink::SerialLineFaults faults{
        .corrupt_line = 0.03, .drop_line = 0.01, .log_lines = true, .seed = seed};
    simlink::DeviceSerialStream stream(b.dev, b.ex, faults);
    SerialLink link(stream);
    auto image =
        TestImage("2.0.0", 4000 + static_cast<uint32_t>(seed * 13), static_cast<uint32_t>(seed));
    ExpectUploadLands(b, link, image, 2, &recoveries);
    corrupted += stream.corrupted_lines();
    if (!::testing::Test::HasFailure()) ++ok;
  }
  EXPECT_EQ(ok, 200);
  EXPECT_GT(corrupted, 200u);
}

TEST(UploadTest, ChunksFillTheServerBufferAndTheWindowGrows) {
  Bench b(SmallDevice(384, 5));
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  // Record frame sizes going to the device.
  class Tap : public Link {
   public:
    explicit Tap(Link& in) : in_(in) {}
    Status Send(ConstByteSpan p) override {
      sizes.push_back(p.size());
      return in_.Send(p);
    }
    void SetReceiveHandler(ReceiveHandler h) override { in_.SetReceiveHandler(std::move(h)); }
    LinkInfo Info() const override { return in_.Info(); }
    std::vector<size_t> sizes;
    Link& in_;
  } tap(dlink);
  Session session(tap, b.ex);
  Client client(session);
  auto image = TestImage("2.0.0", 20000, 7);
  UploadOptions opt;
  opt.max_window = 8;
  auto r = client.Upload(image, opt);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->match, std::optional<bool>(true));
  EXPECT_EQ(r->max_window_used, 4u);  // buf_count 5 - 1
  size_t full = 0;
  for (size_t s : tap.sizes) {
    EXPECT_LE(s, 384u);
    if (s == 384) ++full;
  }
  EXPECT_GT(full, 40u);
}

TEST(UploadTest, ResumesAfterTheClientRestartedAndSkipsWhenPresent) {
  Bench b;
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  auto image = TestImage("2.0.0", 30000, 9);
  {
    // First client: stops after ~10 KiB (the progress callback throws the client away by
    // failing the link).
    class Cut : public Link {
     public:
      explicit Cut(Link& in) : in_(in) {}
      Status Send(ConstByteSpan p) override {
        if (++n > 12) return Error(Errc::kIo, "cable pulled");
        return in_.Send(p);
      }
      void SetReceiveHandler(ReceiveHandler h) override { in_.SetReceiveHandler(std::move(h)); }
      LinkInfo Info() const override { return in_.Info(); }
      int n = 0;
      Link& in_;
    } cut(dlink);
    Session session(cut, b.ex);
    Client client(session);
    auto r = client.Upload(image, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "cable pulled");
  }
  b.sched.RunUntilIdle();
  ASSERT_TRUE(b.dev.img_group().upload_in_progress());
  uint32_t device_off = b.dev.img_group().upload_offset();
  EXPECT_GT(device_off, 5000u);
  Session session(dlink, b.ex);
  Client client(session);
  auto r = client.Upload(image, {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->resumed_from, device_off);
  EXPECT_EQ(r->match, std::optional<bool>(true));
  auto again = client.Upload(image, {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->skipped);
}

TEST(UploadTest, RejectedChunkAndTooLargeImageAndWrongFile) {
  Bench b;
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Session session(dlink, b.ex);
  Client client(session);
  // Not an image: the device rejects the first chunk (IMG 23 bad magic) -- a named error.
  std::vector<uint8_t> junk(4000, 0x11);
  UploadOptions opt;
  auto r = client.Upload(junk, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kRemote);
  EXPECT_THAT(std::string(r.error().message()),
              HasSubstr("image upload: image group (1) error 23 (INVALID_IMAGE_HEADER_MAGIC)"));
  // The upgrade refuses it before talking to the device.
  auto u = client.Upgrade(junk, {});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code(), Errc::kInvalidArgument);
  EXPECT_THAT(std::string(u.error().message()), HasSubstr("not an MCUboot image"));
  // Too large for the 128 KiB slot.
  auto big = TestImage("3.0.0", 0x21000, 3);
  u = client.Upgrade(big, {});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code(), Errc::kNoSpace);
  EXPECT_THAT(std::string(u.error().message()), HasSubstr("does not fit slot 1"));
  // Uploaded directly, the device answers IMG 30.
  r = client.Upload(big, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("error 30 (INVALID_IMAGE_TOO_LARGE)"));
}

TEST(UpgradeTest, APowerCycleHookFinishesTheUpgradeOfADeviceWithoutRemoteReset) {
  auto config = SmallDevice(384);
  config.os_group = false;
  Bench b(config);
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Session session(dlink, b.ex);
  Client client(session);
  UpgradeOptions opt;
  opt.poll_interval = std::chrono::milliseconds(50);
  int uploads_started = 0, uploads_done = 0, cycles = 0;
  std::string refusal;
  opt.on_upload_start = [&] { ++uploads_started; };
  opt.on_upload_done = [&](const UploadResult& u) {
    ++uploads_done;
    EXPECT_GT(u.size, 0u);
  };
  opt.power_cycle = [&](const Error& refused) -> Status {
    ++cycles;
    refusal = std::string(refused.message());
    EXPECT_TRUE(refused.has_smp() && refused.smp_mgmt_rc());
    EXPECT_EQ(refused.smp_rc(), 8);  // MGMT_ERR_ENOTSUP
    return b.dev.Boot().ok() ? Ok() : Error(Errc::kIo, "boot failed");
  };
  auto r = client.Upgrade(ReadVector("unsigned-hashonly.bin"), opt);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(uploads_started, 1);
  EXPECT_EQ(uploads_done, 1);
  EXPECT_EQ(cycles, 1);
  EXPECT_THAT(refusal, HasSubstr("os reset"));
  EXPECT_EQ(b.dev.boot_count(), 2u);
  const ImageSlotState* s0 = Slot(r->final_state, 0);
  ASSERT_NE(s0, nullptr);
  EXPECT_TRUE(s0->active && s0->confirmed);
  EXPECT_EQ(s0->hash, r->hash);
}

TEST(UpgradeTest, DeviceWithoutOsGroupSaysHowTheImageGetsBooted) {
  // The image group only (nRF Desktop's seed-era smp module): no params, no reset.
  auto config = SmallDevice(384);
  config.os_group = false;
  Bench b(config);
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Session session(dlink, b.ex);
  Client client(session);
  auto r = client.Upgrade(ReadVector("unsigned-hashonly.bin"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kRemote);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("no remote reset"));
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("power-cycle"));
  EXPECT_FALSE(client.params().has_value());
  EXPECT_EQ(b.dev.boot_count(), 1u);
  auto st = client.ImageState();
  ASSERT_TRUE(st.ok());
  const ImageSlotState* s1 = Slot(*st, 1);
  ASSERT_NE(s1, nullptr);
  EXPECT_TRUE(s1->pending);
}

TEST(UploadTest, V1OnlyDeviceStillUpgradesThroughFallback) {
  // A legacy server: ignores the version bits and answers version 0.
  class Legacy : public Link {
   public:
    explicit Legacy(Link& in) : in_(in) {}
    Status Send(ConstByteSpan p) override {
      std::vector<uint8_t> c(p.begin(), p.end());
      c[0] &= 0x07;
      return in_.Send(c);
    }
    void SetReceiveHandler(ReceiveHandler h) override { in_.SetReceiveHandler(std::move(h)); }
    LinkInfo Info() const override { return in_.Info(); }
    Link& in_;
  };
  Bench b;
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Legacy legacy(dlink);
  Session session(legacy, b.ex);
  Client client(session);
  auto r = client.Upgrade(ReadVector("unsigned-hashonly.bin"), {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(session.using_v2());
}

// ------------------------------------------------------------------------------------------
// Round trip, retransmission timeout, loss recovery, packet-size fallback

TEST(RttTest, FollowsRfc6298) {
  RttEstimator e;
  EXPECT_FALSE(e.has_sample());
  EXPECT_EQ(e.Rto(sim::Ms(3000)), sim::Ms(1000));  // no sample: 1 s
  EXPECT_EQ(e.Rto(sim::Ms(200)), sim::Ms(200));    // or the configured timeout if shorter
  e.Sample(sim::Ms(100));
  EXPECT_EQ(e.srtt(), sim::Ms(100));
  EXPECT_EQ(e.rttvar(), sim::Ms(50));
  EXPECT_EQ(e.Rto(sim::Ms(3000)), sim::Ms(300));
  e.Sample(sim::Ms(200));
  EXPECT_EQ(e.rttvar(), sim::Us(62500));  // 3/4 * 50 + 1/4 * |100 - 200|
  EXPECT_EQ(e.srtt(), sim::Us(112500));   // 7/8 * 100 + 1/8 * 200
  EXPECT_EQ(e.Rto(sim::Ms(3000)), sim::Us(362500));
  EXPECT_EQ(e.Rto(sim::Ms(200)), sim::Ms(200));  // bounded by the configured timeout
  RttEstimator fast;
  for (int i = 0; i < 50; ++i) fast.Sample(sim::Us(20));
  EXPECT_EQ(fast.Rto(sim::Ms(3000)), RttEstimator::kMinRto);  // and from below
}

// A link that loses the next `drop_next` packets the session sends.
class LossyScriptLink : public Link {
 public:
  explicit LossyScriptLink(Link& in) : in_(in) {}
  Status Send(ConstByteSpan p) override {
    times.push_back(now ? now() : Duration(0));
    if (drop_next > 0) {
      --drop_next;
      return {};
    }
    return in_.Send(p);
  }
  void SetReceiveHandler(ReceiveHandler h) override { in_.SetReceiveHandler(std::move(h)); }
  LinkInfo Info() const override { return in_.Info(); }
  int drop_next = 0;
  std::vector<Duration> times;
  std::function<Duration()> now;
  Link& in_;
};

TEST(SessionTest, RetransmitsAtTheMeasuredRtoAndKeepsTheConfiguredPatience) {
  Bench b;
  simlink::DevicePacketLink dlink(b.dev, b.ex, {.latency = sim::Ms(1)});
  LossyScriptLink link(dlink);
  link.now = [&] { return b.ex.Now(); };
  Session s(link, b.ex, {.timeout = sim::Ms(3000), .retries = 3});
  ASSERT_TRUE(s.Call(EchoRequest("a")).ok());  // measures a 2 ms round trip
  EXPECT_EQ(s.rtt().srtt(), sim::Ms(2));
  const Duration rto = s.Rto();
  EXPECT_LT(rto, sim::Ms(10));
  link.drop_next = 2;
  link.times.clear();
  auto r = s.Call(EchoRequest("b"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(EchoText(r), "b");
  ASSERT_EQ(link.times.size(), 3u);
  EXPECT_EQ(link.times[1] - link.times[0], rto);      // not 3 s
  EXPECT_EQ(link.times[2] - link.times[1], 2 * rto);  // backoff
  // A device that stops answering still gets (retries + 1) * timeout of patience.
  link.drop_next = 1000;
  const Duration start = b.ex.Now();
  auto dead = s.Call(EchoRequest("c"));
  ASSERT_FALSE(dead.ok());
  EXPECT_EQ(dead.error().code(), Errc::kTimeout);
  EXPECT_GE(b.ex.Now() - start, sim::Ms(12000));
  EXPECT_LT(b.ex.Now() - start, sim::Ms(15000));
}

TEST(UploadTest, LossCostsRoundTripsNotTimeouts) {
  // 10 % loss each way, 3 % duplication and reordering, 1 ms one way, default session and
  // upload options (3 s timeout): every loss is recovered from the device's offsets or the
  // measured RTO, never by waiting out the configured timeout.
  FaultConfig faults;
  faults.drop = 0.10;
  faults.duplicate = 0.03;
  faults.reorder = 0.03;
  faults.delay = sim::Ms(1);
  faults.reorder_delay = sim::Ms(3);
  uint64_t gaps = 0, timeouts = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Bench b(SmallDevice(1024, 4));
    simlink::DevicePacketLink dlink(b.dev, b.ex, {.latency = sim::Us(10)});
    LinkFilter link(dlink, b.ex, faults, faults, seed);
    Session session(link, b.ex);
    Client client(session);
    auto image = TestImage("2.0.0", 60000, static_cast<uint32_t>(seed));
    UploadOptions opt;
    opt.skip_if_present = false;
    auto r = client.Upload(image, opt);
    ASSERT_TRUE(r.ok()) << "seed " << seed << ": " << r.error().message();
    EXPECT_EQ(r->match, std::optional<bool>(true));
    gaps += r->fast_retransmits;
    timeouts += r->timeouts;
    // ~60 chunks, each losing a request or an answer one time in five: without fast
    // recovery this takes tens of seconds.
    EXPECT_LT(r->elapsed_s, 1.0) << "seed " << seed;
  }
  EXPECT_GT(gaps, 20u);  // the faults hit
  std::printf("20 lossy uploads: %llu fast retransmits, %llu timeouts\n",
              static_cast<unsigned long long>(gaps), static_cast<unsigned long long>(timeouts));
}

// What Zephyr's UDP transport does (smp-protocol.md §8.5): a datagram above its MTU is cut
// short and then answered rc 9; or (`silent`) a path that drops large datagrams.
class SmallPathLink : public Link {
 public:
  SmallPathLink(Link& in, size_t link_mtu, size_t path_mtu, bool silent)
      : in_(in), link_mtu_(link_mtu), path_mtu_(path_mtu), silent_(silent) {}
  Status Send(ConstByteSpan p) override {
    sizes.push_back(p.size());
    if (p.size() <= path_mtu_) return in_.Send(p);
    if (silent_) return {};
    return in_.Send(p.first(path_mtu_));
  }
  void SetReceiveHandler(ReceiveHandler h) override { in_.SetReceiveHandler(std::move(h)); }
  LinkInfo Info() const override { return {link_mtu_, false, 0}; }
  std::vector<size_t> sizes;

 private:
  Link& in_;
  size_t link_mtu_, path_mtu_;
  bool silent_;
};

TEST(UploadTest, FallsBackWhenFullSizeRequestsAreAnsweredRc9OrLost) {
  for (bool silent : {false, true}) {
    for (bool probe : {true, false}) {
      if (silent && !probe) continue;  // covered by the probe: the upload never starts there
      SCOPED_TRACE(std::string(silent ? "dropped" : "rc 9") + (probe ? ", probe" : ", no probe"));
      Bench b(SmallDevice(2475, 4));
      simlink::DevicePacketLink dlink(b.dev, b.ex, {.mtu = 4096});
      SmallPathLink link(dlink, 2400, 1500, silent);
      Session session(link, b.ex, {.timeout = sim::Ms(200), .retries = 2});
      Client client(session);
      auto image = TestImage("2.0.0", 50000, 4);
      UploadOptions opt;
      opt.probe_packet_size = probe;
      std::vector<MtuFallback> seen;
      opt.on_mtu_fallback = [&](const MtuFallback& f) { seen.push_back(f); };
      auto r = client.Upload(image, opt);
      ASSERT_TRUE(r.ok()) << r.error().message();
      EXPECT_EQ(r->match, std::optional<bool>(true));
      ASSERT_EQ(r->mtu_fallbacks.size(), 1u);
      EXPECT_EQ(r->mtu_fallbacks[0].from, 2400u);
      EXPECT_EQ(r->mtu_fallbacks[0].to, 1472u);
      EXPECT_THAT(r->mtu_fallbacks[0].reason, HasSubstr(silent ? "no answer" : "rc 9"));
      EXPECT_EQ(seen.size(), 1u);
      EXPECT_EQ(r->packet_size, 1472u);
      EXPECT_EQ(session.MaxPacketSize(), 1472u);
      // After the fallback every request fits the path.
      auto first_small =
          std::find_if(link.sizes.begin(), link.sizes.end(), [](size_t n) { return n == 1472; });
      ASSERT_NE(first_small, link.sizes.end());
      for (auto it = first_small; it != link.sizes.end(); ++it) EXPECT_LE(*it, 1472u);
    }
  }
}

TEST(UploadTest, FallbackStopsAtTheFloorWithAClearError) {
  Bench b(SmallDevice(2475, 4));
  simlink::DevicePacketLink dlink(b.dev, b.ex, {.mtu = 4096});
  SmallPathLink link(dlink, 2400, 100, false);  // nothing above 100 bytes gets through
  Session session(link, b.ex, {.timeout = sim::Ms(200), .retries = 1});
  Client client(session);
  auto r = client.Upload(TestImage("2.0.0", 5000, 4), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNoSpace);
  EXPECT_THAT(std::string(r.error().message()),
              HasSubstr("packets of 128 bytes do not get through"));
  EXPECT_EQ(session.mtu_fallbacks().size(), 9u);  // 2400 -> 1472 -> ... -> 128
}

TEST(UploadTest, AnotherUploadTakingOverIsNamed) {
  // Zephyr keeps one upload; a new first chunk restarts it. The client that loses the
  // device's upload state says so instead of writing its data at the other's offsets.
  Bench b(SmallDevice(1024, 4));
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Session session(dlink, b.ex);
  Client client(session);
  auto mine = TestImage("2.0.0", 40000, 1);
  auto theirs = TestImage("3.0.0", 40000, 2);
  bool started = false;
  UploadOptions opt;
  opt.max_window = 1;
  opt.progress = [&](const Progress& p) {
    if (started || p.offset < 20000) return;
    started = true;
    // Another client's first chunk reaches the device directly.
    smp::Header h;
    h.op = 2;
    h.version = smp::kVersion2;
    h.group = smp::kGroupImage;
    h.id = 1;
    h.seq = 200;
    std::vector<uint8_t> payload;
    auto sha = mcuboot::Hash(mcuboot::HashAlg::kSha256, theirs);
    ASSERT_TRUE(sha.ok());
    EncodeUploadPayload(payload, true, 0, theirs.size(), 0, sha->view(), false,
                        ConstByteSpan(theirs).first(600));
    std::vector<uint8_t> frame(smp::kHeaderSize + payload.size());
    h.length = static_cast<uint16_t>(payload.size());
    ASSERT_TRUE(smp::EncodeHeader(h, frame).ok());
    std::copy(payload.begin(), payload.end(), frame.begin() + smp::kHeaderSize);
    class Null : public smp::ResponseSink {
      void SendResponse(ConstByteSpan) override {}
    } sink;
    b.dev.HandlePacket(frame, sink);
  };
  auto r = client.Upload(mine, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kBadState);
  EXPECT_THAT(std::string(r.error().message()), HasSubstr("another upload took over the device"));
}

}  // namespace
}  // namespace smpkit::client

namespace smpkit::client {
namespace {

// Statistics through a device: the counters are the device's own, counted since its boot.
TEST(StatTest, DeviceCountsItsUploadRequestsAndFlashWrites) {
  device::DeviceConfig config = SmallDevice(1024);
  config.stat_group = true;
  Bench b(config);
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Session session(dlink, b.ex);
  Client client(session);
  auto list = client.StatList();
  ASSERT_TRUE(list.ok()) << list.error().message();
  EXPECT_EQ(*list, (std::vector<std::string>{"smp", "flash", "img"}));
  const auto image = TestImage("2.0.0", 20000, 9);
  auto up = client.Upload(image, {});
  ASSERT_TRUE(up.ok()) << up.error().message();
  auto img = client.StatShow("img");
  ASSERT_TRUE(img.ok()) << img.error().message();
  ASSERT_EQ(img->fields.size(), 1u);
  EXPECT_EQ(img->fields[0], (std::pair<std::string, uint64_t>{"upload_bytes", image.size()}));
  auto smp_stats = client.StatShow("smp");
  ASSERT_TRUE(smp_stats.ok());
  std::map<std::string, uint64_t> f(smp_stats->fields.begin(), smp_stats->fields.end());
  // The upload's chunks and its image-state read (is the image there already?).
  EXPECT_EQ(f["img_requests"], up->chunks_sent + 1);
  EXPECT_EQ(f["img_errors"], 0u);
  EXPECT_EQ(f["stat_requests"], 3u);  // list, show img, this one
  EXPECT_EQ(f["errors"], f["os_errors"] + f["img_errors"] + f["stat_errors"]);
  EXPECT_GE(f["requests"], f["img_requests"] + f["stat_requests"]);
  auto flash = client.StatShow("flash");
  ASSERT_TRUE(flash.ok());
  std::map<std::string, uint64_t> ff(flash->fields.begin(), flash->fields.end());
  EXPECT_GE(ff["bytes_written"], image.size());
  // An unknown group is an error that names the group's code.
  auto none = client.StatShow("nope");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(std::string(none.error().message()).find("INVALID_STAT_NAME"), std::string::npos)
      << none.error().message();
  // A reset starts the counters afresh, as Zephyr's RAM statistics.
  ASSERT_TRUE(b.dev.Boot().ok());
  auto after = client.StatShow("img");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->fields[0].second, 0u);
}

TEST(StatTest, ShowDecodesTheDocumentedShapeAndRefusesOthers) {
  // {"name": "smp_svr_stats", "fields": {"ticks": 7, "big": 4294967295}} (definite, hand-made)
  const std::vector<uint8_t> ok = {
      0xa2, 0x64, 'n', 'a', 'm', 'e', 0x6d, 's', 'm', 'p', '_', 's', 'v', 'r', '_', 's', 't', 'a',
      't', 's', 0x66, 'f', 'i', 'e', 'l', 'd', 's', 0xa2, 0x65, 't', 'i', 'c', 'k', 's', 0x07,
      0x63, 'b', 'i', 'g', 0x1a, 0xff, 0xff, 0xff, 0xff};
  auto g = DecodeStatShowResponse(ok);
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->name, "smp_svr_stats");
  ASSERT_EQ(g->fields.size(), 2u);
  EXPECT_EQ(g->fields[1].second, 4294967295u);
  // A negative counter and a missing fields map are refused.
  const std::vector<uint8_t> negative = {0xa1, 0x66, 'f', 'i', 'e', 'l', 'd', 's',
                                         0xa1, 0x61, 'x', 0x20};
  EXPECT_FALSE(DecodeStatShowResponse(negative).ok());
  const std::vector<uint8_t> empty = {0xa0};
  EXPECT_FALSE(DecodeStatShowResponse(empty).ok());
  // A list whose entry is not text.
  const std::vector<uint8_t> bad_list = {0xa1, 0x69, 's', 't', 'a', 't', '_', 'l',
                                         'i', 's', 't', 0x81, 0x01};
  EXPECT_FALSE(DecodeStatListResponse(bad_list).ok());
}

}  // namespace
}  // namespace smpkit::client

namespace smpkit::client {
namespace {

// Enumeration through a device: exactly the groups it has, in Zephyr's registration order.
TEST(EnumTest, DeviceListsTheGroupsItHas) {
  device::DeviceConfig config = SmallDevice(1024);
  config.stat_group = true;
  config.enum_group = true;
  Bench b(config);
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Session session(dlink, b.ex);
  Client client(session);
  auto count = client.EnumCount();
  ASSERT_TRUE(count.ok()) << count.error().message();
  EXPECT_EQ(*count, 4u);
  auto list = client.EnumList();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<uint16_t>{10, 1, 0, 2}));
  auto last = client.EnumSingle(3);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->group, 2u);
  EXPECT_TRUE(last->end);
  EXPECT_FALSE(client.EnumSingle(4).ok());
  const uint16_t wanted[] = {1};
  auto details = client.EnumDetails(wanted);
  ASSERT_TRUE(details.ok());
  ASSERT_EQ(details->size(), 1u);
  EXPECT_EQ((*details)[0].name, std::optional<std::string>("img mgmt"));
  // Without the OS group (the seed's nRF Desktop): not listed.
  config.os_group = false;
  Bench b2(config);
  simlink::DevicePacketLink dlink2(b2.dev, b2.ex);
  Session session2(dlink2, b2.ex);
  Client client2(session2);
  auto list2 = client2.EnumList();
  ASSERT_TRUE(list2.ok());
  EXPECT_EQ(*list2, (std::vector<uint16_t>{10, 1, 2}));
}

// File management (group 8) through the client against the simulated device's group.
struct FsBench {
  explicit FsBench(uint64_t quota = 1u << 20, size_t buf_size = 1024, size_t buf_count = 5)
      : files(quota), bench(Config(buf_size, buf_count, files)) {}
  static device::DeviceConfig Config(size_t buf_size, size_t buf_count, mgmt::FileSystem& fs) {
    device::DeviceConfig c = SmallDevice(buf_size, buf_count);
    c.fs_group = true;
    c.file_system = &fs;
    return c;
  }
  mgmt::RamFileSystem files;
  Bench bench;
};

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(FsTest, UploadStatHashAndDownloadRoundTrip) {
  FsBench f;
  simlink::DevicePacketLink dlink(f.bench.dev, f.bench.ex);
  Session session(dlink, f.bench.ex);
  Client client(session);
  const auto data = RandomBytes(100000, 3);
  UploadOptions o;
  auto up = client.FsUpload(data, "/lfs1/data.bin", o);
  ASSERT_TRUE(up.ok()) << up.error().message();
  EXPECT_GT(up->max_window_used, 1u);
  EXPECT_EQ(f.files.files()["data.bin"], data);
  auto size = client.FsStatus("/lfs1/data.bin");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, data.size());
  auto crc = client.FsHash("/lfs1/data.bin");
  ASSERT_TRUE(crc.ok()) << crc.error().message();
  EXPECT_EQ(crc->type, "crc32");
  EXPECT_EQ(crc->crc, Crc32(data));
  EXPECT_EQ(crc->len, data.size());
  auto sha = client.FsHash("/lfs1/data.bin", "sha256", 10, 100);
  ASSERT_TRUE(sha.ok());
  auto want = mcuboot::Hash(mcuboot::HashAlg::kSha256, ConstByteSpan(data).subspan(10, 100));
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(sha->output, std::vector<uint8_t>(want->view().begin(), want->view().end()));
  EXPECT_EQ(sha->off, 10u);
  EXPECT_EQ(sha->len, 100u);
  auto types = client.FsSupportedHashes();
  ASSERT_TRUE(types.ok());
  ASSERT_EQ(types->size(), 2u);
  EXPECT_EQ((*types)[1].name, "sha256");
  EXPECT_EQ((*types)[1].size, 32u);
  FsDownloadOptions d;
  auto down = client.FsDownload("/lfs1/data.bin", d);
  ASSERT_TRUE(down.ok()) << down.error().message();
  EXPECT_EQ(down->data, data);
  EXPECT_EQ(down->size, data.size());
  EXPECT_EQ(down->chunk_data, 1024u - 50u);  // NETBUF - (35 + 3 * 5)
  EXPECT_GT(down->max_window_used, 1u);
  EXPECT_TRUE(client.FsClose().ok());
  // An empty file.
  ASSERT_TRUE(client.FsUpload({}, "/lfs1/empty", o).ok());
  EXPECT_TRUE(f.files.files()["empty"].empty());
  auto none = client.FsDownload("/lfs1/empty", d);
  ASSERT_TRUE(none.ok()) << none.error().message();
  EXPECT_TRUE(none->data.empty());
}

TEST(FsTest, DeviceErrorsAreNamed) {
  FsBench f(1000);
  simlink::DevicePacketLink dlink(f.bench.dev, f.bench.ex);
  Session session(dlink, f.bench.ex);
  Client client(session);
  auto missing = client.FsStatus("/lfs1/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.error().message()), HasSubstr("FILE_NOT_FOUND"));
  FsDownloadOptions d;
  auto down = client.FsDownload("/lfs1/nope", d);
  ASSERT_FALSE(down.ok());
  EXPECT_THAT(std::string(down.error().message()), HasSubstr("FILE_NOT_FOUND"));
  UploadOptions o;
  auto big = client.FsUpload(RandomBytes(1001, 1), "/lfs1/big", o);
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(std::string(big.error().message()), HasSubstr("FILE_WRITE_FAILED"));
  EXPECT_EQ(f.files.files().count("big"), 0u);
  auto out = client.FsUpload(RandomBytes(10, 1), "/lfs1/../x", o);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.error().message()), HasSubstr("FILE_INVALID_NAME"));
}

TEST(FsTest, UploadAndDownloadResume) {
  FsBench f;
  simlink::DevicePacketLink dlink(f.bench.dev, f.bench.ex);
  Session session(dlink, f.bench.ex);
  Client client(session);
  const auto data = RandomBytes(30000, 5);
  UploadOptions o;
  // The first 12,345 bytes arrived before the connection went.
  f.files.files()["r.bin"] = std::vector<uint8_t>(data.begin(), data.begin() + 12345);
  auto up = client.FsUpload(data, "/lfs1/r.bin", o, 12345);
  ASSERT_TRUE(up.ok()) << up.error().message();
  EXPECT_EQ(up->resumed_from, 12345u);
  EXPECT_EQ(f.files.files()["r.bin"], data);
  FsDownloadOptions d;
  d.start_offset = 20000;
  auto down = client.FsDownload("/lfs1/r.bin", d);
  ASSERT_TRUE(down.ok()) << down.error().message();
  EXPECT_EQ(down->data, std::vector<uint8_t>(data.begin() + 20000, data.end()));
  // A wrong resume point: the device names the offset it has, and the upload goes on from
  // there (FILE_OFFSET_NOT_VALID with "len").
  f.files.files()["r.bin"].resize(1000);
  ASSERT_TRUE(client.FsClose().ok());
  auto wrong = client.FsUpload(data, "/lfs1/r.bin", o, 2000);
  ASSERT_TRUE(wrong.ok()) << wrong.error().message();
  EXPECT_EQ(f.files.files()["r.bin"], data);
}

TEST(FsTest, LossyLinkTransfersLand) {
  FaultConfig faults;
  faults.drop = 0.10;
  faults.duplicate = 0.05;
  faults.reorder = 0.05;
  faults.delay = sim::Us(200);
  faults.reorder_delay = sim::Ms(2);
  uint64_t retransmits = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    FsBench f(1u << 20, 512, 5);
    simlink::DevicePacketLink dlink(f.bench.dev, f.bench.ex);
    LinkFilter link(dlink, f.bench.ex, faults, faults, seed);
    SessionConfig sc;
    sc.retries = 8;
    Session session(link, f.bench.ex, sc);
    Client client(session);
    const auto data = RandomBytes(8000 + seed * 97, static_cast<uint32_t>(seed));
    UploadOptions o;
    auto up = client.FsUpload(data, "/lfs1/f", o);
    ASSERT_TRUE(up.ok()) << "seed " << seed << ": " << up.error().message();
    ASSERT_EQ(f.files.files()["f"], data) << "seed " << seed;
    FsDownloadOptions d;
    auto down = client.FsDownload("/lfs1/f", d);
    ASSERT_TRUE(down.ok()) << "seed " << seed << ": " << down.error().message();
    ASSERT_EQ(down->data, data) << "seed " << seed;
    retransmits += up->retransmits + down->retransmits;
  }
  EXPECT_GT(retransmits, 30u);  // the faults really hit
}

// The file, shell and settings decoders against answers written by hand from Zephyr's group
// pages and tests (indefinite maps, as zcbor encodes them), not from smpkit's device.
TEST(NewGroupDecoders, HandWrittenZephyrAnswers) {
  // fs_mgmt_hash_supported's expected answer.
  auto types = DecodeFsSupportedHashesResponse(smpkit::testing::FromHex(
      "bf 65 7479706573 bf 65 6372633332 bf 66 666f726d6174 00 64 73697a65 04 ff "
      "66 736861323536 bf 66 666f726d6174 01 64 73697a65 18 20 ff ff ff"));
  ASSERT_TRUE(types.ok()) << types.error().message();
  ASSERT_EQ(types->size(), 2u);
  EXPECT_EQ((*types)[0].name, "crc32");
  EXPECT_EQ((*types)[0].format, 0u);
  EXPECT_EQ((*types)[0].size, 4u);
  EXPECT_EQ((*types)[1].name, "sha256");
  EXPECT_EQ((*types)[1].size, 32u);
  // {"type": "crc32", "off": 6, "len": 5, "output": 0x3a771143}
  auto crc = DecodeFsHashResponse(
      smpkit::testing::FromHex("bf 64 74797065 65 6372633332 63 6f6666 06 63 6c656e 05 66 6f7574707574 1a 3a771143 ff"));
  ASSERT_TRUE(crc.ok()) << crc.error().message();
  EXPECT_EQ(crc->type, "crc32");
  EXPECT_EQ(crc->off, 6u);
  EXPECT_EQ(crc->len, 5u);
  EXPECT_EQ(crc->crc, 0x3a771143u);
  EXPECT_EQ(crc->output, (std::vector<uint8_t>{0x3a, 0x77, 0x11, 0x43}));
  // An output that is text is no hash.
  EXPECT_FALSE(DecodeFsHashResponse(
                   smpkit::testing::FromHex("bf 64 74797065 65 6372633332 63 6c656e 05 66 6f7574707574 61 78 ff"))
                   .ok());
  // Download at 0: {"off": 0, "data": "hello", "len": 11}; later ones have no "len".
  auto dl = DecodeFsDownloadResponse(
      smpkit::testing::FromHex("bf 63 6f6666 00 64 64617461 45 68656c6c6f 63 6c656e 0b ff"));
  ASSERT_TRUE(dl.ok());
  EXPECT_EQ(dl->len, std::optional<uint64_t>(11));
  EXPECT_EQ(dl->data.size(), 5u);
  EXPECT_FALSE(DecodeFsDownloadResponse(smpkit::testing::FromHex("bf 63 6f6666 00 ff")).ok());  // no data
  auto len = DecodeFsStatusResponse(smpkit::testing::FromHex("bf 63 6c656e 19 0400 ff"));
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(*len, 1024u);
  // Shell: {"o": "hi\r\n", "ret": 0}, and the legacy {"o": ..., "rc": -8}.
  auto sh = DecodeShellExecResponse(smpkit::testing::FromHex("bf 61 6f 64 68690d0a 63 726574 00 ff"));
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh->output, "hi\r\n");
  EXPECT_EQ(sh->ret, 0);
  auto legacy = DecodeShellExecResponse(smpkit::testing::FromHex("bf 61 6f 60 62 7263 27 ff"));
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->ret, -8);
  // Settings read: {"val": h'01020304', "max_size": 32} (Zephyr's test asking for 4019).
  auto val = DecodeSettingsReadResponse(smpkit::testing::FromHex("bf 63 76616c 44 01020304 68 6d61785f73697a65 18 20 ff"));
  ASSERT_TRUE(val.ok());
  EXPECT_EQ(val->val, (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(val->max_size, std::optional<uint32_t>(32));
  EXPECT_FALSE(DecodeSettingsReadResponse(smpkit::testing::FromHex("bf 63 76616c 61 78 ff")).ok());  // text value
}

// A device built with CONFIG_MCUMGR_GRP_SHELL_LEGACY_RC_RETURN_CODE answers the command's
// return value as "rc": the client reports it as the command's, not as a device error.
TEST(NewGroupDecoders, ShellExecTakesTheLegacyRcAsTheCommandsReturnValue) {
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  ScriptLink link;
  Session s(link, ex, {.timeout = sim::Ms(100), .retries = 0});
  Client c(s);
  std::optional<Result<ShellAnswer>> r;
  ex.PostAfter(sim::Ms(1), [&] {
    ASSERT_EQ(link.sent.size(), 1u);
    link.Reply(link.sent[0], 1, [](cbor::Writer& w) {
      w.Key("o").Text("foo: command not found\r\n").Key("rc").Int(-8);
    });
  });
  const std::vector<std::string> argv = {"foo"};
  r = c.ShellExec(argv);
  ASSERT_TRUE(r->ok()) << r->error().message();
  EXPECT_EQ((*r)->ret, -8);
  EXPECT_EQ((*r)->output, "foo: command not found\r\n");
}

}  // namespace
}  // namespace smpkit::client

namespace smpkit::client {
namespace {

// The OS clock and bootloader info through a device, with the typed requests and answers.
TEST(OsTest, ClockAndBootloaderInfo) {
  device::DeviceConfig config = SmallDevice(1024);
  config.os.datetime = true;
  Bench b(config);
  simlink::DevicePacketLink dlink(b.dev, b.ex);
  Session session(dlink, b.ex);
  Client client(session);
  auto unset = client.DateTime();
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.error().smp_group(), 0);
  EXPECT_EQ(unset.error().smp_rc(), 4);  // RTC_NOT_SET
  ASSERT_TRUE(client.SetDateTime("2026-12-07T05:45:10").ok());
  auto now = client.DateTime();
  ASSERT_TRUE(now.ok()) << now.error().message();
  EXPECT_EQ(now->substr(0, 19), "2026-12-07T05:45:10");
  EXPECT_FALSE(client.SetDateTime("yesterday").ok());
  auto name = client.Bootloader();
  ASSERT_TRUE(name.ok()) << name.error().message();
  EXPECT_EQ(name->name, std::optional<std::string>("MCUboot"));
  auto mode = client.Bootloader("mode");
  ASSERT_TRUE(mode.ok()) << mode.error().message();
  EXPECT_TRUE(mode->mode.has_value());
  EXPECT_FALSE(mode->name.has_value());
}

}  // namespace
}  // namespace smpkit::client
