// The SMP client commands: echo, reset, params, info, image list|upload|test|confirm|erase|
// slots, upgrade. Connections: udp:HOST[:PORT] (default port 1337), serial:PATH[,BAUD],
// sim (an in-process simulated device on virtual time; the default without --conn and
// without SMPKIT_CONN).
//
// Output: human text by default; --json prints one JSON object with the result on stdout.
// Progress (upload, upgrade): --progress bar (TTY bar with rate and ETA on stderr),
// jsonl (one JSON event per line on stdout), none; auto = bar on a TTY unless --json.
// Every error prints one line "smpkit: <what failed>: <why>" on stderr and exits with the
// code from commands.h.
#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "smpkit/client/client.h"
#include "smpkit/client/device_link.h"
#include "smpkit/client/session.h"
#include "smpkit/device/device.h"
#include "smpkit/flash/flash.h"
#include "smpkit/io/asio_link.h"
#include "smpkit/sim/scheduler.h"

namespace smpkit::cli {

namespace {

using nlohmann::json;

struct ClientOptions {
  bool require_v2 = false;
  size_t window = 4;
  size_t chunk = 0;
  std::string progress = "auto";
  double first_timeout_s = 20;
};

int ExitCodeFor(const Error& e) {
  switch (e.code()) {
    case Errc::kTimeout:
    case Errc::kIo:
    case Errc::kNotFound:
      return kExitUnreachable;
    case Errc::kRemote:
      return kExitRejected;
    case Errc::kNotSupported:
    case Errc::kCorrupt:
    case Errc::kTypeMismatch:
    case Errc::kTruncated:
    case Errc::kDuplicateKey:
      return kExitProtocol;
    case Errc::kInvalidArgument:
    case Errc::kNoSpace:
      return kExitBadInput;
    default:
      return kExitFailure;
  }
}

int Fail(std::string_view what, const Error& e, int code) {
  fmt::print(stderr, "smpkit: {}: {}\n", what, e.message());
  return code;
}
int Fail(std::string_view what, const Error& e) { return Fail(what, e, ExitCodeFor(e)); }

std::string Hex(const std::vector<uint8_t>& b) {
  std::string s;
  for (uint8_t c : b) s += fmt::format("{:02x}", c);
  return s;
}

Result<std::vector<uint8_t>> ParseHex(std::string_view text) {
  if (text.size() % 2 != 0 || text.empty()) {
    return Error(Errc::kInvalidArgument, "hash must be an even number of hex digits");
  }
  std::vector<uint8_t> out;
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = text[i + j];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        return Error(Errc::kInvalidArgument, "hash contains a non-hex character");
    }
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Format(Errc::kInvalidArgument, "cannot read %s", path.c_str());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Everything a command needs to talk to a device.
class Context {
 public:
  Status Open(const GlobalOptions& global, const ClientOptions& copt) {
    std::string conn = global.conn;
    if (conn.empty()) {
      const char* env = std::getenv("SMPKIT_CONN");
      conn = env && *env ? env : "sim";
    }
    conn_ = conn;
    SMPKIT_ASSIGN_OR_RETURN(auto spec, io::ParseConnection(conn));
    spec.mtu = global.mtu;
    client::SessionConfig sc;
    sc.timeout = std::chrono::duration_cast<client::Duration>(
        std::chrono::duration<double>(global.timeout_s));
    sc.retries = global.retries;
    sc.allow_v1_fallback = !copt.require_v2;
    if (spec.kind == io::ConnectionSpec::Kind::kSim) {
      device::DeviceConfig dc;
      flash_ = std::make_unique<flash::RamFlash>(dc.Geometry());
      device_ = std::make_unique<device::Device>(*flash_, dc);
      auto factory = device::MakeFactoryImage("1.0.0", 3000);
      if (!factory.ok()) return factory.error();
      SMPKIT_TRY(device_->Provision(*factory));
      SMPKIT_TRY(device_->Boot());
      scheduler_ = std::make_unique<sim::Scheduler>();
      executor_ = std::make_unique<client::SchedulerExecutor>(*scheduler_);
      link_ = std::make_unique<client::DevicePacketLink>(*device_, *executor_);
      if (global.mtu != 0) {
        inner_ = std::move(link_);
        link_ = std::make_unique<client::CappedLink>(*inner_, global.mtu);
      }
    } else {
      executor_ = std::make_unique<io::AsioExecutor>(io_);
      SMPKIT_ASSIGN_OR_RETURN(auto c, io::OpenConnection(io_, spec));
      stream_ = std::move(c.stream);
      inner_ = std::move(c.inner);
      link_ = std::move(c.link);
    }
    session_ = std::make_unique<client::Session>(*link_, *executor_, sc);
    client_ = std::make_unique<client::Client>(*session_);
    return {};
  }
  client::Client& client() { return *client_; }
  const std::string& conn() const { return conn_; }

