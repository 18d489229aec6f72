// Shell management group (group 9) against hand-encoded bytes built from Zephyr's
// smp_group_9.rst (request and response shapes) and shell_mgmt.c / shell.c (argv joining,
// errors, v1 translation, "command not found", the clipped output buffer).
#include "smpkit/mgmt/shell_group.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace smpkit::mgmt {
namespace {

using testing::ToHex;

std::string Frame(uint8_t op_ver, uint8_t id, const std::string& payload_hex) {
  return testing::ResponseHex(op_ver, ShellGroup::kGroupId, 1, id, payload_hex);
}
std::string Text(const std::string& s) {
  std::vector<uint8_t> b;
  if (s.size() < 24) {
    b.push_back(static_cast<uint8_t>(0x60 + s.size()));
  } else if (s.size() < 256) {
    b = {0x78, static_cast<uint8_t>(s.size())};
  } else {
    b = {0x79, static_cast<uint8_t>(s.size() >> 8), static_cast<uint8_t>(s.size())};
  }
  b.insert(b.end(), s.begin(), s.end());
  return ToHex(b) + " ";
}
const std::string kArgv = "64 61726776 ";

// echo ARGS: prints them; spam N: prints N 'x'; reboot: the answer never leaves.
class FakeShell : public ShellCommands {
 public:
  std::optional<int> Execute(std::span<const std::string_view> argv, ShellOutput& out) override {
    last.assign(argv.begin(), argv.end());
    if (argv[0] == "echo") {
      for (size_t i = 1; i < argv.size(); ++i) {
        if (i > 1) out.Print(" ");
        out.Print(argv[i]);
      }
      out.Print("\n");
      return 0;
    }
    if (argv[0] == "spam") {
      out.Print(std::string(std::stoul(std::string(argv[1])), 'x'));
      return 0;
    }
    if (argv[0] == "utf8") {  // 298 bytes, then a 3-byte character the clipping cuts
      out.Print(std::string(298, 'x') + "\xe2\x82\xac");
      return 0;
    }
    if (argv[0] == "reboot") {
      out.DropAnswer();
      return 0;
    }
    return std::nullopt;
  }
  std::vector<std::string> last;
};

class ShellGroupTest : public ::testing::Test {
 protected:
  ShellGroupTest() : group_(ShellGroupConfig{}, shell_) {
    EXPECT_TRUE(registry_.Register(group_).ok());
    config_.buf_size = 512;
  }
  std::string Exec(const std::string& payload) {
    return testing::ProcessHex(registry_, config_, Frame(0x0a, 0, payload));
  }
  std::string Ok(const std::string& o, int ret) {
    std::vector<uint8_t> r;
    if (ret >= 0) {
      r.push_back(static_cast<uint8_t>(ret));
    } else {
      r.push_back(static_cast<uint8_t>(0x20 + (-1 - ret)));
    }
    return Frame(0x0b, 0, "bf 61 6f " + Text(o) + "63 726574 " + ToHex(r) + " ff");
  }
  FakeShell shell_;
  ShellGroup group_;
  smp::Registry registry_;
  smp::ServerConfig config_;
};

TEST_F(ShellGroupTest, ExecReturnsOutputAndRet) {
  EXPECT_EQ(Exec("a1 " + kArgv + "82 " + Text("echo") + Text("hi")), Ok("hi\r\n", 0));
  // Indefinite map and array, as zcbor-based clients send.
  EXPECT_EQ(Exec("bf " + kArgv + "9f " + Text("echo") + Text("a") + Text("b") + "ff ff"),
            Ok("a b\r\n", 0));
  // Unknown keys are skipped.
  EXPECT_EQ(Exec("a2 61 78 01 " + kArgv + "81 " + Text("echo")), Ok("\r\n", 0));
}

TEST_F(ShellGroupTest, TheShellSplitsTheJoinedLineAgain) {
  // Words with spaces are split again; double quotes keep them together.
  EXPECT_EQ(Exec("a1 " + kArgv + "82 " + Text("echo") + Text("a  b")), Ok("a b\r\n", 0));
  EXPECT_EQ(shell_.last, (std::vector<std::string>{"echo", "a", "b"}));
  EXPECT_EQ(Exec("a1 " + kArgv + "83 " + Text("echo") + Text("\"a b\"") + Text("c")),
            Ok("a b c\r\n", 0));
  EXPECT_EQ(shell_.last, (std::vector<std::string>{"echo", "a b", "c"}));
  EXPECT_EQ(Exec("a1 " + kArgv + "82 " + Text("echo") + Text("\"open")),
            Ok("not terminated: \"\r\n", -8));
  // More words than CONFIG_SHELL_ARGC_MAX (20).
  std::string many = "95 " + Text("echo");
  for (int i = 0; i < 20; ++i) many += Text("w");
  EXPECT_EQ(Exec("a1 " + kArgv + many), Ok("Too many arguments in the command.\r\n", -8));
  // An element that is not text ends the line (Zephyr's loop stops there).
  EXPECT_EQ(Exec("a1 " + kArgv + "83 " + Text("echo") + "05 " + Text("x")), Ok("\r\n", 0));
}

TEST_F(ShellGroupTest, UnknownCommandIsTheShellsNotFound) {
  EXPECT_EQ(Exec("a1 " + kArgv + "81 " + Text("foo")), Ok("foo: command not found\r\n", -8));
}

TEST_F(ShellGroupTest, OutputIsClippedSilentlyAtTheBuffer) {
  // CONFIG_SHELL_BACKEND_DUMMY_BUF_SIZE 300: at most 299 bytes.
  EXPECT_EQ(Exec("a1 " + kArgv + "82 " + Text("spam") + Text("500")), Ok(std::string(299, 'x'), 0));
  // A character cut in two is left out: "o" stays UTF-8.
  EXPECT_EQ(Exec("a1 " + kArgv + "81 " + Text("utf8")), Ok(std::string(298, 'x'), 0));
}

TEST_F(ShellGroupTest, ErrorsAsZephyr) {
  const std::string einval = Frame(0x0b, 0, "bf 62 7263 03 ff");
  EXPECT_EQ(Exec("a0"), einval);                          // no argv
  EXPECT_EQ(Exec("a1 " + kArgv + Text("echo")), einval);  // argv not an array
  EXPECT_EQ(Exec("81 " + Text("echo")), einval);          // not a map
  EXPECT_EQ(Exec("a1 01 " + Text("x")), einval);          // a key that is not text
  // Empty argv, or a first element that is not text: EMPTY_COMMAND (v1: EINVAL).
  const std::string empty = Frame(0x0b, 0, "bf 63 657272 bf 65 67726f7570 09 62 7263 03 ff ff");
  EXPECT_EQ(Exec("a1 " + kArgv + "80"), empty);
  EXPECT_EQ(Exec("a1 " + kArgv + "81 05"), empty);
  EXPECT_EQ(testing::ProcessHex(registry_, config_, Frame(0x02, 0, "a1 " + kArgv + "80")),
            Frame(0x03, 0, "bf 62 7263 03 ff"));
  // A joined line reaching CONFIG_SHELL_CMD_BUFF_SIZE (256): COMMAND_TOO_LONG.
  const std::string too_long = Frame(0x0b, 0, "bf 63 657272 bf 65 67726f7570 09 62 7263 02 ff ff");
  EXPECT_EQ(Exec("a1 " + kArgv + "82 " + Text("echo") + Text(std::string(251, 'a'))), too_long);
  EXPECT_EQ(Exec("a1 " + kArgv + "82 " + Text("echo") + Text(std::string(250, 'a'))),
            Ok(std::string(250, 'a') + "\r\n", 0));
  // Read: no handler (ENOTSUP).
  EXPECT_EQ(testing::ProcessHex(registry_, config_, Frame(0x08, 0, "a0")),
            Frame(0x09, 0, "bf 62 7263 08 ff"));
  // A command that reboots the system: no answer at all.
  EXPECT_EQ(Exec("a1 " + kArgv + "81 " + Text("reboot")), "");
}

TEST_F(ShellGroupTest, LegacyRcKey) {
  ShellGroupConfig c;
  c.legacy_rc = true;
  ShellGroup g(c, shell_);
  smp::Registry reg;
  ASSERT_TRUE(reg.Register(g).ok());
  EXPECT_EQ(testing::ProcessHex(reg, config_, Frame(0x0a, 0, "a1 " + kArgv + "81 " + Text("foo"))),
            Frame(0x0b, 0, "bf 61 6f " + Text("foo: command not found\r\n") + "62 7263 27 ff"));
}

}  // namespace
}  // namespace smpkit::mgmt
