#pragma once
// Each CLI area registers its subcommands on the root app. Handlers set the process exit
// code through the shared ExitCode (see README "Exit codes").
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::cli {

// Documented exit codes of the smpkit CLI.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       // the operation failed (remote error, verification failed, ...)
  kExitUsage = 2,         // bad command line
  kExitBadInput = 3,      // a file or argument could not be used (wrong type, too large)
  kExitUnreachable = 4,   // no answer from the device / cannot open the link
  kExitRejected = 5,      // the device refused the request (SMP error response)
  kExitProtocol = 6,      // the device answered something we cannot use (e.g. v1 only)
};

// "ok", "failure", "usage", "bad_input", "unreachable", "rejected", "protocol": the error
// kind named in JSON error documents.
std::string_view ExitKind(int code);

struct GlobalOptions {
  std::string conn;
  bool json = false;
  double timeout_s = 3.0;
  int retries = 3;
  size_t mtu = 0;  // --mtu: largest SMP packet per transport unit (0: the transport's default)
  bool pair = false;  // --pair: ble: connections pair before anything else
};

// The SMP error of a refused request, for error reports.
struct SmpErrorInfo {
  uint16_t group = 0;
  int32_t rc = 0;
  std::string name;  // "NO_FREE_SLOT", "ENOTSUP", ...; empty when unknown
};

// Reports a failed outcome and returns `code`. Human mode: one line "smpkit: MESSAGE" on
// stderr. --json: one document {"error": {"kind", "message", "smp"}, "exit": N} on stdout.
// While JSON-lines progress runs (SetJsonlEvents), an {"event": "error", ...} line ends it.
int ReportError(const GlobalOptions& global, int code, std::string_view message,
                const std::optional<SmpErrorInfo>& smp = std::nullopt);
// True while a command prints JSON-lines events: errors then end the stream with an event.
void SetJsonlEvents(bool on);

// Validates a duration option: finite, above 0, at most `max_s` seconds.
CLI::Validator Seconds(double max_s);

// An input file, checked and mapped (never read whole into memory): regular files are
// memory-mapped read-only; a name ending in ".hex" is read as Intel HEX (as imgtool does)
// into at most kMaxHexImage bytes. Errors (kInvalidArgument, naming the path): a directory,
// cannot open or read, empty, an ELF file, a bad Intel HEX file.
class InputFile {
 public:
  static constexpr size_t kMaxHexImage = 256u << 20;
  // An image file: binary, or Intel HEX when named .hex; an empty or ELF file is refused.
  // `raw`: the bytes as they are, whatever the name (an empty file included).
  static Result<InputFile> Open(const std::string& path, bool raw = false);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  ~InputFile();

  ConstByteSpan bytes() const;
  bool is_hex() const { return is_hex_; }
  // The lowest address of an Intel HEX file (imgtool's base_addr); nullopt for binaries.
  std::optional<uint32_t> hex_base() const { return hex_base_; }
  const std::string& path() const { return path_; }

 private:
  InputFile() = default;
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<uint8_t> owned_;
  bool is_hex_ = false;
  std::optional<uint32_t> hex_base_;
};

// A file-backed flash is mapped into memory: if the file shrinks while the process runs, an
// access past its new end raises SIGBUS. This turns that into "<who>: flash file PATH shrank
// while in use" on stderr and exit status 1 (kExitFailure). Call once the flash is open.
void GuardFlashFile(const std::string& who, const std::string& path);

// True for a file name ending in ".hex" (any case): imgtool's Intel HEX rule.
bool IsHexName(std::string_view path);

// Every Register* function adds subcommands; the callback stores the exit code in *exit_code.
void RegisterImageCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterDemoCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterClientCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterDeviceCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterBenchCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterConfigDfuCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterRelayCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterCompletionCommands(CLI::App& app, GlobalOptions& global, int* exit_code);
void RegisterBleCommands(CLI::App& app, GlobalOptions& global, int* exit_code);

}  // namespace smpkit::cli
