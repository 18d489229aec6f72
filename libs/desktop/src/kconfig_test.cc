#include "smpkit/desktop/kconfig.h"

#include <gtest/gtest.h>

#include <string>

namespace smpkit::desktop {
namespace {

TEST(Kconfig, DefaultPrjConfIsEraAWithSeedValues) {
  auto c = ParsePrjConf(DefaultPrjConf());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->smp, SmpEra::kEraA);
  EXPECT_TRUE(c->config_channel_dfu);
  EXPECT_TRUE(c->dfu_lock);
  EXPECT_EQ(c->pref_latency, 99);
  EXPECT_EQ(c->pref_interval_min, 6);
  EXPECT_EQ(c->pref_timeout, 400);
  EXPECT_EQ(c->conn_param_update_timeout_ms, 1000u);
  EXPECT_EQ(c->security_fail_timeout_s, 10u);
  EXPECT_EQ(c->sync_buffer_words, 128u);
  EXPECT_EQ(c->os_reset_ms, 250u);
  EXPECT_EQ(c->power_manager_timeout_s, 120u);
}

TEST(Kconfig, ParsesTypesCommentsAndAliases) {
  auto k = Kconfig::Parse(
      "  # comment\n"
      "CONFIG_BT_PERIPHERAL_PREF_SLAVE_LATENCY=0x1e\r\n"
      "\n"
      "# CONFIG_DESKTOP_BLE_LATENCY_ENABLE is not set\n"
      "CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_GENERATION=\"a \\\"b\\\" \\\\\"\n"
      "CONFIG_MCUMGR_TRANSPORT_BT=y\n"
      "CONFIG_CAF_POWER_MANAGER_TIMEOUT=30\n"
      "CONFIG_CAF_POWER_MANAGER_TIMEOUT=60\n");
  ASSERT_TRUE(k.ok()) << k.error().message();
  EXPECT_EQ(k->Int("BT_PERIPHERAL_PREF_LATENCY", 0), 30);
  EXPECT_FALSE(k->Bool("DESKTOP_BLE_LATENCY_ENABLE", true));
  EXPECT_EQ(k->String("DESKTOP_CONFIG_CHANNEL_DFU_GENERATION", ""), "a \"b\" \\");
  EXPECT_TRUE(k->Bool("MCUMGR_SMP_BT", false));           // newer name of the same option
  EXPECT_EQ(k->Int("CAF_POWER_MANAGER_TIMEOUT", 0), 60);  // later assignment wins
  auto again = Kconfig::Parse(k->ToText());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->values(), k->values());
}

struct BadLine {
  const char* text;
  const char* message;
};

TEST(Kconfig, ErrorsNameTheLineAndOption) {
  const BadLine cases[] = {
      {"CONFIG_BOOTLOADER_MCUBOOT=y\nBOOTLOADER=y\n",
       "line 2: option 'BOOTLOADER' does not start with CONFIG_"},
      {"\n\nCONFIG_FOO_BAR=y\n", "line 3: unknown option CONFIG_FOO_BAR"},
      {"CONFIG_BOOTLOADER_MCUBOOT=1\n",
       "line 1: CONFIG_BOOTLOADER_MCUBOOT is a bool, expected y or n, got '1'"},
      {"CONFIG_BT_PERIPHERAL_PREF_LATENCY=500\n",
       "line 1: CONFIG_BT_PERIPHERAL_PREF_LATENCY=500 is outside its range [0, 499]"},
      {"CONFIG_BT_PERIPHERAL_PREF_LATENCY=9x\n",
       "line 1: CONFIG_BT_PERIPHERAL_PREF_LATENCY is an int, got '9x'"},
      {"CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_GENERATION=abc\n",
       "line 1: CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_GENERATION is a string, expected a \"quoted\" "
       "value"},
      {"CONFIG_BOOTLOADER_MCUBOOT\n",
       "line 1: expected CONFIG_<NAME>=<value>, got 'CONFIG_BOOTLOADER_MCUBOOT'"},
      {"CONFIG_BOOT-LOADER=y\n", "line 1: invalid character in option name 'CONFIG_BOOT-LOADER'"},
  };
  for (const auto& c : cases) {
    auto k = Kconfig::Parse(c.text);
    ASSERT_FALSE(k.ok()) << c.text;
    EXPECT_EQ(k.error().code(), Errc::kInvalidArgument);
    EXPECT_EQ(k.error().message(), c.message);
  }
}

