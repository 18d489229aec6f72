#pragma once
// Shell management group (group 9, Zephyr's shell_mgmt; smp_group_9.rst and shell_mgmt.c):
// `exec` runs a command line of the device's shell and answers its output ("o") and return
// value ("ret"), as Zephyr's dummy shell backend captures them. The commands are the device's
// (ShellCommands); the group does what Zephyr's shell core does around them: joining argv,
// splitting the line again (double quotes group words), the argument limit, "command not
// found", and the output buffer that silently clips.

#include <array>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "smpkit/smp/commands.h"
#include "smpkit/smp/server.h"

namespace smpkit::mgmt {

// Zephyr's enum shell_mgmt_err_code_t.
enum class ShellErr : uint16_t { kOk = 0, kUnknown = 1, kCommandTooLong = 2, kEmptyCommand = 3 };
// Zephyr's shell_mgmt_translate_error_code, for SMP v1 clients.
int32_t ShellErrToV1(uint16_t rc);

// What a command prints. Zephyr's dummy backend turns '\n' into "\r\n" and keeps at most its
// buffer's size - 1 bytes; the rest is dropped without a word.
class ShellOutput {
 public:
  explicit ShellOutput(std::span<char> buffer) : buf_(buffer) {}
  void Print(std::string_view text);
  void Printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
  // What was printed; a UTF-8 sequence the clipping cut in two is left out, so that "o"
  // stays a valid CBOR text string.
  std::string_view text() const;
  // The command took the system down before an answer could leave (kernel reboot).
  void DropAnswer() { drop_answer_ = true; }
  bool answer_dropped() const { return drop_answer_; }

 private:
  void Put(char c);
  std::span<char> buf_;
  size_t size_ = 0;
  bool drop_answer_ = false;
};

// Zephyr shell return values the commands use.
inline constexpr int kShellEnoexec = -8;
inline constexpr int kShellEinval = -22;
inline constexpr int kShellHelpPrinted = 1;

class ShellCommands {
 public:
  virtual ~ShellCommands() = default;
  // Runs argv (argv[0] is the command; argc >= 1). nullopt: no such root command.
  virtual std::optional<int> Execute(std::span<const std::string_view> argv, ShellOutput& out) = 0;
};

struct ShellGroupConfig {
  size_t cmd_buf_size = 256;  // CONFIG_SHELL_CMD_BUFF_SIZE: the joined line stays below it
  size_t output_size = 300;   // CONFIG_SHELL_BACKEND_DUMMY_BUF_SIZE
  size_t argc_max = 20;       // CONFIG_SHELL_ARGC_MAX
  bool legacy_rc = false;     // CONFIG_MCUMGR_GRP_SHELL_LEGACY_RC_RETURN_CODE: "rc", not "ret"
};

class ShellGroup : public smp::Group {
 public:
  static constexpr uint16_t kGroupId = 9;
  static constexpr uint8_t kExec = smp::shell::kExec;  // smpkit/smp/commands.h
  static constexpr size_t kMaxLine = 1024;
  static constexpr size_t kMaxOutput = 1024;
  static constexpr size_t kMaxArgs = 64;

  ShellGroup(const ShellGroupConfig& config, ShellCommands& commands);

  bool Supports(uint8_t command, smp::Op op) const override {
    return command == kExec && op == smp::Op::kWrite;
  }
  smp::Outcome Handle(const smp::Request& request, cbor::Writer& response) override;
  int32_t ToV1Rc(uint16_t rc) const override { return ShellErrToV1(rc); }
  std::string_view Name() const override { return "shell mgmt"; }
  size_t HandlerCount() const override { return 1; }

 private:
  // Runs one line as Zephyr's shell_execute_cmd: split, checks, the command.
  int Run(std::string_view line, ShellOutput& out);

  ShellGroupConfig config_;
  ShellCommands& commands_;
  std::array<char, kMaxLine> line_{};
  std::array<char, kMaxOutput> output_{};
};

}  // namespace smpkit::mgmt