 private:
  std::string conn_;
  asio::io_context io_;
  std::unique_ptr<flash::RamFlash> flash_;
  std::unique_ptr<device::Device> device_;
  std::unique_ptr<sim::Scheduler> scheduler_;
  std::unique_ptr<client::Executor> executor_;
  std::unique_ptr<client::ByteStream> stream_;
  std::unique_ptr<client::Link> inner_;
  std::unique_ptr<client::Link> link_;
  std::unique_ptr<client::Session> session_;
  std::unique_ptr<client::Client> client_;
};

// Runs `body(ctx)` with an open connection; maps errors to exit codes.
template <typename Body>
void WithDevice(const GlobalOptions& global, const ClientOptions& copt, int* exit_code,
                Body&& body) {
  Context ctx;
  Status st = ctx.Open(global, copt);
  if (!st.ok()) {
    int code = st.error().code() == Errc::kInvalidArgument ? kExitUsage : kExitUnreachable;
    *exit_code = Fail("cannot open connection", st.error(), code);
    return;
  }
  *exit_code = body(ctx);
}

// Failure while talking to the device: names the connection for unreachable devices.
int DeviceFail(Context& ctx, std::string_view what, const Error& e) {
  if (e.code() == Errc::kTimeout) {
    fmt::print(stderr, "smpkit: {}: device at {} unreachable: {}\n", what, ctx.conn(), e.message());
    return kExitUnreachable;
  }
  return Fail(what, e);
}

json StateJson(const std::vector<client::ImageSlotState>& state) {
  json arr = json::array();
  for (const auto& s : state) {
    arr.push_back({{"image", s.image},
                   {"slot", s.slot},
                   {"version", s.version},
                   {"hash", Hex(s.hash)},
                   {"bootable", s.bootable},
                   {"pending", s.pending},
                   {"confirmed", s.confirmed},
                   {"active", s.active},
                   {"permanent", s.permanent}});
  }
  return json{{"images", arr}};
}

void PrintState(const std::vector<client::ImageSlotState>& state) {
  for (const auto& s : state) {
    std::string flags;
    for (auto [on, name] : {std::pair{s.active, "active"},
                            {s.confirmed, "confirmed"},
                            {s.pending, "pending"},
                            {s.permanent, "permanent"},
                            {s.bootable, "bootable"}}) {
      if (on) flags += std::string(flags.empty() ? "" : " ") + name;
    }
    fmt::print("image {} slot {}: version {}  [{}]\n  hash {}\n", s.image, s.slot, s.version, flags,
               Hex(s.hash));
  }
  if (state.empty()) fmt::print("no images\n");
}

std::string HumanBytes(double b) {
  if (b >= 1024 * 1024) return fmt::format("{:.1f} MiB", b / (1024 * 1024));
  if (b >= 1024) return fmt::format("{:.1f} KiB", b / 1024);
  return fmt::format("{:.0f} B", b);
}

// Progress reporting: TTY bar on stderr or JSON lines on stdout.
client::ProgressFn MakeProgress(const GlobalOptions& global, const ClientOptions& copt) {
  std::string mode = copt.progress;
  if (mode == "auto") mode = (!global.json && isatty(STDERR_FILENO)) ? "bar" : "none";
  if (mode == "jsonl") {
    return [](const client::Progress& p) {
      json e = {{"event", "progress"},      {"phase", p.phase},
                {"offset", p.offset},       {"total", p.total},
                {"elapsed_s", p.elapsed_s}, {"rate_bps", p.rate_bps},
                {"window", p.window},       {"retransmits", p.retransmits}};
      fmt::print("{}\n", e.dump());
      std::fflush(stdout);
    };
  }
  if (mode == "bar") {
    auto last = std::make_shared<double>(-1);
    return [last](const client::Progress& p) {
      if (p.phase != "upload") {
        fmt::print(stderr, "\r\033[K{}...{}", p.phase, p.phase == "done" ? "\n" : "");
        return;
      }
      bool final = p.offset == p.total;
      if (!final && p.elapsed_s - *last < 0.1) return;
      *last = p.elapsed_s;
      double frac = p.total ? static_cast<double>(p.offset) / static_cast<double>(p.total) : 0;
      int width = 30, filled = static_cast<int>(frac * width);
      double eta = p.rate_bps > 0 ? static_cast<double>(p.total - p.offset) / p.rate_bps : 0;
      fmt::print(stderr, "\r\033[Kupload [{}{}] {:3.0f}% {}/{} {}/s ETA {:.0f}s{}",
                 std::string(filled, '#'), std::string(width - filled, '.'), frac * 100,
                 HumanBytes(static_cast<double>(p.offset)),
                 HumanBytes(static_cast<double>(p.total)), HumanBytes(p.rate_bps), eta,
                 final ? "\n" : "");
    };
  }
  return nullptr;
}

client::UploadOptions MakeUploadOptions(const GlobalOptions& global, const ClientOptions& copt) {
  client::UploadOptions o;
  o.max_window = std::max<size_t>(1, copt.window);
  o.max_chunk = copt.chunk;
  o.first_timeout = std::chrono::duration_cast<client::Duration>(
      std::chrono::duration<double>(std::max(copt.first_timeout_s, global.timeout_s)));
  o.progress = MakeProgress(global, copt);
  // Packet-size fallbacks are said as they happen: a line on stderr, or a JSON-lines event
  // (and the result's "mtu_fallbacks" either way).
  const bool jsonl = copt.progress == "jsonl";
  const bool quiet = global.json && !jsonl;
  o.on_mtu_fallback = [jsonl, quiet](const client::MtuFallback& f) {
    if (jsonl) {
      json e = {{"event", "mtu_fallback"}, {"from", f.from}, {"to", f.to}, {"reason", f.reason}};
      fmt::print("{}\n", e.dump());
      std::fflush(stdout);
    } else if (!quiet) {
      fmt::print(stderr, "smpkit: {}-byte requests did not get through ({}); continuing with "
                 "{}-byte requests\n", f.from, f.reason, f.to);
    }
  };
  return o;
}

json UploadJson(const client::UploadResult& r) {
  json j = {{"skipped", r.skipped},           {"size", r.size},
            {"resumed_from", r.resumed_from}, {"elapsed_s", r.elapsed_s},
            {"chunks", r.chunks_sent},        {"retransmits", r.retransmits},
            {"rewinds", r.rewinds},           {"max_window", r.max_window_used},
            {"chunk_data", r.chunk_data}};
  j["match"] = r.match ? json(*r.match) : json(nullptr);
  j["fast_retransmits"] = r.fast_retransmits;
  j["timeouts"] = r.timeouts;
  j["stale_answers"] = r.stale_answers;
  j["final_answer_lost"] = r.final_answer_lost;
  j["packet_size"] = r.packet_size;
  j["srtt_ms"] = r.srtt_ms;
  json fallbacks = json::array();
  for (const auto& f : r.mtu_fallbacks) {
    fallbacks.push_back({{"from", f.from}, {"to", f.to}, {"reason", f.reason}});
  }
  j["mtu_fallbacks"] = fallbacks;
  j["rate_bps"] = r.elapsed_s > 0 ? static_cast<double>(r.size) / r.elapsed_s : 0.0;
  return j;
}

void PrintResult(const GlobalOptions& global, const ClientOptions& copt, const json& j) {
  if (copt.progress == "jsonl") {
    json e = j;
    e["event"] = "result";
    fmt::print("{}\n", e.dump());
  } else {
    fmt::print("{}\n", j.dump(global.json ? -1 : 2));
  }
}

// Loads an image file for upload/upgrade: bad input gets exit code 3.
std::optional<std::vector<uint8_t>> LoadImage(const std::string& path, int* exit_code) {
  auto data = ReadFile(path);
  if (!data.ok()) {
    *exit_code = Fail("image file", data.error(), kExitBadInput);
    return std::nullopt;
  }
  return std::move(*data);
}

}  // namespace

void RegisterClientCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto copt = std::make_shared<ClientOptions>();
  auto add_conn_opts = [copt](CLI::App* cmd) {
    cmd->add_flag("--require-v2", copt->require_v2,
                  "fail (exit 6) instead of falling back to SMP v1 for legacy devices");
  };
  auto add_upload_opts = [copt, add_conn_opts](CLI::App* cmd) {
    add_conn_opts(cmd);
    cmd->add_option("--window", copt->window,
                    "outstanding upload chunks at most (capped by the device's buf_count - 1)")
        ->capture_default_str();
    cmd->add_option("--chunk", copt->chunk, "data bytes per chunk at most (0: fill the buffer)")
        ->capture_default_str();
    cmd->add_option("--progress", copt->progress, "auto, bar, jsonl or none")
        ->check(CLI::IsMember({"auto", "bar", "jsonl", "none"}))
        ->capture_default_str();
    cmd->add_option("--first-timeout", copt->first_timeout_s,
                    "timeout of the first chunk, which erases the slot (seconds)")
        ->capture_default_str();
  };

