// What every CLI area shares: error reports (text or JSON), duration validation, and input
// files that are checked and memory-mapped (or decoded from Intel HEX) before use.
#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "smpkit/mcuboot/intel_hex.h"

namespace smpkit::cli {

namespace {

char g_flash_shrank_message[512];
size_t g_flash_shrank_length = 0;

void OnFlashSigbus(int) {
  // Only async-signal-safe calls: the message was formatted beforehand.
  (void)!write(STDERR_FILENO, g_flash_shrank_message, g_flash_shrank_length);
  _exit(kExitFailure);
}
bool g_jsonl_events = false;
}  // namespace

std::string_view ExitKind(int code) {
  switch (code) {
    case kExitOk:
      return "ok";
    case kExitFailure:
      return "failure";
    case kExitUsage:
      return "usage";
    case kExitBadInput:
      return "bad_input";
    case kExitUnreachable:
      return "unreachable";
    case kExitRejected:
      return "rejected";
    case kExitProtocol:
      return "protocol";
    default:
      return "failure";
  }
}

void SetJsonlEvents(bool on) { g_jsonl_events = on; }

int ReportError(const GlobalOptions& global, int code, std::string_view message,
                const std::optional<SmpErrorInfo>& smp) {
  if (global.json || g_jsonl_events) {
    nlohmann::ordered_json err = {{"kind", ExitKind(code)}, {"message", message}};
    if (smp) {
      err["smp"] = {{"group", smp->group},
                    {"rc", smp->rc},
                    {"name", smp->name.empty() ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json(smp->name)}};
    }
    nlohmann::ordered_json doc;
    if (g_jsonl_events) doc["event"] = "error";
    doc["error"] = err;
    doc["exit"] = code;
    fmt::print("{}\n", doc.dump());
    std::fflush(stdout);
  }
  if (!global.json) fmt::print(stderr, "smpkit: {}\n", message);
  return code;
}

CLI::Validator Seconds(double max_s) {
  return CLI::Validator(
      [max_s](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end == text.c_str() || *end != '\0' || errno == ERANGE) {
          return "'" + text + "' is not a number of seconds";
        }
        if (!std::isfinite(v) || v <= 0 || v > max_s) {
          return fmt::format("{} must be finite, above 0 and at most {} seconds", text, max_s);
        }
        return {};
      },
      fmt::format("SECONDS in (0, {}]", max_s));
}

bool IsHexName(std::string_view path) {
  if (path.size() < 4) return false;
  std::string_view ext = path.substr(path.size() - 4);
  return ext[0] == '.' && (ext[1] | 0x20) == 'h' && (ext[2] | 0x20) == 'e' &&
         (ext[3] | 0x20) == 'x';
}

Result<InputFile> InputFile::Open(const std::string& path, bool raw) {
  InputFile f;
  f.path_ = path;
  // O_NONBLOCK: a FIFO without a writer must not hang the command.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return Error::Format(Errc::kInvalidArgument, "%s: cannot open: %s", path.c_str(),
                         std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return Error::Format(Errc::kInvalidArgument, "%s: cannot read: %s", path.c_str(),
                         std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return Error::Format(Errc::kInvalidArgument, "%s: is a directory, not a file", path.c_str());
  }
  if (S_ISREG(st.st_mode)) {
    if (st.st_size == 0) {
      close(fd);
      if (raw) return f;  // an empty file is a file to copy
      return Error::Format(Errc::kInvalidArgument, "%s: empty file", path.c_str());
    }
    void* m = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    close(fd);
    if (m == MAP_FAILED) {
      return Error::Format(Errc::kInvalidArgument, "%s: cannot read: %s", path.c_str(),
                           std::strerror(e));
    }
    f.map_ = static_cast<const uint8_t*>(m);
    f.map_size_ = static_cast<size_t>(st.st_size);
  } else {
    // A pipe or device: read it, bounded in size and in waiting time.
    uint8_t buf[65536];
    while (true) {
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 10000) > 0) continue;
        close(fd);
        return Error::Format(Errc::kInvalidArgument, "%s: nothing to read for 10 s", path.c_str());
      }
      if (n < 0) {
        const int e = errno;
        close(fd);
        return Error::Format(Errc::kInvalidArgument, "%s: cannot read: %s", path.c_str(),
                             std::strerror(e));
      }
      if (n == 0) break;
      if (f.owned_.size() + static_cast<size_t>(n) > kMaxHexImage) {
        close(fd);
        return Error::Format(Errc::kInvalidArgument, "%s: larger than %zu bytes", path.c_str(),
                             kMaxHexImage);
      }
      f.owned_.insert(f.owned_.end(), buf, buf + n);
    }
    close(fd);
    if (f.owned_.empty() && !raw) {
      return Error::Format(Errc::kInvalidArgument, "%s: empty file", path.c_str());
    }
  }
  if (raw) return f;
  ConstByteSpan content = f.map_ ? ConstByteSpan(f.map_, f.map_size_) : ConstByteSpan(f.owned_);
  if (content.size() >= 4 && content[0] == 0x7f && content[1] == 'E' && content[2] == 'L' &&
      content[3] == 'F') {
    return Error::Format(Errc::kInvalidArgument,
                         "%s: is an ELF file; give the binary (objcopy -O binary) or Intel HEX "
                         "(objcopy -O ihex, named .hex)",
                         path.c_str());
  }
  if (IsHexName(path)) {
    auto hex = mcuboot::ParseIntelHex(AsString(content), kMaxHexImage);
    if (!hex.ok()) {
      return Error::Format(Errc::kInvalidArgument, "%s: %.*s", path.c_str(),
                           static_cast<int>(hex.error().message().size()),
                           hex.error().message().data());
    }
    if (!hex->has_data) {
      return Error::Format(Errc::kInvalidArgument, "%s: Intel HEX file without data records",
                           path.c_str());
    }
    if (f.map_) munmap(const_cast<uint8_t*>(f.map_), f.map_size_);
    f.map_ = nullptr;
    f.map_size_ = 0;
    f.owned_ = std::move(hex->data);
    f.is_hex_ = true;
    f.hex_base_ = hex->base;
  }
  return f;
}

InputFile::InputFile(InputFile&& other) noexcept
    : path_(std::move(other.path_)),
      map_(other.map_),
      map_size_(other.map_size_),
      owned_(std::move(other.owned_)),
      is_hex_(other.is_hex_),
      hex_base_(other.hex_base_) {
  other.map_ = nullptr;
  other.map_size_ = 0;
}

InputFile::~InputFile() {
  if (map_) munmap(const_cast<uint8_t*>(map_), map_size_);
}

ConstByteSpan InputFile::bytes() const {
  return map_ ? ConstByteSpan(map_, map_size_) : ConstByteSpan(owned_);
}

void GuardFlashFile(const std::string& who, const std::string& path) {
  const int n = std::snprintf(g_flash_shrank_message, sizeof(g_flash_shrank_message),
                              "%s: flash file %s shrank while in use (SIGBUS): stopping\n",
                              who.c_str(), path.c_str());
  g_flash_shrank_length =
      n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof(g_flash_shrank_message) - 1);
  struct sigaction sa {};
  sa.sa_handler = OnFlashSigbus;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, nullptr);
}

}  // namespace smpkit::cli
