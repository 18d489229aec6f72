#include "smpkit/mgmt/os_group.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "smpkit/cbor/reader.h"
#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::mgmt {

using smp::MgmtErr;
using smp::Op;
using smp::Outcome;

namespace {
constexpr size_t kMaxInfoOutput = 512;

Outcome OsError(smp::OsErr e) { return Outcome::GroupError(smp::kGroupOs, static_cast<uint16_t>(e)); }
}  // namespace

Result<DateTime> ParseDateTime(std::string_view t, bool with_ms) {
  if (t.size() < 19 || t.size() > 25) {
    return Error::Format(Errc::kInvalidArgument, "datetime must be 19..25 characters, got %zu",
                         t.size());
  }
  struct FieldSpec {
    const char* name;
    int digits_max;
    int min;
    int max;
  };
  static constexpr FieldSpec kFields[6] = {{"year", 5, 1900, 11899}, {"month", 2, 1, 12},
                                           {"day", 2, 1, 31},        {"hour", 2, 0, 23},
                                           {"minute", 2, 0, 59},     {"second", 2, 0, 59}};
  int values[6] = {};
  size_t pos = 0;
  for (int f = 0; f < 6; ++f) {
    int v = 0;
    int digits = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9' && digits < kFields[f].digits_max) {
      v = v * 10 + (t[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0 || v < kFields[f].min || v > kFields[f].max) {
      return Error::Format(Errc::kInvalidArgument, "datetime %s is missing or out of range",
                           kFields[f].name);
    }
    values[f] = v;
    // Each of the first five fields is followed by exactly one separator of any kind.
    if (f < 5) {
      if (pos >= t.size()) return Error(Errc::kInvalidArgument, "datetime ends early");
      ++pos;
    }
  }
  DateTime dt{values[0], values[1], values[2], values[3], values[4], values[5], -1};
  if (with_ms && pos < t.size() && t[pos] == '.') {
    ++pos;
    int ms = 0;
    int digits = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9' && digits < 3) {
      ms = ms * 10 + (t[pos++] - '0');
      ++digits;
    }
    if (digits == 0) return Error(Errc::kInvalidArgument, "datetime milliseconds missing");
    dt.millisecond = ms;
  }
  return dt;  // anything after this (e.g. a zone) is ignored, as Zephyr does
}

size_t FormatDateTime(const DateTime& dt, bool with_ms, std::span<char> out) {
  int n;
  if (with_ms && dt.millisecond >= 0) {
    n = std::snprintf(out.data(), out.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%d", dt.year,
                      dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond);
  } else {
    n = std::snprintf(out.data(), out.size(), "%04d-%02d-%02dT%02d:%02d:%02d", dt.year, dt.month,
                      dt.day, dt.hour, dt.minute, dt.second);
  }
  return n < 0 ? 0 : std::min(static_cast<size_t>(n), out.size() ? out.size() - 1 : 0);
}

bool OsGroup::Supports(uint8_t command, Op op) const {
  const bool read = op == Op::kRead;
  const bool write = op == Op::kWrite;
  switch (command) {
    case kEcho: return config_.echo;
    case kTaskStat: return config_.taskstat && read;
    case kDateTime: return config_.datetime && (read || write);
    case kReset: return config_.reset && write;
    case kMcumgrParams: return config_.mcumgr_params && read;
    case kInfo: return config_.info && read;
    case kBootloaderInfo: return config_.bootloader_info && read;
    default: return false;
  }
}

Outcome OsGroup::Handle(const smp::Request& r, cbor::Writer& w) {
  switch (r.header.id) {
    case kEcho: return Echo(r, w);
    case kTaskStat: return TaskStat(w);
    case kDateTime: return DateTimeCmd(r, w);
    case kReset: return Reset(r);
    case kMcumgrParams: return Params(w);
    case kInfo: return Info(r, w);
    case kBootloaderInfo: return BootloaderInfo(r, w);
    default: return Outcome::Rc(MgmtErr::kNotSup);
  }
}

Outcome OsGroup::Echo(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::os::EchoRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  smp::os::EchoResponse{req->d}.Write(w);  // overflow -> the server answers rc 7
  return Outcome::Success();
}

