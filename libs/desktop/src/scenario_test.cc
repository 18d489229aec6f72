// Deterministic scenario tests on virtual time (issue 6 acceptance list): the nRF Desktop
// device with its smp, dfu, dfu_lock and ble_latency modules, driven over the simulated BLE
// link (GATT SMP service) and over the simulated HID config channel.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "smpkit/ble/gatt_smp.h"
#include "smpkit/ble/link.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/central/ble_smp_central.h"
#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/desktop/config_dfu_host.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/simlink/scheduler_executor.h"
#include "smpkit/smp/frame_collector.h"
#include "smpkit/smp/message.h"
#include "smpkit/transport/ble_sar.h"

namespace smpkit::desktop {
namespace {

using sim::Ms;

using Capture = smp::FrameCollector;

struct Reply {
  int64_t rc = 0;
  std::string rsn;
  uint64_t off = 0;
  bool has_off = false;
  bool has_err = false;
  uint64_t err_rc = 0;
};

Reply ParseReply(ConstByteSpan frame) {
  Reply r;
  auto resp = smp::ParseResponse(frame);
  EXPECT_TRUE(resp.ok());
  if (!resp.ok()) return r;
  r.rc = resp->rc;
  r.rsn = std::string(resp->reason);
  if (resp->err) {
    r.has_err = true;
    r.err_rc = resp->err->rc;
  }
  (void)cbor::DecodeMap(resp->payload, {cbor::UintField("off", &r.off, &r.has_off)});
  return r;
}

// A phone: GATT SMP client on the central side of the link, one request at a time.
class Phone {
 public:
  Phone(sim::Scheduler& s, ble::Link& link) : sched_(s), client_(link, 498), reasm_(buf_) {
    client_.SetNotificationHandler([this](ConstByteSpan v) {
      auto r = reasm_.Feed(v);
      if (r.ok() && r->has_value()) response_.emplace((**r).begin(), (**r).end());
    });
  }
  void Setup() {
    bool done = false;
    ASSERT_TRUE(client_.ExchangeMtu([&](uint16_t) { done = true; }).ok());
    ASSERT_TRUE(sched_.RunUntilCondition([&] { return done; }, sched_.Now() + Ms(5000)));
    done = false;
    ASSERT_TRUE(client_.SetNotifications(true, [&] { done = true; }).ok());
    ASSERT_TRUE(sched_.RunUntilCondition([&] { return done; }, sched_.Now() + Ms(5000)));
  }
  std::optional<std::vector<uint8_t>> Transact(ConstByteSpan frame) {
    response_.reset();
    auto frag = transport::BleFragmenter::Create(frame, client_.mtu());
    EXPECT_TRUE(frag.ok());
    while (!frag->Done()) EXPECT_TRUE(client_.WriteWithoutResponse(frag->Next()).ok());
    sched_.RunUntilCondition([&] { return response_.has_value(); }, sched_.Now() + Ms(30000));
    return response_;
  }
  uint16_t mtu() const { return client_.mtu(); }