TEST(Kconfig, SmpDependenciesNameTheMissingOption) {
  const std::string base =
      "CONFIG_DESKTOP_SMP_ENABLE=y\n"
      "CONFIG_DESKTOP_CONFIG_CHANNEL_ENABLE=y\n"
      "CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_ENABLE=y\n"
      "CONFIG_MCUMGR=y\n";
  struct Case {
    std::string extra;
    const char* missing;
  };
  const Case cases[] = {
      {"CONFIG_MCUMGR_CMD_IMG_MGMT=y\nCONFIG_MCUMGR_SMP_BT=y\n", "CONFIG_BOOTLOADER_MCUBOOT"},
      {"CONFIG_BOOTLOADER_MCUBOOT=y\nCONFIG_MCUMGR_SMP_BT=y\n", "CONFIG_MCUMGR_CMD_IMG_MGMT"},
      {"CONFIG_BOOTLOADER_MCUBOOT=y\nCONFIG_MCUMGR_CMD_IMG_MGMT=y\n", "CONFIG_MCUMGR_SMP_BT"},
      {"CONFIG_BOOTLOADER_MCUBOOT=y\nCONFIG_MCUMGR=n\nCONFIG_MCUMGR_CMD_IMG_MGMT=y\n"
       "CONFIG_MCUMGR_SMP_BT=y\n",
       "CONFIG_MCUMGR"},
  };
  for (const auto& c : cases) {
    auto r = ParsePrjConf(base + c.extra);
    ASSERT_FALSE(r.ok()) << c.extra;
    EXPECT_EQ(
        r.error().message().find(std::string("CONFIG_DESKTOP_SMP_ENABLE depends on ") + c.missing),
        0u)
        << r.error().message();
  }
  auto ok = ParsePrjConf(base + cases[0].extra + "CONFIG_BOOTLOADER_MCUBOOT=y\n");
  EXPECT_TRUE(ok.ok()) << ok.error().message();
  // Era A: smp.c depends on the config-channel DFU (it erases the slot and confirms).
  auto no_dfu = ParsePrjConf(
      "CONFIG_DESKTOP_SMP_ENABLE=y\nCONFIG_BOOTLOADER_MCUBOOT=y\nCONFIG_MCUMGR_CMD_IMG_MGMT=y\n"
      "CONFIG_MCUMGR=y\nCONFIG_MCUMGR_SMP_BT=y\n");
  ASSERT_FALSE(no_dfu.ok());
  EXPECT_NE(no_dfu.error().message().find("CONFIG_DESKTOP_CONFIG_CHANNEL_DFU_ENABLE"),
            std::string_view::npos);
}

TEST(Kconfig, NewerEraAndExclusions) {
  auto c = ParsePrjConf(
      "CONFIG_BOOTLOADER_MCUBOOT=y\nCONFIG_DESKTOP_DFU_MCUMGR_ENABLE=y\n"
      "CONFIG_DESKTOP_CONFIG_CHANNEL_ENABLE=y\nCONFIG_DESKTOP_CONFIG_CHANNEL_DFU_ENABLE=y\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->smp, SmpEra::kMcumgr);
  EXPECT_TRUE(c->dfu_lock);  // default y with both transports
  auto both = ParsePrjConf(std::string(DefaultPrjConf()) + "CONFIG_DESKTOP_DFU_MCUMGR_ENABLE=y\n");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message().find("mutually exclusive"), std::string_view::npos);
  auto no_boot = ParsePrjConf("CONFIG_DESKTOP_DFU_MCUMGR_ENABLE=y\n");
  ASSERT_FALSE(no_boot.ok());
  EXPECT_NE(no_boot.error().message().find("CONFIG_BOOTLOADER_MCUBOOT"), std::string_view::npos);
  auto timeout =
      ParsePrjConf(std::string(DefaultPrjConf()) + "CONFIG_BT_PERIPHERAL_PREF_TIMEOUT=100\n");
  ASSERT_FALSE(timeout.ok());
  EXPECT_NE(timeout.error().message().find("CONFIG_BT_PERIPHERAL_PREF_TIMEOUT=100 is too short"),
            std::string_view::npos)
      << timeout.error().message();
}

}  // namespace
}  // namespace smpkit::desktop
