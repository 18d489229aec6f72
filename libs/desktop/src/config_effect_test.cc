// Every prj.conf symbol counts (issue 17): for each symbol the parser accepts, flipping it
// either changes what the simulated nRF Desktop device does, or the symbol is declared
// "no effect" and flipping it leaves the device's behaviour byte for byte the same (and the
// configuration carries a start-up warning). The behaviour is one fixed scenario on virtual
// time, recorded as a trace: the device's log, the link it ran, the phone's SMP results (params,
// echo, an upload with a window of 4, test, reset), config-channel fetches, the modules'
// event subscriptions and the power manager after a long idle time.
#include <gtest/gtest.h>

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "smpkit/base/hex.h"
#include "smpkit/ble/link.h"
#include "smpkit/central/ble_smp_central.h"
#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/desktop/config_dfu.h"
#include "smpkit/desktop/desktop_device.h"
#include "smpkit/desktop/kconfig.h"
#include "smpkit/flash/flash.h"
#include "smpkit/simlink/scheduler_executor.h"

namespace smpkit::desktop {
namespace {

using sim::Ms;

struct RunOptions {
  bool encrypted = true;  // the phone's link is encrypted (bonded) from the start
};

// The scenario; returns its trace, or "config error: ..." when the configuration is refused.
std::string RunScenario(const std::string& extra, RunOptions ro = {}) {
  std::string conf(DefaultPrjConf());
  conf += extra;
  auto cfg = ParsePrjConf(conf);
  if (!cfg.ok()) return "config error: " + std::string(cfg.error().message());
  std::vector<std::string> trace;
  auto rec = [&](std::string line) { trace.push_back(std::move(line)); };

  sim::Scheduler sched(1);
  DesktopOptions o;
  o.config = *cfg;
  o.device.slot_size = 0x20000;
  flash::RamFlash flash(o.device.Geometry());
  flash.set_timing(flash::Timing::Nrf52());
  std::vector<std::unique_ptr<ble::Link>> links;  // outlive the device
  DesktopDevice dev(sched, flash, o);
  dev.SetLogger([&](sim::Time t, ModuleId m, std::string_view msg) {
    rec(sim::FormatTime(t) + " " + std::string(ModuleName(m)) + ": " + std::string(msg));
  });
  auto factory = device::MakeFactoryImage("1.0.0", 6000);
  auto update = device::MakeFactoryImage("2.0.0", 20000, 7);
  auto second = device::MakeFactoryImage("3.0.0", 20000, 9);
  EXPECT_TRUE(factory.ok() && update.ok() && second.ok());
  EXPECT_TRUE(dev.Provision(*factory).ok());
  EXPECT_TRUE(dev.PowerOn().ok());
  sched.RunFor(Ms(1));
  rec(dev.PropagationTables());
  sched.RunUntilCondition([&] { return dev.status().dfu_flash_clean; }, sched.Now() + Ms(60000));

  // A central that starts neither the data length nor the PHY update itself.
  ble::LinkConfig central;
  central.params = {24, 0, 400};  // 30 ms, as phones connect
  central.encrypted = ro.encrypted;
  links.push_back(std::make_unique<ble::Link>(sched, WithPeripheralSide(*cfg, central)));
  ble::Link& link = *links.back();
  EXPECT_TRUE(link.Connect().ok());
  const auto& lc = link.config();
  rec(fmt::format("link: phy {}, data length {}, peripheral tx buffers {}, event limit {} us, "
                  "latency mode {}",
                  static_cast<int>(lc.phy), lc.data_length, lc.peripheral.acl_tx_buffers,
                  std::chrono::duration_cast<std::chrono::microseconds>(ble::EventLimit(lc)).count(),
                  static_cast<int>(lc.peripheral.latency_mode)));
  if (auto st = dev.AttachLink(link); !st.ok()) rec("attach: " + std::string(st.error().message()));
  central::BleSmpCentral phone(498);
  (void)phone.Attach(link);
  sched.RunUntilCondition([&] { return phone.ready(); }, sched.Now() + Ms(5000));
  rec(fmt::format("phone ready {}, ATT MTU {}", phone.ready(), phone.mtu()));
  sched.RunFor(Ms(1500));

  simlink::SchedulerExecutor exec(sched);
  client::SessionConfig sc;
  sc.timeout = std::chrono::milliseconds(1500);
  sc.retries = 2;
  client::Session session(phone, exec, sc);
  client::Client cl(session);
  auto params = cl.ProbeParams();
  rec(!params.ok()         ? "params: " + std::string(params.error().message())
      : params->has_value() ? fmt::format("params: buf_size {} buf_count {}", (*params)->buf_size,
                                          (*params)->buf_count)
                            : std::string("params: not supported"));
  auto echo = cl.Echo("hello");
  rec(echo.ok() ? "echo: " + *echo : "echo: " + std::string(echo.error().message()));
  // The optional groups: present or answered as absent.
  auto stat = cl.StatList();
  rec(stat.ok() ? fmt::format("stat list: {} groups", stat->size())
                : "stat list: " + std::string(stat.error().message()));
  auto groups = cl.EnumCount();
  rec(groups.ok() ? fmt::format("enum count: {}", *groups)
                  : "enum count: " + std::string(groups.error().message()));
  auto file = cl.FsUpload(AsBytes("settings"), "/lfs1/x", client::UploadOptions{});
  rec(file.ok() ? "fs upload: ok" : "fs upload: " + std::string(file.error().message()));
  const std::vector<std::string> uptime = {"kernel", "uptime"};
  auto boot_count = cl.SettingsRead("dev/boots");
  rec(boot_count.ok()
          ? "settings dev/boots: " + std::string(boot_count->val.begin(), boot_count->val.end())
          : "settings: " + std::string(boot_count.error().message()));
  auto sh = cl.ShellExec(uptime);
  rec(sh.ok() ? "shell: " + sh->output : "shell: " + std::string(sh.error().message()));
  client::UploadOptions uo;
  uo.max_window = 4;
  const uint64_t erases0 = flash.stats().page_erases;
  auto up = cl.Upload(*update, uo);
  if (up.ok()) {
    rec(fmt::format("upload: ok, chunk {}, window {}, retransmits {}, timeouts {}, match {}",
                    up->chunk_data, up->max_window_used, up->retransmits, up->timeouts,
                    up->match ? (*up->match ? "true" : "false") : "n/a"));
  } else {
    rec("upload: " + std::string(up.error().message()));
  }
  rec(fmt::format("upload page erases {}, dropped for want of a buffer {}, transfer events {}",
                  flash.stats().page_erases - erases0, dev.status().smp_dropped_no_buffer,
                  dev.bus().submitted<BleSmpTransferEvent>()));
  if (up.ok()) {
    // A second image over the first: the slot is not blank any more, so the image group
    // either erases the image's pages on the first chunk or page by page as it goes.
    const sim::Time start = sched.Now();
    std::optional<sim::Time> first_ack;
    client::UploadOptions uo2 = uo;
    uo2.progress = [&](const client::Progress& p) {
      if (p.phase == client::Phase::kUpload && p.offset > 0 && !first_ack) first_ack = sched.Now();
    };
    const uint64_t erases1 = flash.stats().page_erases;
    up = cl.Upload(*second, uo2);
    rec(fmt::format("second upload: {}, first chunk acknowledged after {:.3f} s, {:.3f} s, page "
                    "erases {}",
                    up.ok() ? "ok" : std::string(up.error().message()),
                    first_ack ? sim::ToSeconds(*first_ack - start) : -1.0,
                    sim::ToSeconds(sched.Now() - start), flash.stats().page_erases - erases1));
  }
  if (up.ok()) {
    auto hash = client::ImageHashOf(*second);
    auto t = cl.ImageTest(*hash);
    rec(t.ok() ? "test: ok" : "test: " + std::string(t.error().message()));
    const uint32_t boots = dev.boot_count();
    auto r = cl.Reset();
    rec(r.ok() ? "reset: ok" : "reset: " + std::string(r.error().message()));
    sched.RunFor(Ms(2000));
    rec(fmt::format("boots after reset: {}", dev.boot_count() - boots));
  }

  // Config channel: every fetch the dfu module answers.
  for (DfuOption opt : {DfuOption::kSync, DfuOption::kModuleVariant, DfuOption::kDevInfo}) {
    ConfigEvent req;
    req.module_id = kConfigModIdDfu;
    req.option = OptionField(opt);
    req.status = ConfigStatus::kFetch;
    std::optional<ConfigEvent> rsp;
    const bool sent = dev.ConfigRequest(req, [&](const ConfigEvent& e) { rsp = e; }, Ms(1));
    sched.RunUntilCondition([&] { return rsp.has_value(); }, sched.Now() + Ms(1000));
    rec(fmt::format("config {}: {}", DfuOptionName(opt),
                    !sent  ? std::string("no config channel")
                    : rsp ? fmt::format("status {} data {}", static_cast<int>(rsp->status),
                                        HexEncode(rsp->payload()))
                          : std::string("no answer")));
  }
  sched.RunFor(Ms(150000));  // idle: latency back up, power manager
  const auto s = dev.status();
  rec(fmt::format("end: connected {}, latency {}, interval {}, suspended {}", s.connected,
                  s.link_latency, s.link_interval, s.suspended));
  std::string out;
  for (const auto& l : trace) out += l + "\n";
  return out;
}

struct Flip {
  const char* symbol;  // without CONFIG_
  const char* base;    // lines applied before the flip (may be empty)
  const char* a;       // the two values
  const char* b;
  RunOptions run = {};
};

std::string Line(const char* symbol, const char* value) {
  return fmt::format("CONFIG_{}={}\n", symbol, value);
}

constexpr const char* kNewer = "CONFIG_DESKTOP_SMP_ENABLE=n\nCONFIG_DESKTOP_DFU_MCUMGR_ENABLE=y\n";
constexpr const char* kLowLatencyLock = "CONFIG_DESKTOP_BLE_LOW_LATENCY_LOCK=y\n";
constexpr RunOptions kPlainLink{false};
constexpr const char* kNoLatencyModule =
    "CONFIG_DESKTOP_BLE_LATENCY_ENABLE=n\nCONFIG_BT_PERIPHERAL_PREF_TIMEOUT=800\n";
constexpr const char* kNoLatencyModuleMax30 =
    "CONFIG_DESKTOP_BLE_LATENCY_ENABLE=n\nCONFIG_BT_PERIPHERAL_PREF_TIMEOUT=800\n"
    "CONFIG_BT_PERIPHERAL_PREF_MAX_INT=30\n";

// One entry per symbol that acts (aliases included: they must act like their canonical name).
const Flip kActs[] = {
    {"DESKTOP_SMP_ENABLE", "", "y", "n"},
    {"DESKTOP_DFU_MCUMGR_ENABLE", "CONFIG_DESKTOP_SMP_ENABLE=n\n", "n", "y"},
    {"DESKTOP_DFU_MCUMGR_MCUBOOT_DIRECT_XIP", kNewer, "n", "y"},
    {"DESKTOP_DFU_LOCK", kNewer, "y", "n"},
    {"MCUMGR_GRP_STAT", kNewer, "n", "y"},
    {"MCUMGR_GRP_ENUM", kNewer, "n", "y"},
    {"MCUMGR_GRP_FS", kNewer, "n", "y"},
    {"MCUMGR_GRP_SHELL", kNewer, "n", "y"},
    {"MCUMGR_GRP_SETTINGS", kNewer, "n", "y"},
    {"CAF_BLE_SMP", "", "n", "y"},
    {"CAF_INIT_LOG_BLE_SMP_TRANSFER_EVENTS", "", "n", "y"},
    {"DESKTOP_INIT_LOG_BLE_SMP_TRANSFER_EVENT", "", "n", "y"},
    {"DESKTOP_CONFIG_CHANNEL_ENABLE", "", "y", "n"},
    {"DESKTOP_CONFIG_CHANNEL_DFU_ENABLE", "CONFIG_DESKTOP_SMP_ENABLE=n\n", "y", "n"},
    {"DESKTOP_CONFIG_CHANNEL_DFU_SYNC_BUFFER_SIZE", "", "128", "64"},
    {"DESKTOP_CONFIG_CHANNEL_DFU_MCUBOOT_DIRECT_XIP", "", "n", "y"},
    {"DESKTOP_CONFIG_CHANNEL_DFU_VID", "", "0x1915", "0x1234"},
    {"DESKTOP_CONFIG_CHANNEL_DFU_PID", "", "0x52DE", "0x1234"},
    {"DESKTOP_CONFIG_CHANNEL_DFU_GENERATION", "", "\"default\"", "\"other\""},
    {"DESKTOP_BLE_LATENCY_ENABLE", "", "y", "n"},
    {"DESKTOP_BLE_SECURITY_FAIL_TIMEOUT_S", "", "10", "3", kPlainLink},
    {"DESKTOP_BLE_LOW_LATENCY_LOCK", "", "n", "y"},
    {"DESKTOP_BLE_LATENCY_PM_EVENTS", kLowLatencyLock, "y", "n"},
    {"CAF_POWER_MANAGER", "", "y", "n"},
    {"CAF_POWER_MANAGER_TIMEOUT", "", "120", "30"},
    {"CAF_PM_EVENTS", kLowLatencyLock, "y", "n"},
    {"BOOTLOADER_MCUBOOT", "", "y", "n"},
    {"MCUMGR", "", "y", "n"},
    {"MCUMGR_CMD_IMG_MGMT", "", "y", "n"},
    {"MCUMGR_GRP_IMG", "", "y", "n"},
    {"MCUMGR_SMP_BT", "", "y", "n"},
    {"MCUMGR_TRANSPORT_BT", "", "y", "n"},
    {"MCUMGR_SMP_BT_AUTHEN", "", "n", "y"},
    {"MCUMGR_TRANSPORT_BT_AUTHEN", "", "n", "y"},
    {"MCUMGR_TRANSPORT_BT_PERM_RW_ENCRYPT", "", "n", "y", kPlainLink},
    {"MCUMGR_BUF_SIZE", "", "384", "256"},
    {"MCUMGR_TRANSPORT_NETBUF_SIZE", "", "384", "256"},
    {"MCUMGR_BUF_COUNT", "", "4", "2"},
    {"MCUMGR_TRANSPORT_NETBUF_COUNT", "", "4", "2"},
    {"OS_MGMT_RESET_MS", kNewer, "250", "1500"},
    {"MCUMGR_GRP_OS_RESET_MS", kNewer, "250", "1500"},
    {"IMG_ERASE_PROGRESSIVELY", "", "n", "y"},
    {"IMG_ENABLE_IMAGE_CHECK", "", "n", "y"},
    {"BT", "", "y", "n"},
    {"BT_PERIPHERAL", "", "y", "n"},
    // Without ble_latency, Zephyr's own update after the post-connect window asks for the
    // preferred parameters when the central's (30 ms) are outside them.
    {"BT_PERIPHERAL_PREF_MIN_INT", kNoLatencyModuleMax30, "6", "30"},
    {"BT_PERIPHERAL_PREF_MAX_INT", kNoLatencyModule, "6", "30"},
    {"BT_PERIPHERAL_PREF_LATENCY", "", "99", "30"},
    {"BT_PERIPHERAL_PREF_SLAVE_LATENCY", "", "99", "30"},
    {"BT_PERIPHERAL_PREF_TIMEOUT", "", "400", "600"},
    {"BT_CONN_PARAM_UPDATE_TIMEOUT", "", "1000", "3000"},
    {"BT_DATA_LEN_UPDATE", "", "n", "y"},
    {"BT_AUTO_PHY_UPDATE", "", "n", "y"},
    {"BT_L2CAP_TX_MTU", "", "260", "200"},
    {"BT_BUF_ACL_RX_SIZE", "", "264", "204"},
    {"BT_RX_BUF_LEN", "", "264", "204"},
    {"BT_CONN_TX_MAX", "", "4", "1"},
    {"BT_MAX_CONN", "", "1", "2"},
    {"BT_LL_SOFTDEVICE", "", "y", "n"},
    {"BT_LL_SW_SPLIT", "", "n", "y"},
};

// Symbols accepted with no effect: flipping them changes nothing the device does.
const Flip kNoEffect[] = {
    {"CAF_BLE_SMP_TRANSFER_EVENTS", "", "y", "n"},
    {"DESKTOP_CONFIG_CHANNEL_TIMEOUT", "", "10", "30"},
    {"DESKTOP_BT_PERIPHERAL", "", "y", "n"},
    {"CAF_POWER_MANAGER_ERROR_TIMEOUT", "", "30", "60"},
    {"MCUBOOT_IMGTOOL_SIGN_VERSION", "", "\"1.0.0\"", "\"9.9.9\""},
    {"MCUMGR_CMD_OS_MGMT", "", "y", "n"},  // the seed's era never registers the OS group
    {"MCUMGR_GRP_OS", kNewer, "y", "n"},   // dfu_mcumgr selects it
    {"SYSTEM_WORKQUEUE_STACK_SIZE", "", "2048", "4096"},
    {"BT_CTLR_CONN_PARAM_REQ", "", "y", "n"},
    {"BT_CTLR_SDC_LLPM", "", "y", "n"},
};

TEST(ConfigEffect, EveryActingSymbolChangesWhatTheDeviceDoes) {
  for (const auto& f : kActs) {
    SCOPED_TRACE(f.symbol);
    const std::string a = RunScenario(std::string(f.base) + Line(f.symbol, f.a), f.run);
    const std::string b = RunScenario(std::string(f.base) + Line(f.symbol, f.b), f.run);
    EXPECT_NE(a, b) << "CONFIG_" << f.symbol << "=" << f.a << " and =" << f.b
                    << " ran the same:\n" << a;
    EXPECT_EQ(a.find("config error"), std::string::npos) << a;  // the first value is valid
  }
}

TEST(ConfigEffect, NoEffectSymbolsChangeNothingAndAreWarned) {
  for (const auto& f : kNoEffect) {
    SCOPED_TRACE(f.symbol);
    const std::string a = RunScenario(std::string(f.base) + Line(f.symbol, f.a), f.run);
    const std::string b = RunScenario(std::string(f.base) + Line(f.symbol, f.b), f.run);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.find("config error"), std::string::npos) << a;
    for (const char* v : {f.a, f.b}) {
      auto c = ParsePrjConf(std::string(DefaultPrjConf()) + f.base + Line(f.symbol, v));
      ASSERT_TRUE(c.ok()) << c.error().message();
      const bool warned = std::any_of(c->warnings.begin(), c->warnings.end(), [&](auto& w) {
        return w.find(std::string("CONFIG_") + f.symbol) != std::string::npos ||
               w.find(std::string("CONFIG_") +
                      std::string(FindSymbol(f.symbol)->alias_of)) != std::string::npos;
      });
      // An assignment equal to what the era forces anyway may go unwarned only for the OS
      // group under dfu_mcumgr (=y is exactly what it selects).
      if (!(std::string(f.symbol) == "MCUMGR_GRP_OS" && std::string(v) == "y") &&
          !(std::string(f.symbol) == "MCUMGR_CMD_OS_MGMT" && std::string(v) == "n")) {
        EXPECT_TRUE(warned) << "CONFIG_" << f.symbol << "=" << v << " gave no warning";
      }
    }
  }
}

TEST(ConfigEffect, EverySymbolIsCovered) {
  std::set<std::string> acts, none;
  for (const auto& f : kActs) acts.insert(f.symbol);
  for (const auto& f : kNoEffect) none.insert(f.symbol);
  for (const auto& s : Symbols()) {
    const std::string name(s.name);
    if (s.acts)
      EXPECT_TRUE(acts.count(name)) << "CONFIG_" << name << " acts but has no flip test";
    else
      EXPECT_TRUE(none.count(name)) << "CONFIG_" << name << " has no no-effect test";
    EXPECT_FALSE(s.what.empty()) << name;
    EXPECT_FALSE(s.source.empty()) << name;
  }
  EXPECT_EQ(acts.size() + none.size(), Symbols().size());
}

TEST(ConfigEffect, SeedEraHasNoOsGroupAndTheLockCannotBeTurnedOff) {
  auto c = ParsePrjConf(std::string(DefaultPrjConf()) + "CONFIG_DESKTOP_DFU_LOCK=n\n");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->dfu_lock);
  EXPECT_FALSE(c->os_group);
  ASSERT_FALSE(c->warnings.empty());
  EXPECT_NE(c->warnings[0].find("CONFIG_DESKTOP_DFU_LOCK"), std::string::npos) << c->warnings[0];
  const std::string t = RunScenario("");
  EXPECT_NE(t.find("params: not supported"), std::string::npos) << t;
  EXPECT_NE(t.find("reset: os reset: rc 8"), std::string::npos) << t;
  EXPECT_NE(t.find("boots after reset: 0"), std::string::npos) << t;
  const std::string newer = RunScenario(kNewer);
  EXPECT_NE(newer.find("reset: ok"), std::string::npos) << newer;
  EXPECT_NE(newer.find("boots after reset: 1"), std::string::npos) << newer;
}

