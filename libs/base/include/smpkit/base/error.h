#pragma once
// One error vocabulary for every smpkit library. An Error carries a category (Errc) and a
// human-readable message held inline, so creating one never allocates.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace smpkit {

enum class Errc : uint8_t {
  kOk = 0,
  kInvalidArgument,   // a value is out of range or malformed
  kTruncated,         // input ends before a complete item
  kNoSpace,           // output buffer too small
  kTypeMismatch,      // a CBOR item of the wrong major type
  kDuplicateKey,      // a known map key given twice
  kNotFound,          // no such entry, slot, file, key
  kNotSupported,      // unknown group/command/feature
  kBadState,          // current state forbids the operation
  kCorrupt,           // checksum, magic or length mismatch
  kIo,                // flash or file or socket failure
  kTimeout,           // no answer in time
  kBusy,              // refused because something else holds the resource
  kAccessDenied,      // a hook or lock vetoed it
  kRemote,            // the peer answered with an error (see message)
  kCrypto,            // a signature, key or hash failed
  kInternal,
};

std::string_view ErrcName(Errc code);

// An Error is small and trivially copyable (16 bytes on 64-bit hosts): a category, the SMP
// group and rc a device answered with (kRemote errors from a device), and a message. Making
// one never allocates: a string literal given to Error::Static is referenced as it is; any
// other message is copied into one slot of a process-wide ring of kMessageSlots messages
// (static storage), and the Error refers to that slot by number. A slot is reused only after
// kMessageSlots newer messages; an Error whose slot was reused since reports its category's
// name with "(message no longer available)" instead of another error's text. So keep the
// Error, not the string_view of its message, beyond the next few hundred errors.
class Error {
 public:
  static constexpr size_t kMaxMessage = 191;
  static constexpr size_t kMessageSlots = 256;

  Error() = default;
  Error(Errc code, std::string_view message);
  // printf-style message; truncated to kMaxMessage characters.
  static Error Format(Errc code, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  // `reason` must outlive every copy of the Error (a string literal); it is not copied.
  static Error Static(Errc code, const char* reason);
  // A device's error answer (kRemote) with a message describing it: a group error
  // {"err": {"group", "rc"}}, or with `mgmt_rc` a bare "rc" (an MGMT_ERR code) answered to a
  // request of `group`.
  static Error Remote(uint16_t group, int32_t rc, bool mgmt_rc, std::string_view message);

  Errc code() const { return code_; }
  std::string_view message() const;
  // Whether the error carries the SMP group and rc a device answered.
  bool has_smp() const { return kind_ & kSmp; }
  uint16_t smp_group() const { return group_; }
  int32_t smp_rc() const { return rc_; }
  // The rc is an MGMT_ERR code (a bare "rc"), not the group's own.
  bool smp_mgmt_rc() const { return kind_ & kMgmtRc; }

 private:
  static constexpr uint8_t kSlot = 1;  // message_.slot_gen names a ring slot, else .text
  static constexpr uint8_t kSmp = 2;
  static constexpr uint8_t kMgmtRc = 4;

  union Message {
    const char* text;
    uint64_t slot_gen;  // the slot's generation (its slot is generation % kMessageSlots)
  };
  Message message_{nullptr};
  int32_t rc_ = 0;
  uint16_t group_ = 0;
  Errc code_ = Errc::kOk;
  uint8_t kind_ = 0;
};

}  // namespace smpkit
