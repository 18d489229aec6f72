#include "smpkit/mgmt/settings_group.h"

#include <algorithm>

#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::mgmt {

using smp::MgmtErr;
using smp::Op;
using smp::Outcome;

namespace {

Outcome Err(SettingsErr e) {
  return Outcome::GroupError(SettingsGroup::kGroupId, static_cast<uint16_t>(e));
}

// settings_mgmt.c's mapping of the settings API's errors, per command.
Outcome FromErrno(int rc, SettingsErr not_supported) {
  switch (rc) {
    case SettingsBackend::kEinval:
      return Err(SettingsErr::kRootKeyNotFound);
    case SettingsBackend::kEnoent:
      return Err(SettingsErr::kKeyNotFound);
    case SettingsBackend::kEnotsup:
      return Err(not_supported);
    default:
      return Err(SettingsErr::kUnknown);
  }
}

}  // namespace

int32_t SettingsErrToV1(uint16_t rc) {
  switch (static_cast<SettingsErr>(rc)) {
    case SettingsErr::kOk:
      return 0;
    case SettingsErr::kKeyTooLong:
      return static_cast<int32_t>(MgmtErr::kInval);
    case SettingsErr::kKeyNotFound:
    case SettingsErr::kReadNotSupported:
      return static_cast<int32_t>(MgmtErr::kNoEnt);
    default:
      return static_cast<int32_t>(MgmtErr::kUnknown);
  }
}

SettingsGroup::SettingsGroup(const SettingsGroupConfig& config, SettingsBackend& backend)
    : smp::Group(kGroupId), config_(config), backend_(backend) {
  config_.value_len = std::clamp<size_t>(config_.value_len, 1, kMaxValue);
  config_.name_len = std::max<size_t>(config_.name_len, 2);
}

bool SettingsGroup::Supports(uint8_t command, Op op) const {
  switch (command) {
    case kReadWrite:
    case kLoadSave:
      return op == Op::kRead || op == Op::kWrite;
    case kDelete:
    case kCommit:
      return op == Op::kWrite;
    default:
      return false;
  }
}

Outcome SettingsGroup::Handle(const smp::Request& r, cbor::Writer& w) {
  switch (r.header.id) {
    case kReadWrite:
      return r.op() == Op::kRead ? Read(r, w) : Write(r);
    case kDelete:
      return Delete(r);
    case kCommit:
      (void)backend_.Commit();  // Zephyr ignores what settings_commit returns
      return Outcome::Success();
    default:
      // Load (read) and save (write); their results are ignored too (Zephyr up to 4.2).
      (void)(r.op() == Op::kRead ? backend_.Load() : backend_.Save());
      return Outcome::Success();
  }
}

Outcome SettingsGroup::CheckName(std::string_view name) const {
  if (name.empty()) return Outcome::Rc(MgmtErr::kInval);
  if (name.size() >= config_.name_len) return Err(SettingsErr::kKeyTooLong);
  return Outcome::Success();
}

// {"name": tstr, "max_size"?: uint} -> {"val": bstr, "max_size"?: uint}: the value, cut to
// max_size; a max_size above CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN is lowered to it, and then
// the answer says so with "max_size": VALUE_LEN.
Outcome SettingsGroup::Read(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::settings::ReadRequest::Parse(r.payload);
  if (!req.ok() || (req->max_size && *req->max_size > UINT32_MAX)) {
    return Outcome::Rc(MgmtErr::kInval);
  }
  if (Outcome o = CheckName(req->name); o.kind() != Outcome::Kind::kSuccess) return o;
  const uint64_t max_size = req->max_size.value_or(config_.value_len);
  const bool limited = max_size > config_.value_len;
  const size_t len = static_cast<size_t>(std::min<uint64_t>(max_size, config_.value_len));
  const int rc = backend_.RuntimeGet(req->name, ByteSpan(value_.data(), len));
  if (rc < 0) return FromErrno(rc, SettingsErr::kReadNotSupported);
  smp::settings::ReadResponse answer;
  answer.val = ConstByteSpan(value_.data(), std::min<size_t>(static_cast<size_t>(rc), len));
  if (limited) answer.max_size = config_.value_len;
  answer.Write(w);
  return Outcome::Success();
}

// {"name": tstr, "val": bstr} -> {}: the runtime value only (save stores it).
Outcome SettingsGroup::Write(const smp::Request& r) {
  auto req = smp::settings::WriteRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  if (Outcome o = CheckName(req->name); o.kind() != Outcome::Kind::kSuccess) return o;
  const int rc = backend_.RuntimeSet(req->name, req->val);
  if (rc < 0) return FromErrno(rc, SettingsErr::kWriteNotSupported);
  return Outcome::Success();
}

// {"name": tstr} -> {}: a delete record in storage; the runtime value stays.
Outcome SettingsGroup::Delete(const smp::Request& r) {
  auto req = smp::settings::DeleteRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  if (Outcome o = CheckName(req->name); o.kind() != Outcome::Kind::kSuccess) return o;
  const int rc = backend_.Delete(req->name);
  if (rc < 0) return FromErrno(rc, SettingsErr::kDeleteNotSupported);
  return Outcome::Success();
}

}  // namespace smpkit::mgmt
