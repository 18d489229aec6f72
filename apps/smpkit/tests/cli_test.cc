// The smpkit CLI as a fleet script sees it (issue 11): explicit targets, global options
// anywhere, JSON for every outcome, input files checked before anything is sent, upgrade's
// options and downgrade guard, signed-only devices, validated timeouts, unusable answers,
// and the OS commands. Every command runs as a process with a deadline; devices are the
// in-process simulator (`--conn sim`), `smpkit device` on loopback, or fakes in this test.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "smpkit/device/device.h"
#include "smpkit/smp/header.h"
#include "smpkit/testing/device_process.h"
#include "smpkit/testing/run_process.h"

namespace smpkit::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Smpkit() { return std::string(SMPKIT_BINARY_DIR) + "/apps/smpkit/smpkit"; }
std::string Vector(const std::string& name) {
  return std::string(SMPKIT_SHARED_DIR) + "/vectors/mcuboot/" + name;
}

using Proc = smpkit::testing::ProcResult;

// Runs smpkit with `args` (SMPKIT_CONN unset unless `env` sets it), bounded in time; `idle`
// runs every 20 ms while it does (fake devices answer from there).
Proc Cli(std::vector<std::string> args, const std::map<std::string, std::string>& env = {},
         std::chrono::seconds limit = std::chrono::seconds(60),
         const std::function<void()>& idle = nullptr) {
  args.insert(args.begin(), Smpkit());
  std::map<std::string, std::optional<std::string>> vars = {{"SMPKIT_CONN", std::nullopt}};
  for (const auto& [k, v] : env) vars[k] = v;
  return smpkit::testing::RunProcess(std::move(args), limit, idle, vars);
}