 private:
  sim::Scheduler& sched_;
  ble::GattSmpClient client_;
  std::array<uint8_t, 2048> buf_{};
  transport::BleReassembler reasm_;
  std::optional<std::vector<uint8_t>> response_;
};

DesktopConfig EraA() {
  auto c = ParsePrjConf(DefaultPrjConf());
  EXPECT_TRUE(c.ok()) << c.error().message();
  return *c;
}

DesktopConfig NewerEra() {
  std::string conf(DefaultPrjConf());
  conf += "CONFIG_DESKTOP_SMP_ENABLE=n\nCONFIG_DESKTOP_DFU_MCUMGR_ENABLE=y\n";
  auto c = ParsePrjConf(conf);
  EXPECT_TRUE(c.ok()) << c.error().message();
  return *c;
}

class Scenario : public ::testing::Test {
 protected:
  void Make(DesktopConfig config) {
    DesktopOptions o;
    o.config = std::move(config);
    o.device.slot_size = 0x20000;  // 32 pages
    flash_.emplace(o.device.Geometry());
    flash_->set_timing(flash::Timing::Nrf52());
    dev_.emplace(sched_, *flash_, o);
    dev_->SetLogger([this](sim::Time t, ModuleId m, std::string_view msg) {
      log_.push_back(sim::FormatTime(t) + " " + std::string(ModuleName(m)) + ": " +
                     std::string(msg));
    });
    auto factory = device::MakeFactoryImage("1.0.0", 6000);
    ASSERT_TRUE(factory.ok());
    ASSERT_TRUE(dev_->Provision(*factory).ok());
  }
  void Boot() {
    auto r = dev_->PowerOn();
    ASSERT_TRUE(r.ok()) << r.error().message();
    sched_.RunFor(Ms(1));  // main READY and the init cascade
  }
  // Boots and waits for the background erase to finish.
  void BootClean() {
    Boot();
    ASSERT_TRUE(sched_.RunUntilCondition([&] { return dev_->status().dfu_flash_clean; },
                                         sched_.Now() + Ms(60000)));
    sched_.RunFor(Ms(10));
  }
  std::vector<uint8_t> Update(std::string_view version = "2.0.0", uint32_t size = 20000) {
    auto img = device::MakeFactoryImage(version, size, 7);
    EXPECT_TRUE(img.ok());
    return *img;
  }
  template <typename Body>
  std::vector<uint8_t> Frame(uint8_t op, uint16_t group, uint8_t id, Body&& body) {
    smp::Header h;
    h.op = op;
    h.group = group;
    h.id = id;
    h.seq = seq_++;
    auto f = smp::BuildFrame(h, frame_buf_, body);
    EXPECT_TRUE(f.ok());
    return std::vector<uint8_t>(f->begin(), f->end());
  }
  std::vector<uint8_t> UploadFrame(const std::vector<uint8_t>& image, size_t off, size_t n) {
    return Frame(2, 1, 1, [&](cbor::Writer& w) {
      if (off == 0) w.Key("image").Uint(0).Key("len").Uint(image.size());
      w.Key("off").Uint(off).Key("data").Bytes(ConstByteSpan(image.data() + off, n));
    });
  }
  // One request straight into the device (no BLE).
  Reply Direct(const std::vector<uint8_t>& frame) {
    Capture cap;
    dev_->HandleSmpPacket(frame, cap);
    EXPECT_EQ(cap.frames.size(), 1u);
    return cap.frames.empty() ? Reply{} : ParseReply(cap.frames[0]);
  }
  void DirectUpload(const std::vector<uint8_t>& image, size_t chunk = 256) {
    size_t off = 0;
    while (off < image.size()) {
      const size_t n = std::min(chunk, image.size() - off);
      Reply r = Direct(UploadFrame(image, off, n));
      ASSERT_EQ(r.rc, 0) << r.rsn;
      ASSERT_FALSE(r.has_err);
      ASSERT_EQ(r.off, off + n);
      off += n;
      sched_.RunFor(Ms(20));
    }
  }
  // Hash of the image in the secondary slot, as the image state read reports it.
  std::vector<uint8_t> ImageHash(const std::vector<uint8_t>&) {
    auto s1 = SlotState(1);
    EXPECT_TRUE(s1.has_value() && s1->has_hash);
    return s1 ? std::vector<uint8_t>(s1->hash.begin(), s1->hash.end()) : std::vector<uint8_t>{};
  }
  // After a reset or power cycle: the bootloader's swap takes its flash time, then the
  // application starts.
  void AwaitApplication() {
    ASSERT_TRUE(
        sched_.RunUntilCondition([&] { return dev_->running(); }, sched_.Now() + Ms(600000)));
    sched_.RunFor(Ms(1));
  }
  void TestAndReset(const std::vector<uint8_t>& image) {
    auto hash = ImageHash(image);
    Reply t = Direct(Frame(
        2, 1, 0, [&](cbor::Writer& w) { w.Key("hash").Bytes(hash).Key("confirm").Bool(false); }));
    ASSERT_EQ(t.rc, 0) << t.rsn;
    const uint32_t boots = dev_->boot_count();
    Reply r = Direct(Frame(2, 0, 5, [](cbor::Writer&) {}));
    if (dev_->config().os_group) {
      ASSERT_EQ(r.rc, 0);
      sched_.RunFor(Ms(300));  // OS reset after 250 ms
      AwaitApplication();
    } else {
      ASSERT_EQ(r.rc, 8);  // the seed's era: image group only, so a power cycle
      ASSERT_TRUE(dev_->Reboot().ok());
      AwaitApplication();
    }
    ASSERT_EQ(dev_->boot_count(), boots + 1);
  }
  std::optional<mcuboot::ImageSlotState> SlotState(uint8_t slot) {
    auto st = dev_->device().ImageState();
    EXPECT_TRUE(st.ok());
    for (const auto& s : st->view())
      if (s.slot == slot) return s;
    return std::nullopt;
  }
  bool SlotEquals(const flash::Partition& p, const std::vector<uint8_t>& image) {
    std::vector<uint8_t> got(image.size());
    EXPECT_TRUE(p.Read(0, got).ok());
    return got == image;
  }
  std::string OwnerName() {
    return dev_->lock().owner() ? std::string(dev_->lock().owner()->name) : std::string();
  }
  const flash::Partition& Secondary() { return dev_->device().layout().images[0].secondary; }
  const flash::Partition& Primary() { return dev_->device().layout().images[0].primary; }
  std::string Log() const {
    std::string s;
    for (const auto& l : log_) s += l + "\n";
    return s;
  }

