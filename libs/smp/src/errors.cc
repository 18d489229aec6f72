#include "smpkit/smp/errors.h"

#include <array>

namespace smpkit::smp {

namespace {
struct Named {
  std::string_view name;
  std::string_view meaning;
};
constexpr std::array<Named, 14> kMgmt = {{
    {"EOK", "success"},
    {"EUNKNOWN", "unknown error"},
    {"ENOMEM", "out of memory"},
    {"EINVAL", "invalid request (bad value or undecodable payload)"},
    {"ETIMEOUT", "operation timed out"},
    {"ENOENT", "no such entry"},
    {"EBADSTATE", "current state forbids the command"},
    {"EMSGSIZE", "response too large for the buffer"},
    {"ENOTSUP", "command not supported"},
    {"ECORRUPT", "corrupt frame (length mismatch)"},
    {"EBUSY", "busy: blocked by another operation"},
    {"EACCESSDENIED", "access denied"},
    {"UNSUPPORTED_TOO_OLD", "SMP v1 request to a server that only speaks v2"},
    {"UNSUPPORTED_TOO_NEW", "request uses an SMP version newer than v2"},
}};

constexpr std::array<std::string_view, 7> kOs = {
    "OK", "UNKNOWN", "INVALID_FORMAT", "QUERY_YIELDS_NO_ANSWER", "RTC_NOT_SET",
    "RTC_COMMAND_FAILED", "QUERY_RESPONSE_VALUE_NOT_VALID"};

constexpr std::array<std::string_view, 35> kImg = {
    "OK",
    "UNKNOWN",
    "FLASH_CONFIG_QUERY_FAIL",
    "NO_IMAGE",
    "NO_TLVS",
    "INVALID_TLV",
    "TLV_MULTIPLE_HASHES_FOUND",
    "TLV_INVALID_SIZE",
    "HASH_NOT_FOUND",
    "NO_FREE_SLOT",
    "FLASH_OPEN_FAILED",
    "FLASH_READ_FAILED",
    "FLASH_WRITE_FAILED",
    "FLASH_ERASE_FAILED",
    "INVALID_SLOT",
    "NO_FREE_MEMORY",
    "FLASH_CONTEXT_ALREADY_SET",
    "FLASH_CONTEXT_NOT_SET",
    "FLASH_AREA_DEVICE_NULL",
    "INVALID_PAGE_OFFSET",
    "INVALID_OFFSET",
    "INVALID_LENGTH",
    "INVALID_IMAGE_HEADER",
    "INVALID_IMAGE_HEADER_MAGIC",
    "INVALID_HASH",
    "INVALID_FLASH_ADDRESS",
    "VERSION_GET_FAILED",
    "CURRENT_VERSION_IS_NEWER",
    "IMAGE_ALREADY_PENDING",
    "INVALID_IMAGE_VECTOR_TABLE",
    "INVALID_IMAGE_TOO_LARGE",
    "INVALID_IMAGE_DATA_OVERRUN",
    "IMAGE_CONFIRMATION_DENIED",
    "IMAGE_SETTING_TEST_TO_ACTIVE_DENIED",
    "ACTIVE_SLOT_NOT_KNOWN",
};

constexpr std::array<std::string_view, 6> kStat = {
    "OK", "UNKNOWN", "INVALID_GROUP", "INVALID_STAT_NAME", "INVALID_STAT_SIZE", "WALK_ABORTED"};

constexpr std::array<std::string_view, 5> kEnum = {
    "OK", "UNKNOWN", "TOO_MANY_GROUP_ENTRIES", "INSUFFICIENT_HEAP_FOR_ENTRIES", "INDEX_TOO_LARGE"};

constexpr std::array<std::string_view, 17> kFs = {
    "OK", "UNKNOWN", "FILE_INVALID_NAME", "FILE_NOT_FOUND", "FILE_IS_DIRECTORY",
    "FILE_OPEN_FAILED", "FILE_SEEK_FAILED", "FILE_READ_FAILED", "FILE_TRUNCATE_FAILED",
    "FILE_DELETE_FAILED", "FILE_WRITE_FAILED", "FILE_OFFSET_NOT_VALID",
    "FILE_OFFSET_LARGER_THAN_FILE", "CHECKSUM_HASH_NOT_FOUND", "MOUNT_POINT_NOT_FOUND",
    "READ_ONLY_FILESYSTEM", "FILE_EMPTY"};

constexpr std::array<std::string_view, 10> kSettings = {
    "OK", "UNKNOWN", "KEY_TOO_LONG", "KEY_NOT_FOUND", "READ_NOT_SUPPORTED", "ROOT_KEY_NOT_FOUND",
    "WRITE_NOT_SUPPORTED", "DELETE_NOT_SUPPORTED", "SAVE_NOT_SUPPORTED",
    "SAVE_FAILED_VALUE_TOO_LONG_TO_READ"};

constexpr std::array<std::string_view, 4> kShell = {"OK", "UNKNOWN", "COMMAND_TOO_LONG",
                                                    "EMPTY_COMMAND"};

// Zephyr img_mgmt_translate_error_code (smp-protocol.md §3.2, v1 column).
constexpr std::array<int8_t, 35> kImgV1 = {0, 1, 1, 5, 5, 1, 1, 1, 1, 6, 1, 1, 1, 1, 3, 2, 1, 1,
                                           1, 3, 3, 3, 3, 1, 3, 3, 1, 6, 6, 1, 1, 1, 1, 1, 1};
}  // namespace

std::string_view MgmtErrName(int32_t rc) {
  if (rc >= 0 && static_cast<size_t>(rc) < kMgmt.size()) return kMgmt[rc].name;
  if (rc >= 256) return "EPERUSER";
  return "?";
}

std::string_view MgmtErrMeaning(int32_t rc) {
  if (rc >= 0 && static_cast<size_t>(rc) < kMgmt.size()) return kMgmt[rc].meaning;
  if (rc >= 256) return "application-defined error";
  return "unknown error code";
}

std::string_view GroupErrName(uint16_t group, uint16_t rc) {
  if (group == kGroupOs && rc < kOs.size()) return kOs[rc];
  if (group == kGroupImage && rc < kImg.size()) return kImg[rc];
  if (group == kGroupStat && rc < kStat.size()) return kStat[rc];
  if (group == kGroupEnum && rc < kEnum.size()) return kEnum[rc];
  if (group == kGroupFs && rc < kFs.size()) return kFs[rc];
  if (group == kGroupShell && rc < kShell.size()) return kShell[rc];
  if (group == kGroupSettings && rc < kSettings.size()) return kSettings[rc];
  return "";
}

std::string_view GroupName(uint16_t group) {
  switch (group) {
    case kGroupOs: return "os";
    case kGroupImage: return "image";
    case kGroupStat: return "stat";
    case kGroupSettings: return "settings";
    case kGroupFs: return "fs";
    case kGroupShell: return "shell";
    case kGroupEnum: return "enum";
    case kGroupZephyrBasic: return "zephyr-basic";
    default: return group >= kGroupPerUser ? "user" : "unknown";
  }
}

int32_t OsErrToV1(uint16_t rc) {
  switch (static_cast<OsErr>(rc)) {
    case OsErr::kOk: return 0;
    case OsErr::kInvalidFormat: return static_cast<int32_t>(MgmtErr::kInval);
    case OsErr::kQueryYieldsNoAnswer:
    case OsErr::kRtcNotSet: return static_cast<int32_t>(MgmtErr::kNoEnt);
    default: return static_cast<int32_t>(MgmtErr::kUnknown);
  }
}

int32_t ImgErrToV1(uint16_t rc) {
  return rc < kImgV1.size() ? kImgV1[rc] : static_cast<int32_t>(MgmtErr::kUnknown);
}

}  // namespace smpkit::smp
