#include "smpkit/smp/server.h"

#include <algorithm>
#include <cstring>

namespace smpkit::smp {

Status Registry::Register(Group& group) {
  if (Find(group.id()) != nullptr) {
    return Error::Format(Errc::kBadState, "group %u is already registered", group.id());
  }
  if (count_ == groups_.size()) return Error(Errc::kNoSpace, "group registry is full");
  groups_[count_++] = &group;
  return Ok();
}

Group* Registry::Find(uint16_t id) const {
  for (size_t i = 0; i < count_; ++i) {
    if (groups_[i]->id() == id) return groups_[i];
  }
  return nullptr;
}

size_t Server::Process(ConstByteSpan packet, ByteSpan scratch, ResponseSink& sink) {
  size_t answered = 0;
  ByteSpan out = scratch.first(std::min(scratch.size(), config_.buf_size));
  while (packet.size() >= kHeaderSize) {
    bool stop = false;
    const size_t used = ProcessFrame(packet, out, sink, &stop);
    ++answered;
    if (stop || used == 0) break;
    packet = packet.subspan(used);
  }
  // Fewer than 8 bytes left: silently dropped, as Zephyr does.
  return answered;
}

size_t Server::EncodeError(const Header& rsp_header, int32_t rc, const char* reason,
                           ByteSpan out) {
  cbor::Writer w(out.subspan(kHeaderSize), config_.style);
  w.BeginMap().Key("rc").Int(rc);
  if (config_.verbose_errors && reason != nullptr) w.Key("rsn").Text(reason);
  w.End();
  if (!w.ok()) {
    // Even the reason does not fit: fall back to the bare rc.
    cbor::Writer bare(out.subspan(kHeaderSize), config_.style);
    bare.BeginMap().Key("rc").Int(rc).End();
    w = bare;
  }
  Header h = rsp_header;
  h.length = static_cast<uint16_t>(w.size());
  (void)EncodeHeader(h, out);
  return kHeaderSize + w.size();
}

void Server::CountError(uint16_t group) {
  ++stats_.errors;
  if (group < ServerStats::kTrackedGroups) ++stats_.group_errors[group];
}

size_t Server::ProcessFrame(ConstByteSpan in, ByteSpan out, ResponseSink& sink, bool* stop) {
  const Header req = *DecodeHeader(in);  // caller guarantees 8 bytes
  Header rsp;
  rsp.op = ResponseOp(req.op);
  rsp.version = std::min<uint8_t>(req.version, kVersion2);
  rsp.group = req.group;
  rsp.seq = req.seq;
  rsp.id = req.id;
  if (out.size() < kHeaderSize + 8) {  // cannot even hold an error answer
    *stop = true;
    return 0;
  }
  ++stats_.requests;
  if (req.group < ServerStats::kTrackedGroups) ++stats_.group_requests[req.group];
  auto fail = [&](MgmtErr rc, const char* reason) {
    CountError(req.group);
    *stop = true;
    const size_t n = EncodeError(rsp, static_cast<int32_t>(rc), reason, out);
    sink.SendResponse(out.first(n));
    return size_t{0};
  };

  if (in.size() - kHeaderSize < req.length) return fail(MgmtErr::kCorrupt, nullptr);
  const size_t frame_size = kHeaderSize + req.length;
  if (req.version > kVersion2) return fail(MgmtErr::kTooNew, nullptr);
  if (req.version == kVersion1 && !config_.legacy_support) return fail(MgmtErr::kTooOld, nullptr);
  if (req.op != static_cast<uint8_t>(Op::kRead) && req.op != static_cast<uint8_t>(Op::kWrite)) {
    return fail(MgmtErr::kNotSup, nullptr);
  }
  Group* group = registry_.Find(req.group);
  if (group == nullptr || !group->Supports(req.id, static_cast<Op>(req.op))) {
    return fail(MgmtErr::kNotSup, nullptr);
  }

  Request request{req, in.subspan(kHeaderSize, req.length)};
  cbor::Writer w(out.subspan(kHeaderSize), config_.style);
  w.BeginMap();
  Outcome outcome = group->Handle(request, w);

  switch (outcome.kind()) {
    case Outcome::Kind::kNoResponse:
      return frame_size;
    case Outcome::Kind::kRc:
      return fail(static_cast<MgmtErr>(outcome.rc()), outcome.reason());
    case Outcome::Kind::kGroupError: {
      CountError(req.group);
      if (req.version == kVersion1) {
        // Legacy client: discard the body, answer a translated rc (§1.3, §3.5). Zephyr's
        // smp_handle_single_req returns that rc as an error, so the rest of the packet is
        // dropped, as after any error response.
        Group* raiser = registry_.Find(outcome.group());
        const int32_t rc = raiser ? raiser->ToV1Rc(outcome.group_rc()) : 1;
        *stop = true;
        const size_t n = EncodeError(rsp, rc, outcome.reason(), out);
        sink.SendResponse(out.first(n));
        return frame_size;
      }
      // With keep_body the handler wrote err itself (WriteGroupError) next to its entries.
      if (!outcome.keep_body()) {
        w = cbor::Writer(out.subspan(kHeaderSize), config_.style);
        w.BeginMap();
        WriteGroupError(w, outcome.group(), outcome.group_rc());
      }
      break;
    }
    case Outcome::Kind::kSuccess:
      break;
  }
  w.End();
  if (!w.status().ok()) return fail(MgmtErr::kMsgSize, nullptr);
  rsp.length = static_cast<uint16_t>(w.size());
  (void)EncodeHeader(rsp, out);
  sink.SendResponse(out.first(kHeaderSize + w.size()));
  return frame_size;
}

}  // namespace smpkit::smp