// Starts smpkit with `args` and kills it (SIGKILL) after `after`, as a user's Ctrl-C would.
void CliKilledAfter(std::vector<std::string> args, std::chrono::milliseconds after) {
  args.insert(args.begin(), Smpkit());
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  usleep(static_cast<useconds_t>(after.count() * 1000));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("smpkit-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A UDP socket on loopback that answers through `reply` (or never, without one).
class FakeDevice {
 public:
  using Reply = std::function<std::vector<uint8_t>(const std::vector<uint8_t>& request)>;
  explicit FakeDevice(Reply reply = nullptr) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeDevice() { close(fd_); }
  std::string conn() const { return "udp:127.0.0.1:" + std::to_string(port_); }
  int received() const { return received_; }
  // Reads pending requests and answers them.
  void Poll() {
    uint8_t buf[4096];
    sockaddr_in from{};
    socklen_t fl = sizeof(from);
    while (true) {
      ssize_t n =
          recvfrom(fd_, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) return;
      ++received_;
      if (!reply_) continue;
      auto rsp = reply_(std::vector<uint8_t>(buf, buf + n));
      sendto(fd_, rsp.data(), rsp.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  int received_ = 0;
  Reply reply_;
};

// Every key of every object in `j`, recursively.
void CollectKeys(const json& j, std::set<std::string>* keys) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      keys->insert(it.key());
      CollectKeys(it.value(), keys);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectKeys(v, keys);
  }
}

// The last non-empty line of `text`.
std::string LastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// Signs in.bin of the vectors into `out` with the given version (and key).
void Sign(const std::string& out, const std::string& version, const std::string& key = "") {
  std::vector<std::string> args = {"image", "sign", "-H", "0x200", "--pad-header", "-v", version};
  if (!key.empty()) {
    args.push_back("-k");
    args.push_back(key);
  }
  args.push_back(Vector("in.bin"));
  args.push_back(out);
  auto r = Cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// ---- 1. An explicit target -------------------------------------------------------------

TEST(CliTarget, DeviceCommandWithoutConnectionExits2NamingBoth) {
  for (std::vector<std::string> args : {std::vector<std::string>{"echo", "hi"},
                                        {"upgrade", Vector("unsigned-hashonly.bin")},
                                        {"image", "list"}}) {
    auto r = Cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_THAT(r.err, HasSubstr("--conn"));
    EXPECT_THAT(r.err, HasSubstr("SMPKIT_CONN"));
    EXPECT_EQ(r.out, "");  // nothing "upgraded"
  }
}

TEST(CliTarget, SimOnlyWhenNamed) {
  auto r = Cli({"--conn", "sim", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  r = Cli({"echo", "hi"}, {{"SMPKIT_CONN", "sim"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  // An empty SMPKIT_CONN is no target either.
  r = Cli({"echo", "hi"}, {{"SMPKIT_CONN", ""}});
  EXPECT_EQ(r.exit_code, 2);
}

// ---- 2. Global options anywhere, --version, defaults and connections in --help ------------

TEST(CliGlobal, OptionsBeforeOrAfterTheSubcommand) {
  auto r = Cli({"image", "list", "--json", "--conn", "sim"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["images"][0]["version"], "1.0.0");
  r = Cli({"echo", "hi", "--conn", "sim", "--json", "--timeout", "2", "--retries", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["output"], "hi");
  r = Cli({"--json", "--conn", "sim", "image", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["images"][0]["slot"], 0);
}

TEST(CliGlobal, VersionAndHelp) {
  auto r = Cli({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ::testing::MatchesRegex("smpkit [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  r = Cli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* form : {"udp:HOST[:PORT]", "serial:PATH[,BAUD]", "blesim:SOCKET", "sim"}) {
    EXPECT_THAT(r.out, HasSubstr(form));
  }
  EXPECT_THAT(r.out, HasSubstr("(0, 3600]=3"));  // --timeout's default
  r = Cli({"image", "upload", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  // Options with a value show their default.
  for (const char* d : {"--window UINT:INT in [1 - 64]=4",
                        "--progress TEXT:{auto,bar,jsonl,none}=auto", "--first-timeout", "=20"}) {
    EXPECT_THAT(r.out, HasSubstr(d));
  }
}

// ---- 3. JSON for every outcome -------------------------------------------------------------

TEST(CliJson, ErrorsAreOneJsonDocument) {
  // Bad command line.
  auto r = Cli({"--json", "image", "upload"});
  EXPECT_EQ(r.exit_code, 2);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["error"]["kind"], "usage");
  EXPECT_EQ(j["exit"], 2);
  // No target.
  r = Cli({"--json", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 2);
  j = json::parse(r.out);
  EXPECT_EQ(j["error"]["kind"], "usage");
  EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("SMPKIT_CONN"));
  EXPECT_EQ(r.err, "");
  // Unreachable.
  FakeDevice silent;
  r = Cli({"--json", "--conn", silent.conn(), "--timeout", "0.2", "--retries", "0", "echo", "x"});
  EXPECT_EQ(r.exit_code, 4);
  j = json::parse(r.out);
  EXPECT_EQ(j["error"]["kind"], "unreachable");
  EXPECT_EQ(j["exit"], 4);
  // Refused by the device: the SMP error, structured.
  r = Cli({"--json", "--conn", "sim", "image", "test", std::string(64, 'a')});
  EXPECT_EQ(r.exit_code, 5);
  j = json::parse(r.out);
  EXPECT_EQ(j["error"]["kind"], "rejected");
  EXPECT_EQ(j["exit"], 5);
  EXPECT_EQ(j["error"]["smp"]["group"], 1);
  EXPECT_GT(j["error"]["smp"]["rc"].get<int>(), 0);
  EXPECT_FALSE(j["error"]["smp"]["name"].get<std::string>().empty());
  // The config-channel DFU refused by the DFU lock (an SMP upload started first).
  r = Cli({"--json", "config-dfu", "--smp-first", Vector("unsigned-hashonly.bin")});
  EXPECT_EQ(r.exit_code, 5);
  j = json::parse(r.out);
  EXPECT_EQ(j["error"]["kind"], "rejected");
  EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("DFU lock"));
  // Bad input file.
  r = Cli({"--json", "--conn", "sim", "image", "upload", Vector("in.bin")});
  EXPECT_EQ(r.exit_code, 3);
  j = json::parse(r.out);
  EXPECT_EQ(j["error"]["kind"], "bad_input");
  EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr("not an MCUboot image"));
}

TEST(CliJson, JsonLinesEndWithResultOrError) {
  auto r = Cli(
      {"--conn", "sim", "image", "upload", Vector("unsigned-hashonly.bin"), "--progress", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto last = json::parse(LastLine(r.out));
  EXPECT_EQ(last["event"], "result");
  EXPECT_EQ(last["size"], std::filesystem::file_size(Vector("unsigned-hashonly.bin")));
  FakeDevice silent;
  r = Cli({"--conn", silent.conn(), "--timeout", "0.2", "--retries", "0", "image", "upload",
           Vector("unsigned-hashonly.bin"), "--progress", "jsonl"});
  EXPECT_EQ(r.exit_code, 4);
  last = json::parse(LastLine(r.out));
  EXPECT_EQ(last["event"], "error");
  EXPECT_EQ(last["error"]["kind"], "unreachable");
  EXPECT_EQ(last["exit"], 4);
}

TEST(CliJson, OneKeyNamingScheme) {
  std::set<std::string> keys;
  std::vector<std::vector<std::string>> commands = {{"echo", "hi"},
                                                    {"info"},
                                                    {"params"},
                                                    {"image", "list"},
                                                    {"image", "slots"},
                                                    {"bootloader", "--query", "mode"},
                                                    {"upgrade", Vector("unsigned-hashonly.bin")}};
  for (auto args : commands) {
    args.insert(args.begin(), {"--json", "--conn", "sim"});
    auto r = Cli(args);
    ASSERT_EQ(r.exit_code, 0) << args[3] << ": " << r.err;
    CollectKeys(json::parse(r.out), &keys);
  }
  EXPECT_TRUE(keys.count("output"));  // echo and info answer alike
  EXPECT_TRUE(keys.count("no_downgrade") || keys.count("mode"));
  for (const auto& k : keys) EXPECT_TRUE(std::regex_match(k, std::regex("[a-z][a-z0-9_]*"))) << k;
}

// ---- 4. Input files checked before anything is sent ----------------------------------------

TEST(CliInput, BadFilesExit3BeforeAnythingIsSent) {
  TempDir dir;
  WriteBytes(dir / "empty.bin", {});
  std::vector<uint8_t> elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
  elf.resize(256);
  WriteBytes(dir / "app.elf", elf);
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);  // no writer: must not hang
  struct Case {
    std::string file, reason;
  };
  for (const Case& c :
       {Case{dir.str(), "is a directory"}, Case{dir / "missing.bin", "cannot open"},
        Case{dir / "empty.bin" + "/x", "cannot open"}, Case{dir / "empty.bin", "empty file"},
        Case{dir / "fifo", "empty file"}, Case{dir / "app.elf", "ELF"},
        Case{Vector("in.bin"), "not an MCUboot image"}}) {
    for (const char* cmd : {"upload", "upgrade"}) {
      FakeDevice silent;
      std::vector<std::string> args = {"--conn", silent.conn(), "--timeout",
                                       "0.2",    "--retries",   "0"};
      if (std::string(cmd) == "upload") args.push_back("image");
      args.push_back(cmd);
      args.push_back(c.file);
      auto r = Cli(args);
      silent.Poll();
      EXPECT_EQ(r.exit_code, 3) << cmd << " " << c.file << ": " << r.err;
      EXPECT_THAT(r.err, HasSubstr(c.reason)) << cmd << " " << c.file;
      EXPECT_EQ(silent.received(), 0) << cmd << " " << c.file;
    }
  }
}

TEST(CliInput, HugeSparseFileIsRefusedWithoutReadingIt) {
  TempDir dir;
  const std::string huge = dir / "huge.bin";
  {
    int fd = open(huge.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 2LL << 30), 0);  // 2 GiB, sparse
    close(fd);
  }
  FakeDevice silent;
  auto r = Cli({"--conn", silent.conn(), "image", "upload", huge});
  silent.Poll();
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not an MCUboot image"));
  EXPECT_EQ(silent.received(), 0);
}

TEST(CliInput, ImageLargerThanTheSlotExits3) {
  TempDir dir;
  auto big = device::MakeFactoryImage("9.0.0", 0x70000, 2);  // the sim's slot is 0x69000
  ASSERT_TRUE(big.ok());
  WriteBytes(dir / "big.bin", *big);
  for (const char* cmd : {"upload", "upgrade"}) {
    std::vector<std::string> args = {"--conn", "sim"};
    if (std::string(cmd) == "upload") args.push_back("image");
    args.push_back(cmd);
    args.push_back(dir / "big.bin");
    auto r = Cli(args);
    EXPECT_EQ(r.exit_code, 3) << cmd << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("does not fit slot 1")) << cmd;
  }
}

// ---- 5. upgrade: every option of image upload, and no silent downgrade ----------------------

std::set<std::string> LongOptions(const std::string& help) {
  std::set<std::string> out;
  std::regex re("--[a-z0-9-]+");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), re); it != std::sregex_iterator();
       ++it) {
    out.insert(it->str());
  }
  return out;
}

TEST(CliUpgrade, HasEveryOptionOfImageUpload) {
  auto upload = Cli({"image", "upload", "--help"});
  auto upgrade = Cli({"upgrade", "--help"});
  ASSERT_EQ(upload.exit_code, 0);
  ASSERT_EQ(upgrade.exit_code, 0);
  auto up = LongOptions(upload.out), ug = LongOptions(upgrade.out);
  for (const auto& o : {"--image", "--upgrade", "--no-skip", "--window", "--chunk"}) {
    EXPECT_TRUE(up.count(o)) << o;
  }
  for (const auto& o : up) EXPECT_TRUE(ug.count(o)) << o << " missing from upgrade";
  EXPECT_TRUE(ug.count("--allow-downgrade"));
}

TEST(CliUpgrade, RefusesAnOlderImageUnlessAllowed) {
  TempDir dir;
  Sign(dir / "old.bin", "0.9.0");  // the simulator runs 1.0.0
  auto r = Cli({"--conn", "sim", "upgrade", dir / "old.bin"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("older than the running 1.0.0"));
  EXPECT_THAT(r.err, HasSubstr("--allow-downgrade"));
  r = Cli({"--conn", "sim", "--json", "upgrade", dir / "old.bin", "--allow-downgrade"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["version"], "0.9.0");
  // A newer image with the upload options (image number, upgrade flag, no-skip).
  Sign(dir / "new.bin", "1.1.0");
  r = Cli({"--conn", "sim", "--json", "upgrade", dir / "new.bin", "--image", "0", "--upgrade",
           "--no-skip", "--window", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["version"], "1.1.0");
}

TEST(CliUpgrade, ResumedUploadRateCountsOnlyTheBytesSent) {
  // A serial line at 115200 baud: the upload takes seconds, the first client is killed
  // after 1.5 s, the second resumes where the device stopped.
  TempDir dir;
  DeviceProcess dev(Smpkit(),
                    {"--serial-pty", "--baud", "115200", "--flash", dir / "d.flash", "--quiet"});
  ASSERT_FALSE(dev.pty().empty());
  auto image = device::MakeFactoryImage("3.0.0", 40 * 1024, 5);
  ASSERT_TRUE(image.ok());
  WriteBytes(dir / "big.bin", *image);
  const std::string conn = "serial:" + dev.pty() + ",115200";
  CliKilledAfter({"--conn", conn, "image", "upload", dir / "big.bin", "--progress", "none"},
                 std::chrono::milliseconds(1500));
  auto r = Cli({"--conn", conn, "--json", "--timeout", "2", "image", "upload", dir / "big.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  const double size = j["size"].get<double>(), from = j["resumed_from"].get<double>();
  ASSERT_GT(from, 0) << r.out;
  ASSERT_LT(from, size) << r.out;
  const double elapsed = j["elapsed_s"].get<double>();
  ASSERT_GT(elapsed, 0);
  EXPECT_NEAR(j["rate_bps"].get<double>(), (size - from) / elapsed, 1e-6 * size) << r.out;
}

// ---- 7. A signed-only device ----------------------------------------------------------------

std::string ActiveVersion(const std::string& conn) {
  auto r = Cli({"--json", "--conn", conn, "image", "list"});
  if (r.exit_code != 0) return "error: " + r.err;
  const json state = json::parse(r.out);
  for (const auto& s : state["images"]) {
    if (s["active"].get<bool>()) return s["version"].get<std::string>();
  }
  return "none: " + r.out;
}

TEST(CliSignedDevice, RefusesUnsignedWrongKeyAndCorruptImages) {
  TempDir dir;
  const std::string key = dir / "key.pem", pub = dir / "pub.pem", flash = dir / "dev.flash";
  ASSERT_EQ(Cli({"image", "keygen", "-k", key, "-t", "ed25519"}).exit_code, 0);
  ASSERT_EQ(Cli({"image", "getpub", "-k", key, "-e", "pem", "-o", pub}).exit_code, 0);

  // A fresh flash with only the public key: the device says what it needs.
  auto r = Cli({"device", "--flash", dir / "other.flash", "--key", pub, "--udp", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("private key"));
  // A key path that is not a key file.
  r = Cli({"device", "--key", dir / "nope.pem", "--udp", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("nope.pem"));

  Sign(dir / "good.bin", "2.0.0", key);
  std::vector<uint8_t> corrupt = ReadBytes(dir / "good.bin");
  corrupt[0x200 + 100] ^= 0x01;  // one body bit: the hash no longer matches
  WriteBytes(dir / "corrupt.bin", corrupt);
  Sign(dir / "unsigned.bin", "2.0.0");
  {
    // With the private key, a fresh flash gets a signed factory image and boots it.
    DeviceProcess dev(Smpkit(),
                      {"--udp", "127.0.0.1:0", "--flash", flash, "--key", key, "--quiet"});
    ASSERT_NE(dev.udp_port(), 0);
    const std::string conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
    ASSERT_EQ(ActiveVersion(conn), "1.0.0");
    for (const std::string& bad :
         {dir / "unsigned.bin", Vector("signed-ed25519.bin"), dir / "corrupt.bin"}) {
      r = Cli({"--conn", conn, "upgrade", bad, "--reset-wait", "10", "--timeout", "1"});
      EXPECT_NE(r.exit_code, 0) << bad << " was accepted";
      EXPECT_EQ(ActiveVersion(conn), "1.0.0") << "after " << bad;
    }
    r = Cli({"--conn", conn, "--json", "upgrade", dir / "good.bin", "--reset-wait", "10"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ActiveVersion(conn), "2.0.0");
  }
  // The public key alone runs the flash that now holds a signed image.
  DeviceProcess dev(Smpkit(), {"--udp", "127.0.0.1:0", "--flash", flash, "--key", pub, "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  EXPECT_EQ(ActiveVersion("udp:127.0.0.1:" + std::to_string(dev.udp_port())), "2.0.0");
}

// ---- 8. Timeouts and unusable answers --------------------------------------------------------

TEST(CliTimeouts, OnlyFinitePositiveBoundedValues) {
  for (const char* bad : {"inf", "1e12", "0", "-1", "nan", "abc", "3601"}) {
    auto r = Cli({"--conn", "sim", "--timeout", bad, "echo", "hi"});
    EXPECT_EQ(r.exit_code, 2) << "--timeout " << bad;
    r = Cli({"--conn", "sim", "upgrade", Vector("unsigned-hashonly.bin"), "--reset-wait", bad});
    EXPECT_EQ(r.exit_code, 2) << "--reset-wait " << bad;
    r = Cli({"--conn", "sim", "image", "upload", Vector("unsigned-hashonly.bin"), "--first-timeout",
             bad});
    EXPECT_EQ(r.exit_code, 2) << "--first-timeout " << bad;
  }
  auto r = Cli({"--conn", "sim", "--timeout", "0.5", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// A response frame to `request` with this payload.
std::vector<uint8_t> Response(const std::vector<uint8_t>& request,
                              const std::vector<uint8_t>& payload, int seq_delta = 0) {
  std::vector<uint8_t> f(8 + payload.size());
  for (size_t i = 0; i < 8 && i < request.size(); ++i) f[i] = request[i];
  f[0] =
      static_cast<uint8_t>((f[0] & ~7) | ((f[0] & 7) + 1));  // read -> read rsp, write -> write rsp
  f[2] = static_cast<uint8_t>(payload.size() >> 8);
  f[3] = static_cast<uint8_t>(payload.size());
  f[6] = static_cast<uint8_t>(f[6] + seq_delta);
  for (size_t i = 0; i < payload.size(); ++i) f[8 + i] = payload[i];
  return f;
}

TEST(CliAnswers, UnusableAnswersExit6NamingWhatWasWrong) {
  struct Case {
    const char* name;
    FakeDevice::Reply reply;
    const char* reason;
  };
  const std::vector<uint8_t> echo_ok = {0xa1, 0x61, 'r', 0x61, 'x'};
  for (const Case& c : {
           Case{"garbage",
                [](const std::vector<uint8_t>&) {
                  return std::vector<uint8_t>{'j', 'u', 'n', 'k'};
                },
                "not a well-formed SMP response"},
           Case{"wrong seq", [&](const std::vector<uint8_t>& q) { return Response(q, echo_ok, 1); },
                "wrong sequence number"},
           Case{"undecodable",
                [](const std::vector<uint8_t>& q) {
                  return Response(q, {0xff, 0x00, 0x13});
                },
                "not a well-formed SMP response"},
       }) {
    FakeDevice fake(c.reply);
    auto r = Cli({"--conn", fake.conn(), "--timeout", "0.3", "--retries", "1", "echo", "x"}, {},
                 std::chrono::seconds(20), [&fake] { fake.Poll(); });
    EXPECT_EQ(r.exit_code, 6) << c.name << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("could not be used")) << c.name;
    EXPECT_THAT(r.err, HasSubstr(c.reason)) << c.name;
  }
  // The same fake answering correctly: exit 0 (the test fake itself is sound).
  FakeDevice good([&](const std::vector<uint8_t>& q) { return Response(q, echo_ok); });
  auto r = Cli({"--conn", good.conn(), "--timeout", "0.3", "--retries", "1", "echo", "x"}, {},
               std::chrono::seconds(20), [&good] { good.Poll(); });
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "x\n");
  // A well-formed answer with the wrong content (echo without "r"): exit 6 too.
  FakeDevice odd([](const std::vector<uint8_t>& q) { return Response(q, {0xa0}); });
  r = Cli({"--conn", odd.conn(), "--timeout", "0.3", "--retries", "1", "echo", "x"}, {},
          std::chrono::seconds(20), [&odd] { odd.Poll(); });
  EXPECT_EQ(r.exit_code, 6) << r.err;
}

// ---- 9. The OS commands and raw requests ------------------------------------------------------

TEST(CliOs, TaskStatDateTimeBootloaderInfoAndRaw) {
  TempDir dir;
  DeviceProcess dev(Smpkit(), {"--udp", "127.0.0.1:0", "--flash", dir / "d.flash", "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  const std::string conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
  auto r = Cli({"--conn", conn, "--json", "taskstat"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  ASSERT_TRUE(j["tasks"].is_array()) << r.out;  // in the device's order, names may repeat
  std::map<std::string, json> by_name;
  for (const auto& t : j["tasks"]) by_name[t["name"]] = t;
  EXPECT_TRUE(by_name.count("main"));
  EXPECT_EQ(by_name["idle"]["prio"], 15);
  r = Cli({"--conn", conn, "taskstat"});
  EXPECT_THAT(r.out, HasSubstr("mcumgr_smp"));

  // Statistics: the device's groups, and one group's counters.
  r = Cli({"--conn", conn, "--json", "stat", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["stat_list"], json::array({"smp", "flash", "img"}));
  r = Cli({"--conn", conn, "--json", "stat", "show", "smp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["fields"][0]["name"], "requests");
  r = Cli({"--conn", conn, "--json", "stat", "show", "nope"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "INVALID_STAT_NAME");
  // Enumeration: the groups this device has.
  r = Cli({"--conn", conn, "--json", "enum"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["groups"].size(), 7u) << r.out;
  r = Cli({"--conn", conn, "--json", "enum", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["groups"], json::array({10, 8, 1, 0, 3, 9, 2}));
  {
    // Left out (CONFIG_MCUMGR_GRP_STAT=n): answered as Zephyr answers an absent group, rc 8.
    DeviceProcess nostat(Smpkit(), {"--udp", "127.0.0.1:0", "--no-stat", "--quiet"});
    ASSERT_NE(nostat.udp_port(), 0);
    auto n = Cli({"--conn", "udp:127.0.0.1:" + std::to_string(nostat.udp_port()), "--json", "stat",
                  "list"});
    EXPECT_EQ(n.exit_code, 5) << n.out;
    EXPECT_EQ(json::parse(n.out)["error"]["smp"]["rc"], 8) << n.out;
  }

  // Before it is set, the device has no time (OS error 4, RTC_NOT_SET).
  r = Cli({"--conn", conn, "--json", "datetime", "get"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "RTC_NOT_SET");
  r = Cli({"--conn", conn, "datetime", "set", "2024-05-01T12:34:56"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"--conn", conn, "datetime", "get"});
  EXPECT_EQ(r.out, "2024-05-01T12:34:56\n");
  r = Cli({"--conn", conn, "datetime", "set", "yesterday"});
  EXPECT_EQ(r.exit_code, 5);

  r = Cli({"--conn", conn, "bootloader"});
  EXPECT_EQ(r.out, "MCUboot\n");
  r = Cli({"--conn", conn, "--json", "bootloader", "--query", "mode"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out)["mode"].is_number_integer());
  r = Cli({"--conn", conn, "bootloader", "--query", "colour"});
  EXPECT_EQ(r.exit_code, 5);

  r = Cli({"--conn", conn, "info", "s"});
  EXPECT_EQ(r.out, "Zephyr\n");
  r = Cli({"--conn", conn, "info", "sm"});
  EXPECT_EQ(r.out, "Zephyr arm\n");
  r = Cli({"--conn", conn, "info", "q"});
  EXPECT_EQ(r.exit_code, 2);

  r = Cli({"--conn", conn, "--json", "raw", "--group", "0", "--id", "0", "--write",
           "{\"d\":\"raw!\"}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["r"], "raw!");
  r = Cli({"--conn", conn, "--json", "raw", "--group", "1", "--id", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["images"][0]["version"], "1.0.0");
  EXPECT_EQ(json::parse(r.out)["images"][0]["hash"].get<std::string>().size(), 64u);
  r = Cli({"--conn", conn, "--json", "raw", "--group", "0", "--id", "0", "--write",
           "{\"d\":{\"$hex\":\"00\"}}"});
  EXPECT_EQ(r.exit_code, 5);  // a byte string where text belongs: the device refuses
  r = Cli({"--conn", conn, "--json", "raw", "--group", "9", "--id", "0"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["rc"], 8);
  r = Cli({"--conn", conn, "raw", "--group", "0", "--id", "0", "not json"});
  EXPECT_EQ(r.exit_code, 2);
}

// File management through the real process: its sandbox directory, the CLI's transfers,
// resume, hashes, and the refusals (traversal, a symlink out, the quota, a missing file).
TEST(CliFs, TransfersHashesAndRefusalsThroughTheProcess) {
  TempDir dir;
  std::filesystem::create_directories(dir / "outside");
  WriteBytes(dir / "outside/secret", {'s', 'e', 'c'});
  DeviceProcess dev(Smpkit(), {"--udp", "127.0.0.1:0", "--flash", dir / "d.flash", "--quiet",
                               "--fs-quota", "300000"});
  ASSERT_NE(dev.udp_port(), 0);
  const std::string conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
  std::vector<uint8_t> data(200000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + (i >> 9));
  WriteBytes(dir / "local.bin", data);
  // Upload: the file lands in the sandbox beside the flash file (d.flash.fs).
  auto r = Cli({"--conn", conn, "--json", "fs", "upload", dir / "local.bin", "/lfs1/a.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(json::parse(r.out)["size"], 200000);
  EXPECT_EQ(ReadBytes(dir / "d.flash.fs/a.bin"), data);
  r = Cli({"--conn", conn, "--json", "fs", "stat", "/lfs1/a.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["len"], 200000);
  // crc32 and sha256 over a range, computed by the device.
  r = Cli({"--conn", conn, "--json", "fs", "hash", "/lfs1/a.bin", "--type", "sha256", "--off",
           "100", "--len", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto h = json::parse(r.out);
  EXPECT_EQ(h["type"], "sha256");
  EXPECT_EQ(h["len"], 1000);
  EXPECT_EQ(h["output"].get<std::string>().size(), 64u);
  r = Cli({"--conn", conn, "--json", "fs", "types"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["types"][0]["name"], "crc32");
  // Download, to a new file, then resumed from a partial copy.
  r = Cli({"--conn", conn, "--json", "fs", "download", "/lfs1/a.bin", dir / "back.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(ReadBytes(dir / "back.bin"), data);
  WriteBytes(dir / "part.bin", std::vector<uint8_t>(data.begin(), data.begin() + 77777));
  r = Cli({"--conn", conn, "--json", "fs", "download", "/lfs1/a.bin", dir / "part.bin",
           "--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(json::parse(r.out)["resumed_from"], 77777);
  EXPECT_EQ(ReadBytes(dir / "part.bin"), data);
  // An upload resumed from the device's partial copy (its crc32 matches the local prefix).
  std::filesystem::resize_file(dir / "d.flash.fs/a.bin", 123456);
  r = Cli({"--conn", conn, "--json", "fs", "upload", dir / "local.bin", "/lfs1/a.bin",
           "--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(json::parse(r.out)["resumed_from"], 123456);
  EXPECT_EQ(ReadBytes(dir / "d.flash.fs/a.bin"), data);
  // Refusals, each naming the device's error; nothing outside the sandbox is touched.
  r = Cli({"--conn", conn, "--json", "fs", "upload", dir / "local.bin", "/lfs1/../x.bin"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "FILE_INVALID_NAME");
  std::filesystem::create_symlink(dir / "outside/secret", dir / "d.flash.fs/link");
  r = Cli({"--conn", conn, "--json", "fs", "download", "/lfs1/link", dir / "stolen"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "FILE_INVALID_NAME");
  EXPECT_FALSE(std::filesystem::exists(dir / "stolen"));
  r = Cli({"--conn", conn, "--json", "fs", "upload", dir / "local.bin", "/lfs1/link"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(ReadBytes(dir / "outside/secret"), (std::vector<uint8_t>{'s', 'e', 'c'}));
  r = Cli({"--conn", conn, "--json", "fs", "upload", dir / "local.bin", "/lfs1/b.bin"});
  EXPECT_EQ(r.exit_code, 5);  // 200,000 more bytes exceed the 300,000-byte quota
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "FILE_WRITE_FAILED");
  EXPECT_FALSE(std::filesystem::exists(dir / "d.flash.fs/b.bin"));
  r = Cli({"--conn", conn, "--json", "fs", "download", "/lfs1/nope", dir / "nope"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "FILE_NOT_FOUND");
  EXPECT_FALSE(std::filesystem::exists(dir / "nope"));
  EXPECT_FALSE(std::filesystem::exists(dir / "nope.smpkit-part"));
  r = Cli({"--conn", conn, "fs", "upload", dir / "missing-local", "/lfs1/c"});
  EXPECT_EQ(r.exit_code, 3);
  {
    // Left out (--no-fs): answered as Zephyr answers an absent group, rc 8.
    DeviceProcess nofs(Smpkit(), {"--udp", "127.0.0.1:0", "--no-fs", "--quiet"});
    ASSERT_NE(nofs.udp_port(), 0);
    auto n = Cli({"--conn", "udp:127.0.0.1:" + std::to_string(nofs.udp_port()), "--json", "fs",
                  "stat", "/lfs1/a"});
    EXPECT_EQ(n.exit_code, 5) << n.out;
    EXPECT_EQ(json::parse(n.out)["error"]["smp"]["rc"], 8) << n.out;
  }
}

// The shell through the real process: its commands, the shell's errors, and --no-shell.
TEST(CliShell, ExecRunsTheDevicesCommands) {
  DeviceProcess dev(Smpkit(), {"--udp", "127.0.0.1:0", "--quiet"});
  ASSERT_NE(dev.udp_port(), 0);
  const std::string conn = "udp:127.0.0.1:" + std::to_string(dev.udp_port());
  auto r = Cli({"--conn", conn, "shell", "exec", "--", "kernel", "uptime"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^Uptime: [0-9]+ ms\r\n$"))) << r.out;
  r = Cli({"--conn", conn, "--json", "shell", "exec", "--", "mcuboot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["o"], "image 0 slot 0: 1.0.0+0 active confirmed\r\n");
  r = Cli({"--conn", conn, "--json", "shell", "exec", "--", "frobnicate", "now"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.out)["ret"], -8);
  EXPECT_EQ(json::parse(r.out)["o"], "frobnicate: command not found\r\n");
  r = Cli({"--conn", conn, "--json", "shell", "exec", "--", std::string(300, 'a')});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "COMMAND_TOO_LONG");
  DeviceProcess noshell(Smpkit(), {"--udp", "127.0.0.1:0", "--no-shell", "--quiet"});
  ASSERT_NE(noshell.udp_port(), 0);
  r = Cli({"--conn", "udp:127.0.0.1:" + std::to_string(noshell.udp_port()), "--json", "shell",
           "exec", "--", "help"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["rc"], 8);
}

// Settings through the real process: saved ones survive a reset and a restart of the process
// (the settings partition is in the flash file); errors are named.
TEST(CliSettings, SavedSettingsSurviveResetsAndRestarts) {
  TempDir dir;
  std::string conn;
  auto start = [&](std::unique_ptr<DeviceProcess>& p) {
    p = std::make_unique<DeviceProcess>(
        Smpkit(), std::vector<std::string>{"--udp", "127.0.0.1:0", "--flash", dir / "d.flash", "--quiet"});
    ASSERT_NE(p->udp_port(), 0);
    conn = "udp:127.0.0.1:" + std::to_string(p->udp_port());
  };
  std::unique_ptr<DeviceProcess> dev;
  start(dev);
  auto r = Cli({"--conn", conn, "settings", "set", "app/name", "Desktop Mouse"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"--conn", conn, "settings", "set", "app/blob", "00ff10", "--hex"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"--conn", conn, "settings", "save"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"--conn", conn, "settings", "set", "app/later", "not saved"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  dev.reset();  // SIGTERM: the process ends; its flash file stays
  start(dev);
  r = Cli({"--conn", conn, "settings", "get", "app/name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Desktop Mouse\n");
  r = Cli({"--conn", conn, "--json", "settings", "get", "app/blob"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["val"], "00ff10");
  r = Cli({"--conn", conn, "--json", "settings", "get", "app/later"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "KEY_NOT_FOUND");
  r = Cli({"--conn", conn, "--json", "settings", "set", "dev/boots", "7"});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "WRITE_NOT_SUPPORTED");
  r = Cli({"--conn", conn, "--json", "settings", "get", std::string(40, 'k')});
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_EQ(json::parse(r.out)["error"]["smp"]["name"], "KEY_TOO_LONG");
  r = Cli({"--conn", conn, "settings", "set", "app/x", "zz", "--hex"});
  EXPECT_EQ(r.exit_code, 2);
  // Delete, then a reset: gone.
  r = Cli({"--conn", conn, "settings", "delete", "app/name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"--conn", conn, "reset"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"--conn", conn, "--timeout", "5", "--json", "settings", "get", "app/name"});
  EXPECT_EQ(r.exit_code, 5) << r.out;
  r = Cli({"--conn", conn, "settings", "get", "app/blob", "--hex"});
  EXPECT_EQ(r.out, "00ff10\n");
  // A flash file made without the settings partition is not taken for a damaged one.
  r = Cli({"device", "--flash", dir / "old.flash", "--settings-size", "0", "--exit-after-boot"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"device", "--flash", dir / "old.flash", "--exit-after-boot"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("give --settings-size 0"));
  r = Cli({"device", "--flash", dir / "old.flash", "--settings-size", "0", "--exit-after-boot"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace smpkit::testing
