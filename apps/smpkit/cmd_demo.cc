// `smpkit demo` through an in-process device (no sockets; `echo` lives in cmd_client.cc). The demo will
// grow into the full simulated nRF Desktop DFU; for now it exercises the SMP server core.
#include <fmt/core.h>

#include <array>
#include <string>

#include "commands.h"
#include "smpkit/mgmt/os_group.h"
#include "smpkit/smp/message.h"

namespace smpkit::cli {

namespace {

// A device in this process: SMP server with the OS group, answered synchronously.
class InProcessDevice : public smp::ResponseSink {
 public:
  InProcessDevice() : os_(mgmt::OsGroupConfig{}, config_, hooks_), server_(registry_, config_) {
    (void)registry_.Register(os_);
  }

  // Sends one request frame and returns the parsed response.
  Result<smp::Response> Transact(ConstByteSpan request) {
    last_.clear();
    server_.Process(request, scratch_, *this);
    if (last_.empty()) return Error(Errc::kTimeout, "device sent no response");
    return smp::ParseResponse(ConstByteSpan(last_.data(), last_.size()));
  }
  void SendResponse(ConstByteSpan frame) override { last_.assign(frame.begin(), frame.end()); }

 private:
  smp::ServerConfig config_;
  mgmt::OsHooks hooks_;
  mgmt::OsGroup os_;
  smp::Registry registry_;
  smp::Server server_;
  std::array<uint8_t, 2048> scratch_{};
  std::vector<uint8_t> last_;
};

template <typename BodyFn>
Result<smp::Response> Request(InProcessDevice& dev, uint8_t seq, uint8_t op, uint8_t id,
                              BodyFn&& body, std::array<uint8_t, 1024>& buf) {
  smp::Header h;
  h.op = op;
  h.seq = seq;
  h.group = smp::kGroupOs;
  h.id = id;
  auto frame = smp::BuildFrame(h, buf, body);
  if (!frame.ok()) return frame.error();
  return dev.Transact(*frame);
}

int Fail(const Error& e) {
  fmt::print(stderr, "smpkit: {}\n", e.message());
  return kExitFailure;
}

}  // namespace

void RegisterDemoCommands(CLI::App& app, GlobalOptions& /*global*/, int* exit_code) {
  auto* demo = app.add_subcommand("demo", "run the end-to-end demo on a simulated device");
  demo->callback([exit_code] {
    InProcessDevice dev;
    std::array<uint8_t, 1024> buf;
    uint8_t seq = 0;
    fmt::print("smpkit demo: in-process SMP device (OS group)\n");
    // Each response lives in the device's buffer until the next request: decode at once.
    std::string reply, output;
    uint64_t buf_size = 0, buf_count = 0;
    auto echo = Request(dev, seq++, 2, mgmt::OsGroup::kEcho,
                        [](cbor::Writer& w) { w.Key("d").Text("hello from smpkit"); }, buf);
    if (!echo.ok()) {
      *exit_code = Fail(echo.error());
      return;
    }
    std::string_view v;
    (void)cbor::DecodeMap(echo->payload, {cbor::TextField("r", &v)});
    reply = v;
    auto params = Request(dev, seq++, 0, mgmt::OsGroup::kMcumgrParams, [](cbor::Writer&) {}, buf);
    if (!params.ok()) {
      *exit_code = Fail(params.error());
      return;
    }
    (void)cbor::DecodeMap(params->payload, {cbor::UintField("buf_size", &buf_size),
                                            cbor::UintField("buf_count", &buf_count)});
    auto info = Request(dev, seq++, 0, mgmt::OsGroup::kInfo,
                        [](cbor::Writer& w) { w.Key("format").Text("a"); }, buf);
    if (!info.ok()) {
      *exit_code = Fail(info.error());
      return;
    }
    (void)cbor::DecodeMap(info->payload, {cbor::TextField("output", &v)});
    output = v;
    fmt::print("  echo   -> \"{}\"\n  params -> buf_size {} buf_count {}\n  info   -> {}\n", reply,
               buf_size, buf_count, output);
    *exit_code = reply == "hello from smpkit" ? kExitOk : kExitFailure;
  });
}

}  // namespace smpkit::cli
