#include "smpkit/desktop/dfu_lock.h"

#include <string>

namespace smpkit::desktop {

bool DfuLock::Lock(const DfuLockOwner& owner) {
  if (mode_ == DfuLockMode::kEraA) {
    if (current_ != nullptr) return false;  // atomic_cas(&lock, 0, id) failed
    current_ = &owner;
    return true;
  }
  return Claim(owner).ok();
}

Status DfuLock::Claim(const DfuLockOwner& owner) {
  if (current_ == &owner) return Ok();
  if (current_ != nullptr)
    return Error::Format(Errc::kBusy, "DFU lock held by %s, %s refused",
                         std::string(current_->name).c_str(), std::string(owner.name).c_str());
  current_ = &owner;
  if (mode_ == DfuLockMode::kOwner && previous_ != nullptr && previous_ != &owner &&
      previous_->owner_changed) {
    previous_->owner_changed(&owner);
  }
  return Ok();
}

Status DfuLock::Release(const DfuLockOwner& owner) {
  if (current_ != &owner) {
    if (mode_ == DfuLockMode::kEraA) ++assertion_failures_;
    return Error::Format(
        Errc::kBadState, "DFU lock release by %s, which does not hold it (owner: %s)",
        std::string(owner.name).c_str(), current_ ? std::string(current_->name).c_str() : "none");
  }
  previous_ = current_;
  current_ = nullptr;
  return Ok();
}

}  // namespace smpkit::desktop
