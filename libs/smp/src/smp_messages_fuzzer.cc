// Fuzzes every typed request and answer of smpkit/smp (requests.h, img_upload.h,
// responses.h). The input is one SMP frame: its header's op, group and id pick the type
// (a request op its request, a response op its answer), the payload is parsed. What parses
// must encode to exactly EncodedSize() bytes and parse again to the same fields; list answers
// are walked to the end.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "smpkit/smp/commands.h"
#include "smpkit/smp/header.h"
#include "smpkit/smp/img_upload.h"
#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace {

using namespace smpkit;
using namespace smpkit::smp;

void Check(bool ok) {
  if (!ok) std::abort();
}

// Encodes `m`, checks the size against EncodedSize(), parses it back and returns that.
template <typename T>
T RoundTrip(const T& m) {
  std::vector<uint8_t> out(m.EncodedSize());
  auto n = m.Encode(out);
  Check(n.ok() && *n == out.size());
  auto again = T::Parse(out);
  Check(again.ok());
  // The views of `again` point into `out`: compare before it goes.
  std::vector<uint8_t> twice(again->EncodedSize());
  auto n2 = again->Encode(twice);
  Check(n2.ok() && twice == out);
  return *again;
}

template <typename T>
void Fixed(ConstByteSpan payload) {
  auto m = T::Parse(payload);
  if (m.ok()) RoundTrip(*m);
}

template <typename T, typename Fn>
void List(ConstByteSpan payload, Fn&& walk) {
  auto m = T::Parse(payload);
  if (m.ok()) (void)walk(*m);
}

Status Any(...) { return Status(); }

void Request(uint8_t op, uint16_t group, uint8_t id, ConstByteSpan p) {
  const bool write = op == static_cast<uint8_t>(Op::kWrite);
  switch (group) {
    case kGroupOs:
      if (id == os::kEcho) Fixed<os::EchoRequest>(p);
      if (id == os::kReset) Fixed<os::ResetRequest>(p);
      if (id == os::kDateTime && write) Fixed<os::DateTimeWriteRequest>(p);
      if (id == os::kInfo) Fixed<os::InfoRequest>(p);
      if (id == os::kBootloaderInfo) Fixed<os::BootloaderInfoRequest>(p);
      break;
    case kGroupImage:
      if (id == img::kState && write) Fixed<img::StateWriteRequest>(p);
      if (id == img::kUpload) Fixed<img::UploadRequest>(p);
      if (id == img::kErase) Fixed<img::EraseRequest>(p);
      break;
    case kGroupStat:
      if (id == stat::kShow) Fixed<stat::ShowRequest>(p);
      break;
    case kGroupSettings:
      if (id == settings::kReadWrite) {
        if (write) {
          Fixed<settings::WriteRequest>(p);
        } else {
          Fixed<settings::ReadRequest>(p);
        }
      }
      if (id == settings::kDelete) Fixed<settings::DeleteRequest>(p);
      break;
    case kGroupFs:
      if (id == fs::kFile) {
        if (write) {
          auto m = fs::UploadRequest::Parse(p);
          if (m.ok()) {
            RoundTrip(*m);
            // The fit: at the limit it fits, one byte more does not.
            const size_t limit = m->EncodedSize();
            const size_t fit = fs::UploadDataFit(*m, limit);
            Check(fit >= m->data.size());
          }
        } else {
          Fixed<fs::DownloadRequest>(p);
        }
      }
      if (id == fs::kStatus) Fixed<fs::StatusRequest>(p);
      if (id == fs::kHash) Fixed<fs::HashRequest>(p);
      break;
    case kGroupShell:
      if (id == shell::kExec) {
        auto m = shell::ExecRequest::Parse(p);
        if (!m.ok()) break;
        std::vector<std::string_view> args;
        m->ForEachArg([&](std::string_view a) {
          args.push_back(a);
          return true;
        });
        shell::ExecRequest again;
        again.argv = args;
        std::vector<uint8_t> out(again.EncodedSize());
        auto n = again.Encode(out);
        Check(n.ok() && *n == out.size());
        auto back = shell::ExecRequest::Parse(out);
        Check(back.ok());
        size_t i = 0;
        back->ForEachArg([&](std::string_view a) {
          Check(i < args.size() && a == args[i]);
          ++i;
          return true;
        });
        Check(i == args.size());
      }
      break;
    case kGroupEnum:
      if (id == enumeration::kSingle) Fixed<enumeration::SingleRequest>(p);
      if (id == enumeration::kDetails) {
        auto m = enumeration::DetailsRequest::Parse(p);
        if (!m.ok()) break;
        auto count = m->CountGroups();
        if (!count.ok()) break;
        for (size_t i = 0; i < *count && i < 4096; ++i) (void)m->GroupAt(i);
      }
      break;
    default:
      break;
  }
}

