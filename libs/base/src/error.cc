#include "smpkit/base/error.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <type_traits>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace smpkit {

std::string_view ErrcName(Errc code) {
  switch (code) {
    case Errc::kOk: return "ok";
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kTruncated: return "truncated";
    case Errc::kNoSpace: return "no space";
    case Errc::kTypeMismatch: return "type mismatch";
    case Errc::kDuplicateKey: return "duplicate key";
    case Errc::kNotFound: return "not found";
    case Errc::kNotSupported: return "not supported";
    case Errc::kBadState: return "bad state";
    case Errc::kCorrupt: return "corrupt";
    case Errc::kIo: return "i/o error";
    case Errc::kTimeout: return "timeout";
    case Errc::kBusy: return "busy";
    case Errc::kAccessDenied: return "access denied";
    case Errc::kRemote: return "remote error";
    case Errc::kCrypto: return "crypto error";
    case Errc::kInternal: return "internal error";
  }
  return "unknown";
}

namespace {

// The message ring. Writers take a generation from `next`; a slot's `gen` is 0 while it is
// being written and the generation of its message once complete.
struct Slot {
  std::atomic<uint64_t> gen{0};
  uint8_t length = 0;
  char text[Error::kMaxMessage + 1] = {};
};
std::atomic<uint64_t> g_next{0};
Slot g_slots[Error::kMessageSlots];

constexpr std::string_view kStale[] = {
    "ok (message no longer available)",
    "invalid argument (message no longer available)",
    "truncated (message no longer available)",
    "no space (message no longer available)",
    "type mismatch (message no longer available)",
    "duplicate key (message no longer available)",
    "not found (message no longer available)",
    "not supported (message no longer available)",
    "bad state (message no longer available)",
    "corrupt (message no longer available)",
    "i/o error (message no longer available)",
    "timeout (message no longer available)",
    "busy (message no longer available)",
    "access denied (message no longer available)",
    "remote error (message no longer available)",
    "crypto error (message no longer available)",
    "internal error (message no longer available)",
};
static_assert(std::size(kStale) == static_cast<size_t>(Errc::kInternal) + 1);

// Fills a fresh slot through `write(char* out, size_t capacity) -> length` and returns its
// generation.
template <typename Write>
uint64_t Store(Write write) {
  const uint64_t gen = g_next.fetch_add(1, std::memory_order_relaxed) + 1;
  Slot& slot = g_slots[gen % Error::kMessageSlots];
  slot.gen.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  const size_t n = std::min(write(slot.text, sizeof(slot.text)), Error::kMaxMessage);
  slot.text[n] = '\0';
  slot.length = static_cast<uint8_t>(n);
  slot.gen.store(gen, std::memory_order_release);
  return gen;
}

}  // namespace

static_assert(sizeof(Error) <= 16, "an Error must stay small");
static_assert(std::is_trivially_copyable_v<Error>);

Error::Error(Errc code, std::string_view message) : code_(code), kind_(kSlot) {
  message_.slot_gen = Store([&](char* out, size_t cap) {
    const size_t n = std::min(message.size(), cap - 1);
    std::memcpy(out, message.data(), n);
    return n;
  });
}

Error Error::Format(Errc code, const char* fmt, ...) {
  Error e;
  e.code_ = code;
  e.kind_ = kSlot;
  va_list ap;
  va_start(ap, fmt);
  e.message_.slot_gen = Store([&](char* out, size_t cap) {
    const int n = std::vsnprintf(out, cap, fmt, ap);
    return n < 0 ? size_t{0} : static_cast<size_t>(n);
  });
  va_end(ap);
  return e;
}

Error Error::Static(Errc code, const char* reason) {
  Error e;
  e.code_ = code;
  e.message_.text = reason;
  return e;
}

Error Error::Remote(uint16_t group, int32_t rc, bool mgmt_rc, std::string_view message) {
  Error e(Errc::kRemote, message);
  e.kind_ |= mgmt_rc ? kSmp | kMgmtRc : kSmp;
  e.group_ = group;
  e.rc_ = rc;
  return e;
}

std::string_view Error::message() const {
  if (!(kind_ & kSlot)) return message_.text ? std::string_view(message_.text) : std::string_view();
  const Slot& slot = g_slots[message_.slot_gen % kMessageSlots];
  if (slot.gen.load(std::memory_order_acquire) != message_.slot_gen) {
    return kStale[static_cast<size_t>(code_)];
  }
  return {slot.text, slot.length};
}

}  // namespace smpkit
