// The host library over UDP: client_echo HOST PORT sends an OS echo and reads the device's
// MCUmgr parameters, as a tool built on smpkit would.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/io/asio_link.h"

namespace {

int Fail(const char* what, const smpkit::Error& e) {
  std::fprintf(stderr, "client_echo: %s: %.*s\n", what, static_cast<int>(e.message().size()),
               e.message().data());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace smpkit;
  if (argc != 3) {
    std::fprintf(stderr, "usage: client_echo HOST PORT\n");
    return 2;
  }
  const int port = std::atoi(argv[2]);
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "client_echo: bad port '%s'\n", argv[2]);
    return 2;
  }
  asio::io_context io;
  io::AsioExecutor executor(io);
  auto link = io::UdpLink::Open(io, argv[1], static_cast<uint16_t>(port));
  if (!link.ok()) return Fail("open", link.error());
  client::SessionConfig sc;
  sc.timeout = std::chrono::seconds(2);
  client::Session session(**link, executor, sc);
  client::Client cl(session);

  const std::string text = "hello from an installed smpkit";
  auto echo = cl.Echo(text);
  if (!echo.ok()) return Fail("echo", echo.error());
  if (*echo != text) {
    std::fprintf(stderr, "client_echo: echo came back as '%s'\n", echo->c_str());
    return 1;
  }
  std::printf("client_echo: echo '%s'\n", echo->c_str());
  auto params = cl.Params();
  if (!params.ok()) return Fail("params", params.error());
  if (params->has_value()) {
    std::printf("client_echo: buf_size %u buf_count %u\n", static_cast<unsigned>((*params)->buf_size),
                static_cast<unsigned>((*params)->buf_count));
  } else {
    std::printf("client_echo: the device has no MCUmgr parameters command\n");
  }
  return 0;
}