void Response(uint8_t op, uint16_t group, uint8_t id, ConstByteSpan p) {
  const bool write = op == static_cast<uint8_t>(Op::kWriteRsp);
  switch (group) {
    case kGroupOs:
      if (id == os::kEcho) Fixed<os::EchoResponse>(p);
      if (id == os::kMcumgrParams) Fixed<os::ParamsResponse>(p);
      if (id == os::kInfo) Fixed<os::InfoResponse>(p);
      if (id == os::kDateTime && !write) Fixed<os::DateTimeResponse>(p);
      if (id == os::kBootloaderInfo) Fixed<os::BootloaderInfoResponse>(p);
      if (id == os::kTaskStat) {
        List<os::TaskStatResponse>(p, [](const auto& m) { return m.ForEach(Any); });
      }
      break;
    case kGroupImage:
      if (id == img::kUpload) Fixed<img::UploadResponse>(p);
      if (id == img::kState) {
        List<img::StateResponse>(p, [](const auto& m) { return m.ForEach(Any); });
      }
      if (id == img::kSlotInfo) {
        List<img::SlotInfoResponse>(p, [](const auto& m) {
          return m.ForEach([](const img::SlotInfoImage& i) { return i.ForEachSlot(Any); });
        });
      }
      break;
    case kGroupStat:
      if (id == stat::kShow) {
        List<stat::ShowResponse>(p, [](const auto& m) { return m.ForEachField(Any); });
      }
      if (id == stat::kList) {
        List<stat::ListResponse>(p, [](const auto& m) { return m.ForEach(Any); });
      }
      break;
    case kGroupSettings:
      if (id == settings::kReadWrite && !write) Fixed<settings::ReadResponse>(p);
      break;
    case kGroupFs:
      if (id == fs::kFile) {
        if (write) {
          Fixed<fs::UploadResponse>(p);
        } else {
          Fixed<fs::DownloadResponse>(p);
        }
      }
      if (id == fs::kFile && write) Fixed<fs::UploadOffsetResponse>(p);
      if (id == fs::kStatus) Fixed<fs::StatusResponse>(p);
      if (id == fs::kHash) Fixed<fs::HashResponse>(p);
      if (id == fs::kSupportedHashes) {
        List<fs::SupportedHashesResponse>(p, [](const auto& m) { return m.ForEach(Any); });
      }
      break;
    case kGroupShell:
      if (id == shell::kExec) Fixed<shell::ExecResponse>(p);
      break;
    case kGroupEnum:
      if (id == enumeration::kCount) Fixed<enumeration::CountResponse>(p);
      if (id == enumeration::kSingle) Fixed<enumeration::SingleResponse>(p);
      if (id == enumeration::kList) {
        List<enumeration::ListResponse>(p, [](const auto& m) { return m.ForEach(Any); });
      }
      if (id == enumeration::kDetails) {
        List<enumeration::DetailsResponse>(p, [](const auto& m) { return m.ForEach(Any); });
      }
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ConstByteSpan in(data, size);
  auto h = DecodeHeader(in);
  if (!h.ok()) return 0;
  const ConstByteSpan payload = in.subspan(kHeaderSize);  // the whole rest, length aside
  if (h->op == static_cast<uint8_t>(Op::kRead) || h->op == static_cast<uint8_t>(Op::kWrite)) {
    Request(h->op, h->group, h->id, payload);
  } else {
    Response(h->op, h->group, h->id, payload);
  }
  return 0;
}