TEST(ConfigEffect, AnnotatedPrjConfMarksEachLine) {
  const std::string a = AnnotatePrjConf("CONFIG_BT_CONN_TX_MAX=4\n# CONFIG_BT_CTLR_SDC_LLPM is not set\n# x\n");
  EXPECT_NE(a.find("CONFIG_BT_CONN_TX_MAX=4"), std::string::npos);
  EXPECT_NE(a.find("# acts: notifications"), std::string::npos) << a;
  EXPECT_NE(a.find("# no effect: LLPM"), std::string::npos) << a;
  EXPECT_NE(a.find("# x\n"), std::string::npos) << a;
}

// The README's table is the user's view of this one: every symbol has its row, marked as it
// is in the table (a row added by hand for an unknown symbol fails too).
TEST(ConfigEffect, ReadmeTableListsEverySymbolAsItActs) {
  std::ifstream in(std::string(SMPKIT_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::map<std::string, std::string> rows;  // symbol -> mark column
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `CONFIG_", 0) != 0) continue;
    const auto end = line.find('`', 3);
    const auto bar = line.find('|', end);
    const auto bar2 = line.find('|', bar + 1);
    ASSERT_NE(bar2, std::string::npos) << line;
    std::string mark = line.substr(bar + 1, bar2 - bar - 1);
    mark.erase(0, mark.find_first_not_of(' '));
    mark.erase(mark.find_last_not_of(' ') + 1);
    rows[line.substr(10, end - 10)] = mark;
  }
  for (const auto& s : Symbols()) {
    const std::string name(s.name);
    ASSERT_TRUE(rows.count(name)) << "README has no row for CONFIG_" << name;
    EXPECT_EQ(rows[name], s.acts ? "acts" : "no effect (warned)") << "CONFIG_" << name;
    rows.erase(name);
  }
  for (const auto& [name, mark] : rows) ADD_FAILURE() << "README row for unknown CONFIG_" << name;
}

}  // namespace
}  // namespace smpkit::desktop