  sim::Scheduler sched_{42};
  std::optional<flash::RamFlash> flash_;
  std::optional<DesktopDevice> dev_;
  std::vector<std::string> log_;
  std::vector<uint8_t> frame_buf_ = std::vector<uint8_t>(1024);
  uint8_t seq_ = 0;
};

ble::LinkConfig PhoneLink() {
  ble::LinkConfig lc;
  lc.params = {24, 0, 400};  // the phone connects at 30 ms
  lc.phy = ble::Phy::k2M;
  lc.data_length = 251;
  lc.encrypted = true;  // bonded phone
  return lc;
}

// A phone connected over the BLE link model, with an SMP client on its GATT link.
struct PhoneSession {
  PhoneSession(sim::Scheduler& sched, DesktopDevice& dev) : link(sched, PhoneLink()), ex(sched) {
    ok = link.Connect().ok() && dev.AttachLink(link).ok() && central.Attach(link).ok() &&
         sched.RunUntilCondition([&] { return central.ready(); }, sched.Now() + Ms(5000));
  }
  ble::Link link;
  central::BleSmpCentral central;
  simlink::SchedulerExecutor ex;
  client::Session session{central, ex};
  client::Client phone{session};
  bool ok = false;
};

// (1) An SMP DFU over the GATT SMP service completes; the latency drops to 0 after the first
// chunk and returns to the preferred 99 between 5 and 10 s after the last one.
TEST_F(Scenario, SmpDfuOverBleLatencyDropsAndRecovers) {
  Make(EraA());
  BootClean();
  ble::Link link(sched_, PhoneLink());
  std::vector<std::pair<sim::Time, uint16_t>> latency_changes;
  dev_->SetParamsObserver(
      [&](const ble::ConnParams& p) { latency_changes.emplace_back(sched_.Now(), p.latency); });
  ASSERT_TRUE(link.Connect().ok());
  ASSERT_TRUE(dev_->AttachLink(link).ok());
  Phone phone(sched_, link);
  phone.Setup();
  // ble_latency's initial request (7.5 ms, latency 0) leaves 1 s after connecting; once
  // secured and idle, the 5 s check restores the preferred latency.
  sched_.RunFor(Ms(12000));
  ASSERT_EQ(link.params().interval, 6);
  ASSERT_EQ(link.params().latency, 99) << Log();
  EXPECT_FALSE(dev_->status().low_latency_enabled);

  const auto image = Update("2.0.0", 30000);
  size_t off = 0;
  sim::Time first_chunk{0}, last_chunk{0};
  const size_t chunk = 256;
  while (off < image.size()) {
    const size_t n = std::min(chunk, image.size() - off);
    auto rsp = phone.Transact(UploadFrame(image, off, n));
    ASSERT_TRUE(rsp.has_value()) << "no response at offset " << off << "\n" << Log();
    Reply r = ParseReply(*rsp);
    ASSERT_EQ(r.rc, 0) << r.rsn;
    ASSERT_EQ(r.off, off + n);
    if (off == 0) {
      first_chunk = sched_.Now();
      EXPECT_TRUE(dev_->status().smp_started);
      ASSERT_NE(dev_->lock().owner(), nullptr);
      EXPECT_EQ(OwnerName(), "smp");
    }
    off += n;
  }
  last_chunk = sched_.Now();
  EXPECT_TRUE(SlotEquals(Secondary(), image));
  EXPECT_GT(dev_->bus().submitted<BleSmpTransferEvent>(), image.size() / chunk - 1);

  // Latency went to 0 within a second of the first chunk and stayed there for the upload.
  auto drop = std::find_if(latency_changes.begin(), latency_changes.end(), [&](const auto& c) {
    return c.first >= first_chunk - Ms(1000) && c.second == 0;
  });
  ASSERT_NE(drop, latency_changes.end()) << Log();
  EXPECT_LT(drop->first - first_chunk, Ms(1000));
  for (auto it = drop; it != latency_changes.end(); ++it)
    EXPECT_EQ(it->second, 0) << "latency raised during the upload at "
                             << sim::FormatTime(it->first);

  sched_.RunFor(Ms(12000));
  auto back = std::find_if(latency_changes.begin(), latency_changes.end(),
                           [&](const auto& c) { return c.first > last_chunk && c.second == 99; });
  ASSERT_NE(back, latency_changes.end()) << Log();
  EXPECT_GE(back->first - last_chunk, Ms(5000));
  EXPECT_LE(back->first - last_chunk, Ms(10000) + Ms(200));  // + the LL update instant
  EXPECT_EQ(link.params().latency, 99);
  // Era A: the lock stays with smp until reboot.
  ASSERT_NE(dev_->lock().owner(), nullptr);
  EXPECT_EQ(OwnerName(), "smp");

  // Test over BLE. The seed's smp module registers the image group only, so the phone's reset
  // is answered rc 8 (not supported); the new image boots at the next power cycle, where the
  // bootloader swaps and the dfu module confirms it.
  auto hash = ImageHash(image);
  auto t = phone.Transact(Frame(
      2, 1, 0, [&](cbor::Writer& w) { w.Key("hash").Bytes(hash).Key("confirm").Bool(false); }));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(ParseReply(*t).rc, 0);
  auto rr = phone.Transact(Frame(2, 0, 5, [](cbor::Writer&) {}));
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(ParseReply(*rr).rc, 8);
  EXPECT_EQ(dev_->boot_count(), 1u);
  ASSERT_TRUE(dev_->Reboot().ok());
  AwaitApplication();
  sched_.RunFor(Ms(1000));
  EXPECT_EQ(dev_->boot_count(), 2u);
  EXPECT_FALSE(dev_->link_attached());
  auto s0 = SlotState(0);
  ASSERT_TRUE(s0.has_value());
  EXPECT_EQ(s0->version.major, 2);
  EXPECT_TRUE(s0->confirmed);
  // Boot #2: the dfu module took the lock for the background erase of the old image (now in
  // the secondary slot) and released it when the erase ended.
  const std::string log = Log();
  const size_t boot2 = log.find("boot #2");
  ASSERT_NE(boot2, std::string::npos);
  EXPECT_NE(log.find("DFU lock taken by Config Channel", boot2), std::string::npos) << log;
  EXPECT_NE(log.find("secondary slot is clean; DFU lock released", boot2), std::string::npos)
      << log;
  EXPECT_EQ(dev_->lock().owner(), nullptr);
}

// (2) While a config-channel DFU holds the lock, an SMP upload is rejected through the
// upload-confirm callback with a clear error, and nothing is written.
TEST_F(Scenario, SmpRejectedWhileConfigChannelDfuHoldsLock) {
  Make(EraA());
  BootClean();
  ConfigDfuHostOptions ho;
  ho.reboot = false;
  ConfigDfuHost host(sched_, *dev_, ho);
  const auto cfg_image = Update("3.0.0", 4000);
  std::optional<Result<ConfigDfuResult>> result;
  host.Run(cfg_image, [&](Result<ConfigDfuResult> r) { result = std::move(r); });
  ASSERT_TRUE(sched_.RunUntilCondition([&] { return dev_->status().dfu_transfer_open; },
                                       sched_.Now() + Ms(10000)));
  ASSERT_NE(dev_->lock().owner(), nullptr);
  EXPECT_EQ(OwnerName(), "Config Channel");

  const auto smp_image = Update("2.0.0", 8000);
  const auto written = flash_->stats().bytes_written;
  const auto erases = flash_->stats().page_erases;
  Reply r = Direct(UploadFrame(smp_image, 0, 256));
  EXPECT_EQ(r.rc, -1);
  EXPECT_EQ(r.rsn, "app reject");
  EXPECT_EQ(flash_->stats().bytes_written, written);
  EXPECT_EQ(flash_->stats().page_erases, erases);
  EXPECT_FALSE(dev_->device().img_group().upload_in_progress());
  EXPECT_FALSE(dev_->status().smp_started);
  EXPECT_EQ(dev_->bus().submitted<BleSmpTransferEvent>(), 0u);
  EXPECT_NE(Log().find("rejected: DFU lock held by Config Channel"), std::string::npos) << Log();

  // The config-channel DFU is undisturbed and completes with the image intact.
  ASSERT_TRUE(
      sched_.RunUntilCondition([&] { return result.has_value(); }, sched_.Now() + Ms(120000)));
  ASSERT_TRUE(result->ok()) << result->error().message();
  EXPECT_TRUE(SlotEquals(Secondary(), cfg_image));
  EXPECT_EQ(dev_->lock().owner(), nullptr);  // released when the DFU ended
  // The lock is free again: now SMP may take it.
  EXPECT_EQ(Direct(UploadFrame(smp_image, 0, 256)).rc, 0);
}

// (3) After an SMP upload began, config-channel DFU is refused until reboot, and works after.
TEST_F(Scenario, ConfigChannelDfuRefusedAfterSmpUploadUntilReboot) {
  Make(EraA());
  BootClean();
  const auto smp_image = Update("2.0.0", 8000);
  ASSERT_EQ(Direct(UploadFrame(smp_image, 0, 256)).rc, 0);
  EXPECT_TRUE(dev_->status().smp_started);
  // Even after a long pause the lock is not given back (Era A: until reboot).
  sched_.RunFor(Ms(60000));
  ASSERT_NE(dev_->lock().owner(), nullptr);
  EXPECT_EQ(OwnerName(), "smp");

  ConfigDfuHostOptions ho;
  ho.busy_timeout = Ms(5000);
  ConfigDfuHost host(sched_, *dev_, ho);
  const auto cfg_image = Update("3.0.0", 5000);
  std::optional<Result<ConfigDfuResult>> result;
  host.Run(cfg_image, [&](Result<ConfigDfuResult> r) { result = std::move(r); });
  ASSERT_TRUE(
      sched_.RunUntilCondition([&] { return result.has_value(); }, sched_.Now() + Ms(30000)));
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code(), Errc::kBusy);
  // The seed's era has four sync states: the refused start leaves the module inactive (no
  // "other owner" state 4), and a status poll does not touch the lock.
  EXPECT_NE(result->error().message().find("refused the start"), std::string_view::npos)
      << result->error().message();
  EXPECT_EQ(OwnerName(), "smp");
  EXPECT_EQ(Log().find("DFU lock taken by smp: "), std::string::npos);  // no owner callbacks
  // The era's lock guards flash work only: a reboot request through the config channel is
  // accepted, and after it the background erase wipes the partial SMP upload.
  std::optional<Result<ConfigEvent>> reboot;
  host.Fetch(DfuOption::kReboot, [&](Result<ConfigEvent> r) { reboot = std::move(r); });
  sched_.RunFor(Ms(100));
  ASSERT_TRUE(reboot.has_value() && reboot->ok());
  EXPECT_EQ((*reboot)->data[0], 1);
  sched_.RunFor(Ms(300));
  ASSERT_EQ(dev_->boot_count(), 2u);

