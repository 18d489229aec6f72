#include "smpkit/desktop/config_dfu.h"

#include <array>

namespace smpkit::desktop {
namespace {

constexpr std::array<std::string_view, kDfuOptionCount> kOptionNames = {
    "start", "data", "sync", "reboot", "fwinfo", "module_variant", "devinfo"};

}  // namespace

std::string_view DfuOptionName(DfuOption o) {
  const auto i = static_cast<size_t>(o);
  return i < kOptionNames.size() ? kOptionNames[i] : "?";
}

std::string_view SyncStateName(SyncState s) {
  switch (s) {
    case SyncState::kInactive:
      return "INACTIVE";
    case SyncState::kActiveConfigChannel:
      return "ACTIVE_CONFIG_CHANNEL";
    case SyncState::kStoring:
      return "STORING";
    case SyncState::kCleaning:
      return "CLEANING";
    case SyncState::kActiveOther:
      return "ACTIVE_OTHER";
  }
  return "?";
}

Result<DfuCommand> DecodeDfuCommand(uint8_t option_field, ConfigStatus status, ConstByteSpan data) {
  if (status != ConfigStatus::kSet && status != ConfigStatus::kFetch)
    return Error::Format(Errc::kInvalidArgument, "config status %u is not a request (SET/FETCH)",
                         static_cast<unsigned>(status));
  if (option_field == 0) {
    if (status != ConfigStatus::kFetch)
      return Error(Errc::kInvalidArgument, "module descriptor can only be fetched");
    return DfuCommand{DescriptorFetch{}};
  }
  if (option_field > kDfuOptionCount)
    return Error::Format(Errc::kInvalidArgument, "unknown dfu option field %u (1..%zu)",
                         option_field, kDfuOptionCount);
  const auto opt = static_cast<DfuOption>(option_field - 1);
  const bool is_set_option = opt == DfuOption::kStart || opt == DfuOption::kData;
  if (is_set_option && status != ConfigStatus::kSet)
    return Error::Format(Errc::kInvalidArgument, "dfu option %s is set-only",
                         std::string(DfuOptionName(opt)).c_str());
  if (!is_set_option && status != ConfigStatus::kFetch)
    return Error::Format(Errc::kInvalidArgument, "dfu option %s is fetch-only",
                         std::string(DfuOptionName(opt)).c_str());
  if (opt == DfuOption::kStart) {
    SMPKIT_ASSIGN_OR_RETURN(auto s, DecodeStart(data));
    return DfuCommand{s};
  }
  if (opt == DfuOption::kData) return DfuCommand{DataCommand{data}};
  if (!data.empty())
    return Error::Format(Errc::kInvalidArgument, "fetch of dfu option %s carries %zu data bytes",
                         std::string(DfuOptionName(opt)).c_str(), data.size());
  return DfuCommand{FetchCommand{opt}};
}

Result<size_t> EncodeStart(const StartCommand& s, ByteSpan out) {
  ByteWriter w(out, Endian::kLittle);
  SMPKIT_TRY(w.U32(s.length));
  SMPKIT_TRY(w.U32(s.crc));
  SMPKIT_TRY(w.U32(s.offset));
  return w.size();
}

Result<StartCommand> DecodeStart(ConstByteSpan data) {
  if (data.size() < kStartSize)
    return Error::Format(Errc::kTruncated, "dfu start payload has %zu bytes, needs 12",
                         data.size());
  ByteReader r(data, Endian::kLittle);
  StartCommand s;
  SMPKIT_ASSIGN_OR_RETURN(s.length, r.U32());
  SMPKIT_ASSIGN_OR_RETURN(s.crc, r.U32());
  SMPKIT_ASSIGN_OR_RETURN(s.offset, r.U32());
  return s;
}

Result<size_t> EncodeSync(const SyncInfo& s, ByteSpan out) {
  ByteWriter w(out, Endian::kLittle);
  SMPKIT_TRY(w.U8(static_cast<uint8_t>(s.state)));
  SMPKIT_TRY(w.U32(s.length));
  SMPKIT_TRY(w.U32(s.crc));
  SMPKIT_TRY(w.U32(s.offset));
  SMPKIT_TRY(w.U16(s.buffer_size));
  return w.size();
}

Result<SyncInfo> DecodeSync(ConstByteSpan data) {
  if (data.size() < kSyncSize)
    return Error::Format(Errc::kTruncated, "dfu sync response has %zu bytes, needs 15",
                         data.size());
  ByteReader r(data, Endian::kLittle);
  SyncInfo s;
  SMPKIT_ASSIGN_OR_RETURN(uint8_t state, r.U8());
  if (state > static_cast<uint8_t>(SyncState::kActiveOther))
    return Error::Format(Errc::kInvalidArgument, "unknown dfu sync state %u", state);
  s.state = static_cast<SyncState>(state);
  SMPKIT_ASSIGN_OR_RETURN(s.length, r.U32());
  SMPKIT_ASSIGN_OR_RETURN(s.crc, r.U32());
  SMPKIT_ASSIGN_OR_RETURN(s.offset, r.U32());
  SMPKIT_ASSIGN_OR_RETURN(s.buffer_size, r.U16());
  return s;
}

Result<size_t> EncodeFwInfo(const FwInfo& f, ByteSpan out) {
  ByteWriter w(out, Endian::kLittle);
  SMPKIT_TRY(w.U8(f.slot));
  SMPKIT_TRY(w.U32(f.image_size));
  SMPKIT_TRY(w.U8(f.major));
  SMPKIT_TRY(w.U8(f.minor));
  SMPKIT_TRY(w.U16(f.revision));
  SMPKIT_TRY(w.U32(f.build));
  return w.size();
}

Result<FwInfo> DecodeFwInfo(ConstByteSpan data) {
  if (data.size() < kFwInfoSize)
    return Error::Format(Errc::kTruncated, "dfu fwinfo response has %zu bytes, needs 13",
                         data.size());
  ByteReader r(data, Endian::kLittle);
  FwInfo f;
  SMPKIT_ASSIGN_OR_RETURN(f.slot, r.U8());
  if (f.slot > 1)
    return Error::Format(Errc::kInvalidArgument, "fwinfo slot index %u (0 or 1)", f.slot);
  SMPKIT_ASSIGN_OR_RETURN(f.image_size, r.U32());
  SMPKIT_ASSIGN_OR_RETURN(f.major, r.U8());
  SMPKIT_ASSIGN_OR_RETURN(f.minor, r.U8());
  SMPKIT_ASSIGN_OR_RETURN(f.revision, r.U16());
  SMPKIT_ASSIGN_OR_RETURN(f.build, r.U32());
  return f;
}

Result<size_t> EncodeDevInfo(uint16_t vid, uint16_t pid, std::string_view generation,
                             ByteSpan out) {
  ByteWriter w(out, Endian::kLittle);
  SMPKIT_TRY(w.U16(vid));
  SMPKIT_TRY(w.U16(pid));
  SMPKIT_TRY(w.Bytes(
      ConstByteSpan(reinterpret_cast<const uint8_t*>(generation.data()), generation.size())));
  return w.size();
}

Result<DevInfo> DecodeDevInfo(ConstByteSpan data) {
  if (data.size() < 4)
    return Error::Format(Errc::kTruncated, "dfu devinfo response has %zu bytes, needs >= 4",
                         data.size());
  ByteReader r(data, Endian::kLittle);
  DevInfo d;
  SMPKIT_ASSIGN_OR_RETURN(d.vid, r.U16());
  SMPKIT_ASSIGN_OR_RETURN(d.pid, r.U16());
  auto rest = r.rest();
  d.generation.assign(rest.begin(), rest.end());
  return d;
}

}  // namespace smpkit::desktop
