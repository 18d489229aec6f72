#pragma once
// The config-channel DFU options of nRF Desktop's dfu.c (nrf-desktop.md §5.3): a decoder for
// requests addressed to the DFU module, and byte-exact encoders/decoders (little-endian) of the
// request and response payloads, shared by the device module and the host driver.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "smpkit/base/bytes.h"
#include "smpkit/base/crc.h"
#include "smpkit/base/result.h"
#include "smpkit/desktop/events.h"

namespace smpkit::desktop {

// Option indices; on the wire the option field is index + 1 (0 = module descriptor).
enum class DfuOption : uint8_t {
  kStart = 0,
  kData = 1,
  kSync = 2,
  kReboot = 3,
  kFwInfo = 4,
  kModuleVariant = 5,
  kDevInfo = 6,
};
inline constexpr size_t kDfuOptionCount = 7;
inline constexpr std::string_view kDfuModuleName = "dfu";
std::string_view DfuOptionName(DfuOption o);
constexpr uint8_t OptionField(DfuOption o) {
  return static_cast<uint8_t>(static_cast<uint8_t>(o) + 1);
}

enum class SyncState : uint8_t {
  kInactive = 0,
  kActiveConfigChannel = 1,
  kStoring = 2,
  kCleaning = 3,
  kActiveOther = 4,
};
std::string_view SyncStateName(SyncState s);

inline constexpr size_t kStartSize = 12;
inline constexpr size_t kSyncSize = 15;
// slot u8, size u32, major u8, minor u8, revision u16, build u32 (the spec's "15 B" is a
// miscount of these fields).
inline constexpr size_t kFwInfoSize = 13;
inline constexpr size_t kMaxDataPerReport = 25;  // config report 30 B minus 5 header bytes

struct StartCommand {
  uint32_t length = 0;
  uint32_t crc = 0;
  uint32_t offset = 0;
};
struct DataCommand {
  ConstByteSpan data;  // view into the request
};
struct FetchCommand {
  DfuOption option = DfuOption::kSync;
};
struct DescriptorFetch {};
using DfuCommand = std::variant<DescriptorFetch, StartCommand, DataCommand, FetchCommand>;

// Decodes a config-channel request for the DFU module. Errors: kInvalidArgument for an unknown
// option field, a SET of a fetch-only option, a FETCH of a set-only option, a status other
// than SET/FETCH, data on a fetch; kTruncated for a start shorter than 12 bytes (the module
// ignores it with a warning).
Result<DfuCommand> DecodeDfuCommand(uint8_t option_field, ConfigStatus status, ConstByteSpan data);

struct SyncInfo {
  SyncState state = SyncState::kInactive;
  uint32_t length = 0;
  uint32_t crc = 0;
  uint32_t offset = 0;
  uint16_t buffer_size = 0;  // bytes
  bool operator==(const SyncInfo&) const = default;
};

struct FwInfo {
  uint8_t slot = 0;
  uint32_t image_size = 0;
  uint8_t major = 0;
  uint8_t minor = 0;
  uint16_t revision = 0;
  uint32_t build = 0;
  bool operator==(const FwInfo&) const = default;
};

struct DevInfo {
  uint16_t vid = 0;
  uint16_t pid = 0;
  std::string generation;
  bool operator==(const DevInfo&) const = default;
};

// Encoders return the bytes written into `out`. Errors: kNoSpace.
Result<size_t> EncodeStart(const StartCommand& s, ByteSpan out);
Result<size_t> EncodeSync(const SyncInfo& s, ByteSpan out);
Result<size_t> EncodeFwInfo(const FwInfo& f, ByteSpan out);
Result<size_t> EncodeDevInfo(uint16_t vid, uint16_t pid, std::string_view generation, ByteSpan out);
// Decoders. Errors: kTruncated for short payloads, kInvalidArgument for an unknown sync state
// or slot index.
Result<StartCommand> DecodeStart(ConstByteSpan data);
Result<SyncInfo> DecodeSync(ConstByteSpan data);
Result<FwInfo> DecodeFwInfo(ConstByteSpan data);
Result<DevInfo> DecodeDevInfo(ConstByteSpan data);

// The image's CRC is smpkit::Crc32 (zlib's crc32); the host tool seeds it with 1.
using smpkit::Crc32;
inline constexpr uint32_t kDfuCrcSeed = 1;

}  // namespace smpkit::desktop