  // echo
  auto* echo_cmd = app.add_subcommand("echo", "send TEXT to the device and print its echo");
  auto text = std::make_shared<std::string>();
  echo_cmd->add_option("text", *text, "text to echo")->required();
  add_conn_opts(echo_cmd);
  echo_cmd->callback([text, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().Echo(*text);
      if (!r.ok()) return DeviceFail(ctx, "echo", r.error());
      if (global.json)
        fmt::print("{}\n", json{{"r", *r}}.dump());
      else
        fmt::print("{}\n", *r);
      return int{kExitOk};
    });
  });

  // reset
  auto* reset_cmd = app.add_subcommand("reset", "restart the device");
  auto force = std::make_shared<bool>(false);
  reset_cmd->add_flag("--force", *force, "ask the application to reset even if busy");
  add_conn_opts(reset_cmd);
  reset_cmd->callback([force, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      Status st = ctx.client().Reset(*force);
      if (!st.ok()) return DeviceFail(ctx, "reset", st.error());
      if (global.json)
        fmt::print("{}\n", json{{"reset", true}}.dump());
      else
        fmt::print("reset requested\n");
      return int{kExitOk};
    });
  });

  // params
  auto* params_cmd = app.add_subcommand("params", "show the device's SMP buffer size and count");
  add_conn_opts(params_cmd);
  params_cmd->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().Params();
      if (!r.ok()) return DeviceFail(ctx, "params", r.error());
      if (!r->has_value()) {
        fmt::print(stderr, "smpkit: params: the device does not implement os params (rc 8)\n");
        return int{kExitRejected};
      }
      if (global.json) {
        fmt::print("{}\n",
                   json{{"buf_size", (*r)->buf_size}, {"buf_count", (*r)->buf_count}}.dump());
      } else {
        fmt::print("buf_size {} buf_count {}\n", (*r)->buf_size, (*r)->buf_count);
      }
      return int{kExitOk};
    });
  });

  // info
  auto* info_cmd = app.add_subcommand("info", "show OS/application information (os info)");
  auto format = std::make_shared<std::string>("a");
  info_cmd->add_option("--format", *format, "uname-like format characters (s n r v b m p i o a)")
      ->capture_default_str();
  add_conn_opts(info_cmd);
  info_cmd->callback([format, &global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().Info(*format);
      if (!r.ok()) return DeviceFail(ctx, "info", r.error());
      if (global.json)
        fmt::print("{}\n", json{{"output", *r}}.dump());
      else
        fmt::print("{}\n", *r);
      return int{kExitOk};
    });
  });

  // image ... (device side); the `image` command itself exists for files (cmd_image.cc).
  CLI::App* image = nullptr;
  try {
    image = app.get_subcommand("image");
  } catch (const CLI::OptionNotFound&) {
    image = app.add_subcommand("image", "MCUboot images on files and devices");
  }

  auto* list = image->add_subcommand("list", "list the images on the device (image state)");
  add_conn_opts(list);
  list->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().ImageState();
      if (!r.ok()) return DeviceFail(ctx, "image list", r.error());
      if (global.json)
        fmt::print("{}\n", StateJson(*r).dump());
      else
        PrintState(*r);
      return int{kExitOk};
    });
  });

  auto* upload = image->add_subcommand("upload", "upload an image file to the device's free slot");
  auto upload_file = std::make_shared<std::string>();
  auto image_num = std::make_shared<uint32_t>(0);
  auto upgrade_flag = std::make_shared<bool>(false);
  auto no_skip = std::make_shared<bool>(false);
  upload->add_option("file", *upload_file, "image file")->required();
  upload->add_option("--image", *image_num, "image number (multi-image devices)");
  upload->add_flag("--upgrade", *upgrade_flag, "let the device refuse downgrades");
  upload->add_flag("--no-skip", *no_skip, "upload even if the device already has the image");
  add_upload_opts(upload);
  upload->callback([=, &global] {
    auto data = LoadImage(*upload_file, exit_code);
    if (!data) return;
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      client::UploadOptions o = MakeUploadOptions(global, *copt);
      o.image = *image_num;
      o.upgrade = *upgrade_flag;
      o.skip_if_present = !*no_skip;
      auto r = ctx.client().Upload(*data, o);
      if (!r.ok()) return DeviceFail(ctx, "image upload", r.error());
      if (global.json || copt->progress == "jsonl") {
        PrintResult(global, *copt, UploadJson(*r));
      } else if (r->skipped) {
        fmt::print("the device already has this image: upload skipped\n");
      } else {
        fmt::print("uploaded {} in {:.2f} s ({}/s){}{}\n", HumanBytes(static_cast<double>(r->size)),
                   r->elapsed_s,
                   HumanBytes(r->elapsed_s > 0 ? static_cast<double>(r->size) / r->elapsed_s : 0),
                   r->resumed_from ? fmt::format(", resumed at {}", r->resumed_from) : "",
                   r->match ? (*r->match ? ", match" : ", MISMATCH") : "");
      }
      return int{kExitOk};
    });
  });

  auto mark = [&global, copt, exit_code](const std::string& hash_text, bool confirm,
                                         const char* what) {
    std::optional<std::vector<uint8_t>> hash;
    if (!hash_text.empty()) {
      auto h = ParseHex(hash_text);
      if (!h.ok()) {
        *exit_code = Fail(what, h.error(), kExitUsage);
        return;
      }
      hash = *h;
    }
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = confirm ? ctx.client().ImageConfirm(hash ? std::optional<ConstByteSpan>(*hash)
                                                        : std::nullopt)
                       : ctx.client().ImageTest(*hash);
      if (!r.ok()) return DeviceFail(ctx, what, r.error());
      if (global.json)
        fmt::print("{}\n", StateJson(*r).dump());
      else
        PrintState(*r);
      return int{kExitOk};
    });
  };
  auto* test = image->add_subcommand("test", "boot the image with HASH once at the next reset");
  auto test_hash = std::make_shared<std::string>();
  test->add_option("hash", *test_hash, "image hash (hex, as image list shows)")->required();
  add_conn_opts(test);
  test->callback([mark, test_hash] { mark(*test_hash, false, "image test"); });

  auto* confirm =
      image->add_subcommand("confirm", "make an image permanent (default: the running one)");
  auto confirm_hash = std::make_shared<std::string>();
  confirm->add_option("hash", *confirm_hash, "image hash (hex); omit for the running image");
  add_conn_opts(confirm);
  confirm->callback([mark, confirm_hash] { mark(*confirm_hash, true, "image confirm"); });

  auto* erase = image->add_subcommand("erase", "erase a slot (default: the non-active one)");
  auto erase_slot = std::make_shared<int>(-1);
  erase->add_option("--slot", *erase_slot, "absolute slot number");
  add_conn_opts(erase);
  erase->callback([=, &global] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      std::optional<uint32_t> slot;
      if (*erase_slot >= 0) slot = static_cast<uint32_t>(*erase_slot);
      Status st = ctx.client().ImageErase(slot);
      if (!st.ok()) return DeviceFail(ctx, "image erase", st.error());
      if (global.json)
        fmt::print("{}\n", json{{"erased", true}}.dump());
      else
        fmt::print("erased\n");
      return int{kExitOk};
    });
  });

  auto* slots = image->add_subcommand("slots", "show the device's slots and sizes (slot info)");
  add_conn_opts(slots);
  slots->callback([&global, copt, exit_code] {
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      auto r = ctx.client().SlotInfos();
      if (!r.ok()) return DeviceFail(ctx, "image slots", r.error());
      json arr = json::array();
      for (const auto& s : *r) {
        json j = {{"image", s.image}, {"slot", s.slot}};
        if (s.size) j["size"] = *s.size;
        if (s.upload_image_id) j["upload_image_id"] = *s.upload_image_id;
        if (s.max_image_size) j["max_image_size"] = *s.max_image_size;
        arr.push_back(j);
        if (!global.json) {
          fmt::print("image {} slot {}: {} bytes{}\n", s.image, s.slot,
                     s.size ? std::to_string(*s.size) : "?",
                     s.upload_image_id
                         ? fmt::format(" (upload target, image id {})", *s.upload_image_id)
                         : "");
        }
      }
      if (global.json) fmt::print("{}\n", json{{"slots", arr}}.dump());
      return int{kExitOk};
    });
  });

  // upgrade
  auto* upgrade = app.add_subcommand(
      "upgrade", "upload FILE, mark it, reset, wait for the device, check and confirm");
  auto upgrade_file = std::make_shared<std::string>();
  auto mode = std::make_shared<std::string>("test-and-confirm");
  auto reset_wait = std::make_shared<double>(30);
  upgrade->add_option("file", *upgrade_file, "image file")->required();
  upgrade->add_option("--mode", *mode, "test-and-confirm, confirm-only or test-only")
      ->check(CLI::IsMember({"test-and-confirm", "confirm-only", "test-only"}))
      ->capture_default_str();
  upgrade
      ->add_option("--reset-wait", *reset_wait,
                   "seconds to wait for the device to come back after the reset")
      ->capture_default_str();
  add_upload_opts(upgrade);
  upgrade->callback([=, &global] {
    auto data = LoadImage(*upgrade_file, exit_code);
    if (!data) return;
    auto hash = client::ImageHashOf(*data);
    if (!hash.ok()) {
      *exit_code = Fail(*upgrade_file, hash.error(), kExitBadInput);
      return;
    }
    WithDevice(global, *copt, exit_code, [&](Context& ctx) {
      client::UpgradeOptions o;
      o.mode = *client::ParseUpgradeMode(*mode);
      o.upload = MakeUploadOptions(global, *copt);
      o.reset_wait =
          std::chrono::duration_cast<client::Duration>(std::chrono::duration<double>(*reset_wait));
      auto r = ctx.client().Upgrade(*data, o);
      if (!r.ok()) return DeviceFail(ctx, "upgrade", r.error());
      json j = {{"mode", *mode},
                {"hash", Hex(r->hash)},
                {"version", r->version},
                {"already_running", r->already_running},
                {"upload", UploadJson(r->upload)}};
      j["state"] = StateJson(r->final_state)["images"];
      if (global.json || copt->progress == "jsonl") {
        PrintResult(global, *copt, j);
      } else if (r->already_running) {
        fmt::print("the device already runs {} ({}): nothing to do\n", r->version,
                   Hex(r->hash).substr(0, 16));
      } else {
        fmt::print(
            "upgraded to {} ({}, {}){}\n", r->version, Hex(r->hash).substr(0, 16), *mode,
            r->upload.skipped ? "; upload skipped, the image was already on the device" : "");
        PrintState(r->final_state);
      }
      return int{kExitOk};
    });
  });
}

}  // namespace smpkit::cli
