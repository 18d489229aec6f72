#include "smpkit/smp/message.h"

#include <algorithm>
#include <cstdio>

namespace smpkit::smp {

Result<Response> ParseResponse(ConstByteSpan frame) {
  SMPKIT_ASSIGN_OR_RETURN(Header h, DecodeHeader(frame));
  if (frame.size() != kHeaderSize + h.length) {
    return Error::Format(Errc::kCorrupt, "SMP frame of %zu bytes but its header says %u + 8",
                         frame.size(), h.length);
  }
  Response r;
  r.header = h;
  r.payload = frame.subspan(kHeaderSize);
  int64_t rc = 0;
  cbor::RawValue err;
  bool has_err = false;
  SMPKIT_TRY(cbor::DecodeMap(r.payload, {cbor::IntField("rc", &rc), cbor::TextField("rsn", &r.reason),
                                         cbor::RawField("err", &err, &has_err)}));
  r.rc = static_cast<int32_t>(rc);
  if (has_err) {
    uint64_t group = 0, grc = 0;
    bool has_group = false, has_rc = false;
    SMPKIT_TRY(cbor::DecodeMap(err.encoded, {cbor::UintField("group", &group, &has_group),
                                             cbor::UintField("rc", &grc, &has_rc)}));
    if (!has_group || !has_rc || group > 0xffff || grc > 0xffff) {
      return Error(Errc::kTypeMismatch, "\"err\" map needs uint \"group\" and \"rc\"");
    }
    if (grc != 0) r.err = GroupError{static_cast<uint16_t>(group), static_cast<uint16_t>(grc)};
  }
  return r;
}

std::string_view DescribeError(const Response& r, std::span<char> out) {
  int n = 0;
  if (r.err) {
    const auto name = GroupErrName(r.err->group, r.err->rc);
    const auto group = GroupName(r.err->group);
    n = std::snprintf(out.data(), out.size(), "%.*s group (%u) error %u%s%.*s%s",
                      static_cast<int>(group.size()), group.data(), r.err->group, r.err->rc,
                      name.empty() ? "" : " (", static_cast<int>(name.size()), name.data(),
                      name.empty() ? "" : ")");
  } else if (r.rc != 0) {
    const auto name = MgmtErrName(r.rc);
    const auto meaning = MgmtErrMeaning(r.rc);
    n = std::snprintf(out.data(), out.size(), "rc %d (%.*s: %.*s)%s%.*s", r.rc,
                      static_cast<int>(name.size()), name.data(), static_cast<int>(meaning.size()),
                      meaning.data(), r.reason.empty() ? "" : ", reason: ",
                      static_cast<int>(r.reason.size()), r.reason.data());
  } else {
    n = std::snprintf(out.data(), out.size(), "ok");
  }
  if (n < 0) return {};
  return {out.data(), std::min(static_cast<size_t>(n), out.size() ? out.size() - 1 : 0)};
}

}  // namespace smpkit::smp