  // Config-channel DFU now goes through, reboots the device, and the new image runs and is
  // confirmed.
  result.reset();
  host.Run(cfg_image, [&](Result<ConfigDfuResult> r) { result = std::move(r); });
  ASSERT_TRUE(
      sched_.RunUntilCondition([&] { return result.has_value(); }, sched_.Now() + Ms(300000)));
  ASSERT_TRUE(result->ok()) << result->error().message() << "\n" << Log();
  EXPECT_TRUE(result->value().rebooted);
  sched_.RunFor(Ms(1000));
  AwaitApplication();
  EXPECT_EQ(dev_->boot_count(), 3u);
  auto s0 = SlotState(0);
  ASSERT_TRUE(s0.has_value());
  EXPECT_EQ(s0->version.major, 3);
  EXPECT_TRUE(s0->confirmed);
}

// (4) The background erase at boot is postponed by HID activity; the lock is released when
// the erase ends.
TEST_F(Scenario, BackgroundEraseWaitsForIdleThenReleasesLock) {
  Make(EraA());
  // The update slot holds an old image, so the erase has real pages to erase.
  const auto old = Update("0.9.0", 30000);
  ASSERT_TRUE(Secondary().Write(0, old).ok());
  Boot();
  ASSERT_NE(dev_->lock().owner(), nullptr);
  EXPECT_EQ(OwnerName(), "Config Channel");
  // The user moves the mouse every 2 s for 40 s.
  sim::Time last_hid{0};
  for (int i = 0; i < 20; ++i) {
    dev_->HidReport();
    last_hid = sched_.Now();
    sched_.RunFor(Ms(2000));
  }
  auto st = dev_->status();
  EXPECT_FALSE(st.dfu_flash_clean);
  EXPECT_GE(st.dfu_erase_postponed, 2u);
  ASSERT_NE(dev_->lock().owner(), nullptr);
  EXPECT_EQ(OwnerName(), "Config Channel");
  // Meanwhile SMP is refused (the DFU module holds the lock).
  EXPECT_EQ(Direct(UploadFrame(Update(), 0, 256)).rc, -1);

  ASSERT_TRUE(sched_.RunUntilCondition([&] { return dev_->status().dfu_flash_clean; },
                                       sched_.Now() + Ms(60000)));
  const sim::Time clean_at = sched_.Now();
  // The first erase step after the last report still sees "in use" and postpones by 15 s; the
  // step before it may have been postponed just before that report: at most two postpones.
  EXPECT_GE(clean_at, last_hid + Ms(15000));
  EXPECT_LE(clean_at, last_hid + Ms(30000) + Ms(32 * 100));  // + the erase itself
  sched_.RunFor(Ms(1));
  EXPECT_EQ(dev_->lock().owner(), nullptr);
  auto erased = Secondary().IsErased(0, Secondary().size());
  ASSERT_TRUE(erased.ok());
  EXPECT_TRUE(*erased);
  EXPECT_EQ(Direct(UploadFrame(Update(), 0, 256)).rc, 0);
}

// (5) The running image is confirmed at boot; with that disabled an unconfirmed test image is
// reverted at the next reset.
TEST_F(Scenario, RunningImageConfirmedAtBoot) {
  Make(EraA());
  BootClean();
  const auto image = Update("2.0.0", 12000);
  DirectUpload(image);
  TestAndReset(image);
  auto s0 = SlotState(0);
  ASSERT_TRUE(s0.has_value());
  EXPECT_EQ(s0->version.major, 2);
  EXPECT_TRUE(s0->confirmed);
  ASSERT_TRUE(dev_->Reboot().ok());
  EXPECT_EQ(SlotState(0)->version.major, 2);
}

// Nobody confirms: the newer-era SMP module without config-channel DFU and with the confirm
// switched off. The test image runs once and MCUboot reverts it at the next reset.
TEST_F(Scenario, UnconfirmedTestImageRevertsWithoutConfirmAtBoot) {
  std::string conf(DefaultPrjConf());
  conf +=
      "CONFIG_DESKTOP_SMP_ENABLE=n\nCONFIG_DESKTOP_DFU_MCUMGR_ENABLE=y\n"
      "CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_ENABLE=n\n";
  auto cfg = ParsePrjConf(conf);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_FALSE(cfg->dfu_lock);
  cfg->confirm_at_boot = false;
  Make(*cfg);
  Boot();
  const auto image = Update("2.0.0", 12000);
  DirectUpload(image);
  TestAndReset(image);
  auto s0 = SlotState(0);
  ASSERT_TRUE(s0.has_value());
  EXPECT_EQ(s0->version.major, 2);
  EXPECT_FALSE(s0->confirmed);
  ASSERT_TRUE(dev_->Reboot().ok());
  s0 = SlotState(0);
  ASSERT_TRUE(s0.has_value());
  EXPECT_EQ(s0->version.major, 1);
  EXPECT_TRUE(s0->confirmed);
}

// A hazard the model exposes: with the confirm switched off but the dfu module still on, its
// boot-time background erase wipes the old image that MCUboot would revert to, so the
// unconfirmed test image keeps running. (nRF Desktop always confirms at boot, which is why
// that erase is safe there.)
TEST_F(Scenario, BackgroundEraseRemovesRevertImageWhenNotConfirmed) {
  auto cfg = EraA();
  cfg.confirm_at_boot = false;
  Make(cfg);
  BootClean();
  const auto image = Update("2.0.0", 12000);
  DirectUpload(image);
  TestAndReset(image);
  ASSERT_TRUE(sched_.RunUntilCondition([&] { return dev_->status().dfu_flash_clean; },
                                       sched_.Now() + Ms(60000)));
  EXPECT_FALSE(SlotState(0)->confirmed);
  ASSERT_TRUE(dev_->Reboot().ok());
  EXPECT_EQ(SlotState(0)->version.major, 2);
}

// Newer era (dfu_mcumgr): rc 11 while the config channel holds the lock; MCUmgr releases the
// lock 5 s after its last command; a config-channel claim then resets the MCUmgr upload.
TEST_F(Scenario, NewerEraLockHoldAndOwnerCallbacks) {
  Make(NewerEra());
  // During the boot erase every upload gets rc 11.
  Boot();
  Reply busy = Direct(UploadFrame(Update(), 0, 256));
  EXPECT_EQ(busy.rc, 11);
  ASSERT_TRUE(sched_.RunUntilCondition([&] { return dev_->status().dfu_flash_clean; },
                                       sched_.Now() + Ms(60000)));
  sched_.RunFor(Ms(1));
  const auto image = Update("2.0.0", 8000);
  ASSERT_EQ(Direct(UploadFrame(image, 0, 256)).rc, 0);
  ASSERT_EQ(Direct(UploadFrame(image, 256, 256)).rc, 0);
  EXPECT_EQ(OwnerName(), "MCUmgr");
  sched_.RunFor(Ms(4900));
  EXPECT_EQ(OwnerName(), "MCUmgr");
  sched_.RunFor(Ms(200));
  EXPECT_EQ(dev_->lock().owner(), nullptr);
  // A config-channel sync claims (and releases) the lock: MCUmgr is told and forgets its upload.
  ConfigDfuHost host(sched_, *dev_);
  std::optional<Result<SyncInfo>> sync;
  host.Sync([&](Result<SyncInfo> r) { sync = std::move(r); });
  sched_.RunFor(Ms(100));
  ASSERT_TRUE(sync.has_value() && sync->ok());
  EXPECT_EQ((*sync)->state, SyncState::kInactive);
  EXPECT_EQ(dev_->lock().owner(), nullptr);
  Reply resumed = Direct(UploadFrame(image, 512, 256));
  EXPECT_EQ(resumed.rc, 0);
  EXPECT_EQ(resumed.off, 0u);  // restart from 0
  // That answer came from the offset check, before the hook: nothing claimed the lock.
  EXPECT_EQ(OwnerName(), "");
}

// ble_latency: latency is never raised on an unsecured link, and a link that does not get
// secured within CONFIG_DESKTOP_BLE_SECURITY_FAIL_TIMEOUT_S (10 s) is disconnected.
TEST_F(Scenario, LatencyNeverRaisedUnsecuredAndSecurityTimeout) {
  Make(EraA());
  BootClean();
  auto lc = PhoneLink();
  lc.encrypted = false;
  ble::Link link(sched_, lc);
  std::vector<uint16_t> latencies;
  dev_->SetParamsObserver([&](const ble::ConnParams& p) { latencies.push_back(p.latency); });
  ASSERT_TRUE(link.Connect().ok());
  const sim::Time connected = sched_.Now();
  ASSERT_TRUE(dev_->AttachLink(link).ok());
  sched_.RunUntil(connected + Ms(9900));
  EXPECT_TRUE(link.connected());
  EXPECT_EQ(link.params().latency, 0);
  for (uint16_t l : latencies) EXPECT_EQ(l, 0);
  sched_.RunUntil(connected + Ms(10500));
  EXPECT_FALSE(link.connected());
  EXPECT_FALSE(dev_->link_attached());
  EXPECT_NE(Log().find("security not established in time"), std::string::npos) << Log();
}

TEST_F(Scenario, LatencyRaisedOnlyOnceSecured) {
  Make(EraA());
  BootClean();
  auto lc = PhoneLink();
  lc.encrypted = false;
  ble::Link link(sched_, lc);
  ASSERT_TRUE(link.Connect().ok());
  const sim::Time connected = sched_.Now();
  ASSERT_TRUE(dev_->AttachLink(link).ok());
  sched_.RunUntil(connected + Ms(8000));
  EXPECT_EQ(link.params().latency, 0);  // the 5 s check found the link unsecured
  dev_->SetLinkSecured();
  sched_.RunUntil(connected + Ms(20000));
  EXPECT_TRUE(link.connected());
  EXPECT_EQ(link.params().latency, 99);
  EXPECT_EQ(link.params().interval, 6);
}

// Config-channel traffic keeps the latency low too (config_event, EARLY).
TEST_F(Scenario, ConfigChannelDfuLowersLatency) {
  Make(EraA());
  BootClean();
  ble::Link link(sched_, PhoneLink());
  ASSERT_TRUE(link.Connect().ok());
  ASSERT_TRUE(dev_->AttachLink(link).ok());
  sched_.RunFor(Ms(12000));
  ASSERT_EQ(link.params().latency, 99);
  ConfigDfuHostOptions ho;
  ho.reboot = false;
  ConfigDfuHost host(sched_, *dev_, ho);
  std::optional<Result<ConfigDfuResult>> result;
  host.Run(Update("3.0.0", 3000), [&](Result<ConfigDfuResult> r) { result = std::move(r); });
  sched_.RunFor(Ms(1500));
  EXPECT_EQ(link.params().latency, 0);
  ASSERT_TRUE(
      sched_.RunUntilCondition([&] { return result.has_value(); }, sched_.Now() + Ms(60000)));
  ASSERT_TRUE(result->ok()) << result->error().message();
  sched_.RunFor(Ms(11000));
  EXPECT_EQ(link.params().latency, 99);
}

// power_manager: suspends after 120 s without keep-alive; a HID report wakes it up; a
// config-channel transfer restricts it to SUSPENDED (never OFF) while open.
TEST_F(Scenario, PowerManagerSuspendsWhenIdle) {
  Make(EraA());
  BootClean();
  sched_.RunFor(Ms(119000));
  EXPECT_FALSE(dev_->status().suspended);
  sched_.RunFor(Ms(2000));
  EXPECT_TRUE(dev_->status().suspended);
  EXPECT_EQ(dev_->bus().submitted<PowerDownEvent>(), 1u);
  dev_->HidReport();
  sched_.RunFor(Ms(1));
  EXPECT_FALSE(dev_->status().suspended);
  EXPECT_EQ(dev_->bus().submitted<WakeUpEvent>(), 1u);
}

// A start that arrives while the store work flushes the sync buffer discards the buffer and
// stops the store; committed progress (cur_offset) is untouched (fuzz_config_dfu regression).
TEST_F(Scenario, StartWhileStoringDiscardsTheBuffer) {
  Make(EraA());
  BootClean();
  ConfigDfuHost host(sched_, *dev_);
  auto step = [&](auto&& issue) {
    bool done = false;
    issue([&](auto r) {
      EXPECT_TRUE(r.ok());
      done = true;
    });
    ASSERT_TRUE(sched_.RunUntilCondition([&] { return done; }, sched_.Now() + Ms(1000)));
  };
  std::array<uint8_t, kStartSize> start{};
  ASSERT_TRUE(EncodeStart({2000, 0x1234, 0}, start).ok());
  step([&](auto cb) { host.Set(DfuOption::kStart, start, cb); });
  ASSERT_TRUE(dev_->status().dfu_transfer_open);
  std::vector<uint8_t> data(25, 0x5A);
  for (int i = 0; i < 20; ++i) step([&](auto cb) { host.Set(DfuOption::kData, data, cb); });
  EXPECT_EQ(dev_->status().dfu_sync_offset, 500u);  // 32 store steps of 5 ms
  SyncInfo info;
  step([&](auto cb) {
    host.Sync([&, cb](Result<SyncInfo> r) {
      if (r.ok()) info = *r;
      cb(r);
    });
  });
  EXPECT_EQ(info.state, SyncState::kStoring);
  step([&](auto cb) { host.Set(DfuOption::kStart, start, cb); });  // "transfer already open"
  const auto written = flash_->stats().bytes_written;
  sched_.RunFor(Ms(500));
  EXPECT_EQ(flash_->stats().bytes_written, written);  // the store stopped with the buffer
  auto st = dev_->status();
  EXPECT_EQ(st.dfu_sync_offset, 0u);
  EXPECT_EQ(st.dfu_cur_offset, 0u);
  EXPECT_TRUE(st.dfu_transfer_open);
}

// The libs/client session (pipelined uploader, test, reset) as the phone, over the GATT SMP
// service: the upload completes, the lock is smp's, then after the reset the new image runs
// and is confirmed, seen by a new session on a new connection.
TEST_F(Scenario, ClientUploadOverBle) {
  Make(EraA());
  BootClean();
  const auto image = Update("2.0.0", 40000);
  std::vector<uint8_t> hash;
  {
    ble::Link link(sched_, PhoneLink());
    ASSERT_TRUE(link.Connect().ok());
    ASSERT_TRUE(dev_->AttachLink(link).ok());
    central::BleSmpCentral central;
    ASSERT_TRUE(central.Attach(link).ok());
    ASSERT_TRUE(sched_.RunUntilCondition([&] { return central.ready(); }, sched_.Now() + Ms(5000)));
    simlink::SchedulerExecutor ex(sched_);
    client::Session session(central, ex);
    client::Client phone(session);
    client::UploadOptions uo;
    uo.max_window = 3;
    const sim::Time t0 = sched_.Now();
    auto up = phone.Upload(image, uo);
    ASSERT_TRUE(up.ok()) << up.error().message() << "\n" << Log();
    EXPECT_EQ(up->size, image.size());
    EXPECT_LT(sched_.Now() - t0, Ms(20000));
    EXPECT_TRUE(SlotEquals(Secondary(), image));
    EXPECT_EQ(OwnerName(), "smp");
    EXPECT_EQ(link.params().latency, 0);
    auto h = client::ImageHashOf(image);
    ASSERT_TRUE(h.ok());
    hash = *h;
    ASSERT_TRUE(phone.ImageTest(hash).ok());
    // The seed's era has no OS group: the reset is refused and the user power-cycles.
    auto reset = phone.Reset();
    ASSERT_FALSE(reset.ok());
    EXPECT_NE(reset.error().message().find("rc 8"), std::string_view::npos);
    ASSERT_TRUE(dev_->Reboot().ok());
    AwaitApplication();
    sched_.RunFor(Ms(1000));
    EXPECT_FALSE(link.connected());
  }
  EXPECT_EQ(dev_->boot_count(), 2u);
  ble::Link link(sched_, PhoneLink());
  ASSERT_TRUE(link.Connect().ok());
  ASSERT_TRUE(dev_->AttachLink(link).ok());
  central::BleSmpCentral central;
  ASSERT_TRUE(central.Attach(link).ok());
  ASSERT_TRUE(sched_.RunUntilCondition([&] { return central.ready(); }, sched_.Now() + Ms(5000)));
  simlink::SchedulerExecutor ex(sched_);
  client::Session session(central, ex);
  client::Client phone(session);
  auto state = phone.ImageState();
  ASSERT_TRUE(state.ok()) << state.error().message();
  ASSERT_FALSE(state->empty());
  EXPECT_EQ((*state)[0].version, "2.0.0");
  EXPECT_TRUE((*state)[0].active);
  EXPECT_TRUE((*state)[0].confirmed);  // confirmed by the dfu module at boot
  EXPECT_EQ((*state)[0].hash, hash);
}

// CONFIG_MCUMGR_GRP_STAT in the newer era: the device's groups and its "ble" group, whose
// counters are the Bluetooth modules' events since the last boot.
TEST_F(Scenario, StatisticsCountTheBluetoothEventsOfAnUpload) {
  DesktopConfig c = NewerEra();
  c.stat_group = true;
  Make(c);
  BootClean();
  PhoneSession ps(sched_, *dev_);
  ASSERT_TRUE(ps.ok);
  client::Client& phone = ps.phone;
  auto list = phone.StatList();
  ASSERT_TRUE(list.ok()) << list.error().message();
  EXPECT_EQ(*list, (std::vector<std::string>{"smp", "flash", "img", "ble"}));
  auto field = [&](const client::StatGroupData& g, const std::string& name) -> uint64_t {
    for (const auto& [k, v] : g.fields)
      if (k == name) return v;
    ADD_FAILURE() << "no field " << name;
    return 0;
  };
  auto before = phone.StatShow("ble");
  ASSERT_TRUE(before.ok());
  EXPECT_GE(field(*before, "peer_events"), 1u);  // the connection
  EXPECT_EQ(field(*before, "smp_transfer_events"), 0u);
  client::UploadOptions uo;
  ASSERT_TRUE(phone.Upload(Update("2.0.0", 20000), uo).ok());
  auto after = phone.StatShow("ble");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(field(*after, "smp_transfer_events"), dev_->bus().submitted<BleSmpTransferEvent>());
  EXPECT_GT(field(*after, "smp_transfer_events"), 0u);
  EXPECT_GE(field(*after, "conn_param_events"), 1u);  // the latency module lowered the latency
}

// CONFIG_MCUMGR_GRP_SETTINGS in the newer era: the mouse keeps saved settings in its settings
// partition across a reboot; the image slots are not touched by them.
TEST_F(Scenario, SettingsSurviveARebootInTheSettingsPartition) {
  DesktopConfig c = NewerEra();
  c.settings_group = true;
  Make(c);
  BootClean();
  auto session_do = [&](const std::function<void(client::Client&)>& body) {
    PhoneSession ps(sched_, *dev_);
    ASSERT_TRUE(ps.ok);
    body(ps.phone);
    (void)ps.link.Disconnect(ble::Role::kCentral);
    sched_.RunFor(Ms(100));
  };
  const std::vector<uint8_t> primary_before(flash_->contents().begin(),
                                            flash_->contents().begin() + 0x20000 + 0xC000);
  session_do([&](client::Client& phone) {
    ASSERT_TRUE(phone.SettingsWrite("app/cpi", AsBytes("1600")).ok());
    ASSERT_TRUE(phone.SettingsSave().ok());
    auto boots = phone.SettingsRead("dev/boots");
    ASSERT_TRUE(boots.ok()) << boots.error().message();
    EXPECT_EQ(std::string(boots->val.begin(), boots->val.end()), "1");
  });
  EXPECT_TRUE(std::equal(primary_before.begin(), primary_before.end(), flash_->contents().begin()));
  ASSERT_TRUE(dev_->Reboot().ok());
  AwaitApplication();
  session_do([&](client::Client& phone) {
    auto cpi = phone.SettingsRead("app/cpi");
    ASSERT_TRUE(cpi.ok()) << cpi.error().message();
    EXPECT_EQ(std::string(cpi->val.begin(), cpi->val.end()), "1600");
  });
}

TEST_F(Scenario, PropagationTableMatchesSeed) {
  Make(EraA());
  Boot();
  const std::string t = dev_->PropagationTable(ModuleId::kSmp);
  EXPECT_NE(t.find("| main "), std::string::npos) << t;
  EXPECT_NE(t.find("| ble_state "), std::string::npos) << t;
  EXPECT_NE(t.find("ble_smp_transfer_event"), std::string::npos) << t;
  EXPECT_NE(t.find("ble_latency"), std::string::npos) << t;
  const std::string all = dev_->PropagationTables();
  if (std::getenv("SMPKIT_PRINT") != nullptr) std::printf("%s", all.c_str());
  EXPECT_NE(all.find("config_event (EARLY)"), std::string::npos) << all;
}

}  // namespace
}  // namespace smpkit::desktop
