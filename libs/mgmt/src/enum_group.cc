#include "smpkit/mgmt/enum_group.h"

#include <array>

#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::mgmt {

using smp::MgmtErr;
using smp::Op;
using smp::Outcome;

int32_t EnumErrToV1(uint16_t rc) {
  if (rc == static_cast<uint16_t>(EnumErr::kOk)) return 0;
  if (rc == static_cast<uint16_t>(EnumErr::kTooManyGroupEntries)) {
    return static_cast<int32_t>(MgmtErr::kInval);
  }
  return static_cast<int32_t>(MgmtErr::kUnknown);  // INDEX_TOO_LARGE included, as Zephyr
}

bool EnumGroup::Supports(uint8_t command, Op op) const {
  if (op != Op::kRead) return false;
  return command == kCount || command == kList || command == kSingle ||
         (command == kDetails && config_.details);
}

Outcome EnumGroup::Handle(const smp::Request& r, cbor::Writer& w) {
  switch (r.header.id) {
    case kCount:
      smp::enumeration::CountResponse{registry_.size()}.Write(w);
      return Outcome::Success();
    case kList:
      smp::enumeration::ListResponse::Write(w, [&] {
        for (size_t i = 0; i < registry_.size(); ++i) w.Uint(registry_.at(i).id());
      });
      return Outcome::Success();
    case kSingle: return Single(r, w);
    default: return Details(r, w);
  }
}

// {"index": uint (optional, 0)} -> {"group": id [, "end": true]}; past the last group:
// INDEX_TOO_LARGE. A wrong type, or an index above 65535: EINVAL.
Outcome EnumGroup::Single(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::enumeration::SingleRequest::Parse(r.payload);
  if (!req.ok() || req->index > 65535) return Outcome::Rc(MgmtErr::kInval);
  const uint64_t index = req->index;
  if (index >= registry_.size()) {
    return Outcome::GroupError(kGroupId, static_cast<uint16_t>(EnumErr::kIndexTooLarge));
  }
  smp::enumeration::SingleResponse{registry_.at(index).id(), index + 1 == registry_.size()}.Write(
      w);
  return Outcome::Success();
}

// {} or {"groups": [id, ...]} -> {"groups": [{"group": id, "name": tstr, "handlers": uint},
// ...]}, in registration order, only the listed groups when a list is given (ids the server
// does not have are left out). More ids than max_detail_entries: TOO_MANY_GROUP_ENTRIES; an
// entry that is no uint, or "groups" that is no array: EINVAL.
Outcome EnumGroup::Details(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::enumeration::DetailsRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  // As Zephyr: count the entries first (TOO_MANY_GROUP_ENTRIES whatever they are), then
  // read them as ids (Zephyr keeps 16 bits of each).
  auto count = req->CountGroups();
  if (!count.ok()) return Outcome::Rc(MgmtErr::kInval);
  std::array<uint16_t, 64> allowed{};
  if (*count > config_.max_detail_entries || *count > allowed.size()) {
    return Outcome::GroupError(kGroupId, static_cast<uint16_t>(EnumErr::kTooManyGroupEntries));
  }
  const size_t entries = *count;
  for (size_t i = 0; i < entries; ++i) {
    auto id = req->GroupAt(i);
    if (!id.ok()) return Outcome::Rc(MgmtErr::kInval);
    allowed[i] = static_cast<uint16_t>(*id);
  }
  smp::enumeration::DetailsResponse::Write(w, [&] {
    for (size_t i = 0; i < registry_.size(); ++i) {
      const smp::Group& g = registry_.at(i);
      if (entries > 0) {
        bool listed = false;
        for (size_t k = 0; k < entries && !listed; ++k) listed = allowed[k] == g.id();
        if (!listed) continue;
      }
      smp::enumeration::DetailsEntry e;
      e.group = g.id();
      if (config_.details_name) e.name = g.Name();
      if (config_.details_handlers) e.handlers = g.HandlerCount();
      e.Write(w);
    }
  });
  return Outcome::Success();
}

}  // namespace smpkit::mgmt
