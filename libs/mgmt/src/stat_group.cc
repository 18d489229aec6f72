#include "smpkit/mgmt/stat_group.h"

#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::mgmt {

using smp::MgmtErr;
using smp::Op;
using smp::Outcome;

int32_t StatErrToV1(uint16_t rc) {
  switch (static_cast<StatErr>(rc)) {
    case StatErr::kOk: return 0;
    case StatErr::kInvalidGroup:
    case StatErr::kInvalidStatName: return static_cast<int32_t>(MgmtErr::kNoEnt);
    case StatErr::kInvalidStatSize: return static_cast<int32_t>(MgmtErr::kInval);
    default: return static_cast<int32_t>(MgmtErr::kUnknown);
  }
}

bool StatGroup::Supports(uint8_t command, Op op) const {
  return op == Op::kRead && (command == kShow || command == kList);
}

Outcome StatGroup::Handle(const smp::Request& r, cbor::Writer& w) {
  return r.header.id == kShow ? Show(r, w) : List(w);
}

// {"name": tstr} -> {"name": tstr, "fields": {name: uint, ...}}. As Zephyr's stat_mgmt_show:
// a missing, empty or over-long name (or one of another type) is EINVAL; a name that is no
// group is the group's INVALID_STAT_NAME (Zephyr 4.1 raised it under group 63 by mistake,
// fixed in zephyr#104682; smpkit answers with group 2).
Outcome StatGroup::Show(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::stat::ShowRequest::Parse(r.payload);
  if (!req.ok() || !req->name || req->name->empty() ||
      req->name->size() >= config_.max_name_len) {
    return Outcome::Rc(MgmtErr::kInval);
  }
  const std::string_view name = *req->name;
  const size_t n = source_.GroupCount();
  size_t g = 0;
  while (g < n && source_.GroupName(g) != name) ++g;
  if (g == n) {
    return Outcome::GroupError(kGroupId, static_cast<uint16_t>(StatErr::kInvalidStatName));
  }
  if (config_.show_rc0) w.Key("rc").Int(0);
  smp::stat::ShowResponse::Write(w, name, [&] {
    const size_t fields = source_.FieldCount(g);
    for (size_t i = 0; i < fields; ++i) {
      const StatField f = source_.Field(g, i);
      w.Key(f.name).Uint(f.value);
    }
  });
  return Outcome::Success();  // a full buffer: the server answers rc 7 (EMSGSIZE)
}

Outcome StatGroup::List(cbor::Writer& w) {
  if (config_.list_rc0) w.Key("rc").Int(0);
  smp::stat::ListResponse::Write(w, [&] {
    const size_t n = source_.GroupCount();
    for (size_t g = 0; g < n; ++g) w.Text(source_.GroupName(g));
  });
  return Outcome::Success();
}

}  // namespace smpkit::mgmt
