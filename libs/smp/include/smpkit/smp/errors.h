#pragma once
// SMP error vocabulary: SMP-level result codes (v1 "rc") and group error codes (v2
// "err": {group, rc}), with names and the v1 translation tables (smp-protocol.md §3).

#include <cstdint>
#include <string_view>

namespace smpkit::smp {

enum class MgmtErr : int32_t {
  kOk = 0,
  kUnknown = 1,
  kNoMem = 2,
  kInval = 3,
  kTimeout = 4,
  kNoEnt = 5,
  kBadState = 6,
  kMsgSize = 7,
  kNotSup = 8,
  kCorrupt = 9,
  kBusy = 10,
  kAccessDenied = 11,
  kTooOld = 12,
  kTooNew = 13,
  kPerUser = 256,
};

enum GroupId : uint16_t {
  kGroupOs = 0,
  kGroupImage = 1,
  kGroupStat = 2,
  kGroupSettings = 3,
  kGroupFs = 8,
  kGroupShell = 9,
  kGroupEnum = 10,
  kGroupZephyrBasic = 63,
  kGroupPerUser = 64,
};

enum class OsErr : uint16_t {
  kOk = 0,
  kUnknown = 1,
  kInvalidFormat = 2,
  kQueryYieldsNoAnswer = 3,
  kRtcNotSet = 4,
  kRtcCommandFailed = 5,
  kQueryResponseValueNotValid = 6,
};

enum class ImgErr : uint16_t {
  kOk = 0,
  kUnknown = 1,
  kFlashConfigQueryFail = 2,
  kNoImage = 3,
  kNoTlvs = 4,
  kInvalidTlv = 5,
  kTlvMultipleHashesFound = 6,
  kTlvInvalidSize = 7,
  kHashNotFound = 8,
  kNoFreeSlot = 9,
  kFlashOpenFailed = 10,
  kFlashReadFailed = 11,
  kFlashWriteFailed = 12,
  kFlashEraseFailed = 13,
  kInvalidSlot = 14,
  kNoFreeMemory = 15,
  kFlashContextAlreadySet = 16,
  kFlashContextNotSet = 17,
  kFlashAreaDeviceNull = 18,
  kInvalidPageOffset = 19,
  kInvalidOffset = 20,
  kInvalidLength = 21,
  kInvalidImageHeader = 22,
  kInvalidImageHeaderMagic = 23,
  kInvalidHash = 24,
  kInvalidFlashAddress = 25,
  kVersionGetFailed = 26,
  kCurrentVersionIsNewer = 27,
  kImageAlreadyPending = 28,
  kInvalidImageVectorTable = 29,
  kInvalidImageTooLarge = 30,
  kInvalidImageDataOverrun = 31,
  kImageConfirmationDenied = 32,
  kImageSettingTestToActiveDenied = 33,
  kActiveSlotNotKnown = 34,
};

// "MGMT_ERR_ENOTSUP"-style names with a short meaning, for messages.
std::string_view MgmtErrName(int32_t rc);
std::string_view MgmtErrMeaning(int32_t rc);
// Name of a group's error code, e.g. (1, 9) -> "NO_FREE_SLOT"; "" when unknown.
std::string_view GroupErrName(uint16_t group, uint16_t rc);
std::string_view GroupName(uint16_t group);

// v1 translations (Zephyr's per-group translate functions).
int32_t OsErrToV1(uint16_t rc);
int32_t ImgErrToV1(uint16_t rc);

}  // namespace smpkit::smp
