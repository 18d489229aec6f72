#pragma once
// The DFU lock (src/util/dfu_lock.[ch], nrf-desktop.md §3) in its two forms:
// - Era A: one atomic word with the owner's module id; Lock() is a compare-and-swap 0 -> id,
//   Unlock() the reverse (a non-owner unlocking is a programming error: it is refused and
//   counted as an assertion failure). No callbacks.
// - Owner form (C1/C2): current and previous owner; Claim() is idempotent for the current
//   owner; a different owner claiming after a release notifies the PREVIOUS owner only, through
//   its owner_changed callback; Release() by a non-owner returns an error (-EPERM).
// Both forms are exposed through Claim()/Release() so that the DFU module is written once.

#include <cstdint>
#include <functional>
#include <string_view>

#include "smpkit/base/result.h"

namespace smpkit::desktop {

struct DfuLockOwner {
  std::string_view name;
  uint8_t id = 0;  // non-zero (Era A stores it in the lock word)
  std::function<void(const DfuLockOwner* new_owner)> owner_changed;  // owner form only
};

enum class DfuLockMode : uint8_t { kEraA, kOwner };

class DfuLock {
 public:
  explicit DfuLock(DfuLockMode mode) : mode_(mode) {}

  // Era A: CAS 0 -> owner.id (fails if the owner already holds it, like the C code);
  // owner form: as Claim().
  bool Lock(const DfuLockOwner& owner);
  // Claim: succeeds if the owner already holds the lock or it is free. Errors: kBusy naming
  // the current owner (the C code's -EPERM).
  Status Claim(const DfuLockOwner& owner);
  // Errors: kBadState if `owner` does not hold the lock (Era A: an assertion in the C code;
  // counted in assertion_failures()).
  Status Release(const DfuLockOwner& owner);

  DfuLockMode mode() const { return mode_; }
  const DfuLockOwner* owner() const { return current_; }
  bool IsOwnedBy(const DfuLockOwner& o) const { return current_ == &o; }
  uint32_t assertion_failures() const { return assertion_failures_; }
  // Reboot: RAM state is lost.
  void Reset() { current_ = previous_ = nullptr; }

 private:
  DfuLockMode mode_;
  const DfuLockOwner* current_ = nullptr;
  const DfuLockOwner* previous_ = nullptr;
  uint32_t assertion_failures_ = 0;
};

}  // namespace smpkit::desktop