Outcome OsGroup::TaskStat(cbor::Writer& w) {
  smp::os::TaskStatResponse::Write(w, [&] {
    for (const TaskInfo& t : hooks_.Tasks()) {
      smp::os::TaskStatEntry e;
      e.name = t.name;
      e.prio = t.prio;
      e.tid = t.tid;
      e.state = t.state;
      e.Write(w);
    }
  });
  return Outcome::Success();
}

Outcome OsGroup::DateTimeCmd(const smp::Request& r, cbor::Writer& w) {
  if (r.op() == Op::kRead) {
    DateTime now;
    if (!hooks_.RtcGet(&now)) return OsError(smp::OsErr::kRtcNotSet);
    char text[40];
    const size_t n = FormatDateTime(now, config_.datetime_ms, text);
    smp::os::DateTimeResponse{std::string_view(text, n)}.Write(w);
    return Outcome::Success();
  }
  auto req = smp::os::DateTimeWriteRequest::Parse(r.payload);
  if (!req.ok() || !req->datetime) return Outcome::Rc(MgmtErr::kInval);
  auto dt = ParseDateTime(*req->datetime, config_.datetime_ms);
  if (!dt.ok()) return Outcome::Rc(MgmtErr::kInval);
  if (!hooks_.RtcSet(*dt)) return OsError(smp::OsErr::kRtcCommandFailed);
  return Outcome::Success();
}

Outcome OsGroup::Reset(const smp::Request& r) {
  // Decode errors are deliberately ignored: treated as force = false (§5.5).
  const auto req = smp::os::ResetRequest::Parse(r.payload);
  const bool force = req.ok() && req->force;
  uint64_t boot_mode = req.ok() ? req->boot_mode.value_or(0) : 0;
  if (!config_.reset_boot_mode || boot_mode > 0xff) boot_mode = 0;
  Outcome veto = hooks_.OnResetRequest(force, static_cast<uint8_t>(boot_mode));
  if (veto.kind() != Outcome::Kind::kSuccess) return veto;
  hooks_.ScheduleReset(static_cast<uint8_t>(boot_mode));
  return Outcome::Success();
}

Outcome OsGroup::Params(cbor::Writer& w) {
  smp::os::ParamsResponse{server_.buf_size, server_.buf_count}.Write(w);
  return Outcome::Success();
}

Outcome OsGroup::Info(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::os::InfoRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  const std::string_view format = req->format.empty() ? std::string_view("s") : req->format;
  struct Item {
    char c;
    std::string_view value;
  };
  const Item items[] = {{'s', config_.kernel_name}, {'n', config_.node_name},
                        {'r', config_.release},     {'v', config_.version},
                        {'b', config_.build_date},  {'m', config_.machine},
                        {'p', config_.processor},   {'i', config_.platform},
                        {'o', config_.os_name}};
  bool want[std::size(items)] = {};
  for (char c : format) {
    if (c == 'a') {
      for (size_t i = 0; i < std::size(items); ++i) want[i] = !items[i].value.empty();
      continue;
    }
    size_t i = 0;
    while (i < std::size(items) && (items[i].c != c || items[i].value.empty())) ++i;
    if (i == std::size(items)) return OsError(smp::OsErr::kInvalidFormat);
    want[i] = true;
  }
  char out[kMaxInfoOutput];
  const size_t limit = std::min(config_.info_max_size, sizeof(out));
  size_t n = 0;
  for (size_t i = 0; i < std::size(items); ++i) {
    if (!want[i]) continue;
    const size_t need = items[i].value.size() + (n ? 1 : 0);
    if (n + need > limit) return Outcome::Rc(MgmtErr::kMsgSize);
    if (n) out[n++] = ' ';
    std::memcpy(out + n, items[i].value.data(), items[i].value.size());
    n += items[i].value.size();
  }
  smp::os::InfoResponse{std::string_view(out, n)}.Write(w);
  return Outcome::Success();
}

Outcome OsGroup::BootloaderInfo(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::os::BootloaderInfoRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  if (!req->query) {
    smp::os::BootloaderInfoResponse answer;
    answer.bootloader = config_.bootloader;
    answer.Write(w);
    return Outcome::Success();
  }
  if (*req->query == "mode") {
    smp::os::BootloaderInfoResponse answer;
    answer.mode = config_.bootloader_mode;
    answer.no_downgrade = config_.no_downgrade;
    answer.Write(w);
    return Outcome::Success();
  }
  return OsError(smp::OsErr::kQueryYieldsNoAnswer);
}

}  // namespace smpkit::mgmt
