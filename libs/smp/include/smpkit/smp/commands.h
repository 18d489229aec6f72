#pragma once
// The command ids of the MCUmgr groups, once for both ends (the device's handlers and the
// client's requests), and a table of their names and the operations each takes, as Zephyr's
// group handler tables define them (os_mgmt.c, img_mgmt.c, stat_mgmt.c, settings_mgmt.c,
// fs_mgmt.c, shell_mgmt.c, enum_mgmt.c).

#include <cstdint>
#include <string_view>

#include "smpkit/smp/errors.h"

namespace smpkit::smp {

namespace os {
enum Command : uint8_t {
  kEcho = 0,
  kConsoleEcho = 1,
  kTaskStat = 2,
  kMpStat = 3,
  kDateTime = 4,
  kReset = 5,
  kMcumgrParams = 6,
  kInfo = 7,
  kBootloaderInfo = 8,
};
}  // namespace os

namespace img {
enum Command : uint8_t { kState = 0, kUpload = 1, kErase = 5, kSlotInfo = 6 };
}  // namespace img

namespace stat {
enum Command : uint8_t { kShow = 0, kList = 1 };
}  // namespace stat

namespace settings {
enum Command : uint8_t { kReadWrite = 0, kDelete = 1, kCommit = 2, kLoadSave = 3 };
}  // namespace settings

namespace fs {
enum Command : uint8_t { kFile = 0, kStatus = 1, kHash = 2, kSupportedHashes = 3, kClose = 4 };
}  // namespace fs

namespace shell {
enum Command : uint8_t { kExec = 0 };
}  // namespace shell

namespace enumeration {
enum Command : uint8_t { kCount = 0, kList = 1, kSingle = 2, kDetails = 3 };
}  // namespace enumeration

struct CommandInfo {
  uint16_t group;
  uint8_t id;
  std::string_view name;  // "image upload"
  bool read;              // takes op 0 (read)
  bool write;             // takes op 2 (write)
};

inline constexpr CommandInfo kCommands[] = {
    {kGroupOs, os::kEcho, "os echo", true, true},  // Zephyr registers echo for both
    {kGroupOs, os::kConsoleEcho, "os console echo", false, true},
    {kGroupOs, os::kTaskStat, "os taskstat", true, false},
    {kGroupOs, os::kMpStat, "os mpstat", true, false},
    {kGroupOs, os::kDateTime, "os datetime", true, true},
    {kGroupOs, os::kReset, "os reset", false, true},
    {kGroupOs, os::kMcumgrParams, "os params", true, false},
    {kGroupOs, os::kInfo, "os info", true, false},
    {kGroupOs, os::kBootloaderInfo, "os bootloader info", true, false},
    {kGroupImage, img::kState, "image state", true, true},
    {kGroupImage, img::kUpload, "image upload", false, true},
    {kGroupImage, img::kErase, "image erase", false, true},
    {kGroupImage, img::kSlotInfo, "image slot info", true, false},
    {kGroupStat, stat::kShow, "stat show", true, false},
    {kGroupStat, stat::kList, "stat list", true, false},
    {kGroupSettings, settings::kReadWrite, "settings read/write", true, true},
    {kGroupSettings, settings::kDelete, "settings delete", false, true},
    {kGroupSettings, settings::kCommit, "settings commit", false, true},
    {kGroupSettings, settings::kLoadSave, "settings load/save", true, true},
    {kGroupFs, fs::kFile, "fs file", true, true},
    {kGroupFs, fs::kStatus, "fs status", true, false},
    {kGroupFs, fs::kHash, "fs hash", true, false},
    {kGroupFs, fs::kSupportedHashes, "fs supported hashes", true, false},
    {kGroupFs, fs::kClose, "fs close", false, true},
    {kGroupShell, shell::kExec, "shell exec", false, true},
    {kGroupEnum, enumeration::kCount, "enum count", true, false},
    {kGroupEnum, enumeration::kList, "enum list", true, false},
    {kGroupEnum, enumeration::kSingle, "enum single", true, false},
    {kGroupEnum, enumeration::kDetails, "enum details", true, false},
};

// The table's entry for (group, id), or nullptr.
constexpr const CommandInfo* FindCommand(uint16_t group, uint8_t id) {
  for (const auto& c : kCommands) {
    if (c.group == group && c.id == id) return &c;
  }
  return nullptr;
}

}  // namespace smpkit::smp
