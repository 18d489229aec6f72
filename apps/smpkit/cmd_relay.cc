// `smpkit relay`: a seeded lossy UDP relay in front of a device (libs/io UdpRelay), to try a
// client under loss, duplication and reordering on loopback.
#include <fmt/core.h>

#include <asio.hpp>
#include <memory>
#include <string>

#include "commands.h"
#include "smpkit/io/udp_relay.h"

namespace smpkit::cli {

namespace {

struct RelayOptions {
  std::string listen = "127.0.0.1:0";
  std::string target;
  double drop = 0, duplicate = 0, reorder = 0, corrupt = 0;
  double delay_ms = 0, reorder_delay_ms = 5;
  uint64_t seed = 1;
};

client::Duration Ms(double ms) {
  return std::chrono::duration_cast<client::Duration>(
      std::chrono::duration<double, std::milli>(ms));
}

void PrintStats(const char* name, const client::FaultStats& s) {
  fmt::print("relay: {}: {} datagrams, {} dropped, {} duplicated, {} reordered, {} corrupted\n",
             name, s.packets, s.dropped, s.duplicated, s.reordered, s.corrupted);
}

int RunRelay(const RelayOptions& opt) {
  auto listen = io::ParseUdpEndpoint(opt.listen);
  auto target = io::ParseUdpEndpoint(opt.target);
  if (!listen.ok() || !target.ok()) {
    fmt::print(stderr, "smpkit relay: {}\n",
               (listen.ok() ? target.error() : listen.error()).message());
    return kExitUsage;
  }
  io::RelayConfig config;
  config.to_target = io::NoFaults();
  config.to_target.drop = opt.drop;
  config.to_target.duplicate = opt.duplicate;
  config.to_target.reorder = opt.reorder;
  config.to_target.corrupt = opt.corrupt;
  config.to_target.delay = Ms(opt.delay_ms);
  config.to_target.reorder_delay = Ms(opt.reorder_delay_ms);
  config.to_client = config.to_target;
  config.seed = opt.seed;
  asio::io_context io;
  auto relay = io::UdpRelay::Open(io, *listen, *target, config);
  if (!relay.ok()) {
    fmt::print(stderr, "smpkit relay: {}\n", relay.error().message());
    return kExitUnreachable;
  }
  const auto local = (*relay)->local_endpoint();
  const std::string addr = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                                   : local.address().to_string();
  fmt::print("relay: {}:{} -> {}\n", addr, local.port(), opt.target);
  std::fflush(stdout);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const asio::error_code&, int) { io.stop(); });
  io.run();
  PrintStats("to target", (*relay)->stats().to_target);
  PrintStats("to client", (*relay)->stats().to_client);
  return kExitOk;
}

}  // namespace

void RegisterRelayCommands(CLI::App& app, GlobalOptions&, int* exit_code) {
  auto opt = std::make_shared<RelayOptions>();
  auto* cmd = app.add_subcommand(
      "relay", "a seeded lossy UDP relay in front of a device, to test clients under loss");
  cmd->add_option("--listen", opt->listen, "HOST:PORT or [V6]:PORT to listen on (port 0: any)")
      ->capture_default_str();
  cmd->add_option("--to", opt->target, "the device's HOST:PORT or [V6]:PORT")->required();
  auto prob = CLI::Range(0.0, 1.0);
  cmd->add_option("--drop", opt->drop, "probability a datagram is lost, each way")
      ->check(prob)
      ->capture_default_str();
  cmd->add_option("--duplicate", opt->duplicate, "probability a datagram is delivered twice")
      ->check(prob)
      ->capture_default_str();
  cmd->add_option("--reorder", opt->reorder, "probability a datagram is held back")
      ->check(prob)
      ->capture_default_str();
  cmd->add_option("--reorder-delay", opt->reorder_delay_ms,
                  "hold-back of a reordered datagram (ms)")
      ->check(CLI::Range(0.0, 10000.0))
      ->capture_default_str();
  cmd->add_option("--delay", opt->delay_ms, "one-way latency added to every datagram (ms)")
      ->check(CLI::Range(0.0, 10000.0))
      ->capture_default_str();
  cmd->add_option("--corrupt", opt->corrupt, "probability one bit of a datagram is flipped")
      ->check(prob)
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "seed of the fault generator")->capture_default_str();
  cmd->callback([opt, exit_code] { *exit_code = RunRelay(*opt); });
}

}  // namespace smpkit::cli
