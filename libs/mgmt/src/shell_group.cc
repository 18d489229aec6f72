#include "smpkit/mgmt/shell_group.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "smpkit/smp/requests.h"
#include "smpkit/smp/responses.h"

namespace smpkit::mgmt {

using smp::MgmtErr;
using smp::Outcome;

int32_t ShellErrToV1(uint16_t rc) {
  switch (static_cast<ShellErr>(rc)) {
    case ShellErr::kOk:
      return 0;
    case ShellErr::kCommandTooLong:
    case ShellErr::kEmptyCommand:
      return static_cast<int32_t>(MgmtErr::kInval);
    default:
      return static_cast<int32_t>(MgmtErr::kUnknown);
  }
}

void ShellOutput::Put(char c) {
  if (buf_.empty() || size_ + 1 >= buf_.size()) return;  // one byte stays for the NUL
  buf_[size_++] = c;
}

std::string_view ShellOutput::text() const {
  size_t n = size_;
  // Back over continuation bytes to the last lead byte; drop it if its sequence is short.
  size_t k = n;
  while (k > 0 && (static_cast<uint8_t>(buf_[k - 1]) & 0xC0) == 0x80 && n - k < 3) --k;
  if (k > 0) {
    const auto lead = static_cast<uint8_t>(buf_[k - 1]);
    const size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (want > 1 && n - (k - 1) < want) n = k - 1;
  }
  return {buf_.data(), n};
}

void ShellOutput::Print(std::string_view text) {
  for (char c : text) {
    if (c == '\n') Put('\r');
    Put(c);
  }
}

void ShellOutput::Printf(const char* format, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, format);
  const int n = std::vsnprintf(tmp, sizeof(tmp), format, ap);
  va_end(ap);
  if (n > 0)
    Print(std::string_view(tmp, std::min<size_t>(static_cast<size_t>(n), sizeof(tmp) - 1)));
}

ShellGroup::ShellGroup(const ShellGroupConfig& config, ShellCommands& commands)
    : smp::Group(kGroupId), config_(config), commands_(commands) {
  config_.cmd_buf_size = std::clamp<size_t>(config_.cmd_buf_size, 2, kMaxLine);
  config_.output_size = std::clamp<size_t>(config_.output_size, 1, kMaxOutput);
  config_.argc_max = std::clamp<size_t>(config_.argc_max, 3, kMaxArgs);
}

// {"argv": [tstr, ...]} -> {"o": tstr, "ret": int}. As Zephyr's shell_mgmt_exec: a request
// that does not parse (smp::shell::ExecRequest) is EINVAL; the arguments are joined with
// single spaces (COMMAND_TOO_LONG when the line would reach the shell's buffer); nothing at
// all is EMPTY_COMMAND.
Outcome ShellGroup::Handle(const smp::Request& r, cbor::Writer& w) {
  auto req = smp::shell::ExecRequest::Parse(r.payload);
  if (!req.ok()) return Outcome::Rc(MgmtErr::kInval);
  size_t len = 0;
  const bool fits = req->ForEachArg([&](std::string_view arg) {
    const size_t need = len + (len > 0 ? 1 : 0) + arg.size();
    if (need >= config_.cmd_buf_size) return false;
    if (len > 0) line_[len++] = ' ';
    std::memcpy(line_.data() + len, arg.data(), arg.size());
    len += arg.size();
    return true;
  });
  if (!fits) return Outcome::GroupError(kGroupId, static_cast<uint16_t>(ShellErr::kCommandTooLong));
  if (len == 0)
    return Outcome::GroupError(kGroupId, static_cast<uint16_t>(ShellErr::kEmptyCommand));

  ShellOutput out(std::span<char>(output_.data(), config_.output_size));
  const int ret = Run(std::string_view(line_.data(), len), out);
  if (out.answer_dropped()) return Outcome::NoResponse();
  smp::shell::ExecResponse{out.text(), ret, config_.legacy_rc}.Write(w);
  return Outcome::Success();
}

int ShellGroup::Run(std::string_view line, ShellOutput& out) {
  std::array<std::string_view, kMaxArgs + 1> argv;
  size_t argc = 0;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    size_t end = i;
    if (line[i] == '"') {
      const size_t close = line.find('"', i + 1);
      if (close == std::string_view::npos) {
        out.Print("not terminated: \"\n");
        return kShellEnoexec;
      }
      start = i + 1;
      end = close;
      i = close + 1;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      end = i;
    }
    if (argc == config_.argc_max) {
      out.Print("Too many arguments in the command.\n");
      return kShellEnoexec;
    }
    argv[argc++] = line.substr(start, end - start);
  }
  if (argc == 0) return 0;  // only blanks: the shell does nothing
  auto ret = commands_.Execute(std::span<const std::string_view>(argv.data(), argc), out);
  if (!ret) {
    out.Printf("%.*s: command not found\n", static_cast<int>(std::min<size_t>(argv[0].size(), 200)),
               argv[0].data());
    return kShellEnoexec;
  }
  return *ret;
}

}  // namespace smpkit::mgmt
