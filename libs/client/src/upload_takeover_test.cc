// Two clients uploading to one device at once. The device keeps one upload session, as
// Zephyr's img_mgmt does: a first chunk from another client (another sha) restarts it. The
// client whose session was taken over must stop with an error that says so, instead of
// writing the rest of its image into the other upload; the other upload completes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "smpkit/cbor/writer.h"
#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/device/device.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/simlink/device_link.h"
#include "smpkit/simlink/scheduler_executor.h"

namespace smpkit::client {
namespace {

std::vector<uint8_t> Sha256(const std::vector<uint8_t>& data) {
  auto d = mcuboot::Hash(mcuboot::HashAlg::kSha256, data);
  EXPECT_TRUE(d.ok());
  return std::vector<uint8_t>(d->bytes.begin(), d->bytes.begin() + 32);
}

TEST(UploadTakeoverTest, TheClientWhoseSessionWasTakenOverSaysSo) {
  device::DeviceConfig config;
  config.slot_size = 0x20000;
  config.server.buf_size = 1024;
  flash::RamFlash flash(config.Geometry());
  device::Device dev(flash, config);
  auto factory = device::MakeFactoryImage("1.0.0", 3000);
  ASSERT_TRUE(factory.ok());
  ASSERT_TRUE(dev.Provision(*factory).ok());
  ASSERT_TRUE(dev.Boot().ok());
  sim::Scheduler sched;
  simlink::SchedulerExecutor ex(sched);
  simlink::DevicePacketLink link_a(dev, ex), link_b(dev, ex);
  Session session_a(link_a, ex), session_b(link_b, ex);
  Client a(session_a), b(session_b);

  auto image_a = device::MakeFactoryImage("2.0.0", 40000, 11);
  auto image_b = device::MakeFactoryImage("3.0.0", 30000, 12);
  ASSERT_TRUE(image_a.ok() && image_b.ok());
  const auto sha_b = Sha256(*image_b);

  // Half-way through A's upload, B's first chunk arrives (its own len and sha).
  bool injected = false;
  std::optional<uint64_t> b_first_off;
  UploadOptions opt;
  opt.progress = [&](const Progress& p) {
    if (injected || p.phase != Phase::kUpload || p.offset < p.total / 2) return;
    injected = true;
    Request req;
    req.op = static_cast<uint8_t>(smp::Op::kWrite);
    req.group = smp::kGroupImage;
    req.id = 1;
    req.payload.resize(1024);
    cbor::Writer w(req.payload);
    w.BeginMap()
        .Key("len")
        .Uint(image_b->size())
        .Key("off")
        .Uint(0)
        .Key("sha")
        .Bytes(sha_b)
        .Key("data")
        .Bytes(ConstByteSpan(image_b->data(), 512))
        .End();
    req.payload.resize(w.size());
    session_b.Submit(std::move(req), [&](Result<Reply> r) {
      uint64_t off = 0;
      if (r.ok() && r->ok() && cbor::DecodeMap(r->payload, {cbor::UintField("off", &off)}).ok()) {
        b_first_off = off;
      }
    });
  };
  auto ra = a.Upload(*image_a, opt);
  ASSERT_TRUE(injected);
  ASSERT_FALSE(ra.ok()) << "A went on writing into B's upload";
  EXPECT_THAT(std::string(ra.error().message()), ::testing::HasSubstr("another upload took over"));
  ASSERT_EQ(b_first_off, std::optional<uint64_t>(512)) << "B's first chunk started a new upload";

  // B resumes its own session (same sha) and completes: the slot holds B's image, whole.
  auto rb = b.Upload(*image_b, {});
  ASSERT_TRUE(rb.ok()) << rb.error().message();
  EXPECT_EQ(rb->match, std::optional<bool>(true));
  auto state = b.ImageState();
  ASSERT_TRUE(state.ok());
  auto parsed = mcuboot::Parse(*image_b);
  ASSERT_TRUE(parsed.ok());
  auto tlv_hash = mcuboot::StoredHash(*parsed);
  ASSERT_TRUE(tlv_hash.ok());
  bool found = false;
  for (const auto& s : *state) {
    if (s.slot != 1) continue;
    found = true;
    EXPECT_EQ(s.version, "3.0.0");
    EXPECT_TRUE(std::equal(s.hash.begin(), s.hash.end(), tlv_hash->view().begin()));
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace smpkit::client
