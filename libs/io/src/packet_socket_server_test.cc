// io::PacketSocketServer on a real UNIX socket: one client at a time, the framing, answers
// bounded while a client does not read, nothing lost once it reads again.
#include "smpkit/io/packet_socket_server.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace smpkit::io {
namespace {

using asio::local::stream_protocol;

std::string TempSocketPath(const char* tag) {
  return "/tmp/smpkit_" + std::string(tag) + "_" + std::to_string(::getpid()) + ".sock";
}

// Answers every request with `answer_size` bytes that start with the request's first byte.
class EchoPeer : public PacketSocketServer::Peer {
 public:
  explicit EchoPeer(size_t answer_size = 0) : answer_size_(answer_size) {}
  void OnClientConnected() override { ++connected; }
  void OnClientPacket(ConstByteSpan packet) override {
    ++packets;
    std::vector<uint8_t> answer(packet.begin(), packet.end());
    if (answer_size_ != 0) answer.resize(answer_size_, packet.empty() ? 0 : packet[0]);
    ASSERT_TRUE(server->Send(answer).ok());
  }
  void OnClientDisconnected() override { ++disconnected; }
  void OnClientRefused() override { ++refused; }

  PacketSocketServer* server = nullptr;
  int connected = 0, disconnected = 0, refused = 0;
  size_t packets = 0;

 private:
  size_t answer_size_;
};

std::vector<uint8_t> Frame(std::vector<uint8_t> packet) {
  std::vector<uint8_t> f(2 + packet.size());
  f[0] = static_cast<uint8_t>(packet.size() >> 8);
  f[1] = static_cast<uint8_t>(packet.size());
  std::copy(packet.begin(), packet.end(), f.begin() + 2);
  return f;
}

std::vector<uint8_t> ReadPacket(stream_protocol::socket& s) {
  uint8_t head[2];
  asio::read(s, asio::buffer(head));
  std::vector<uint8_t> body(size_t{head[0]} << 8 | head[1]);
  asio::read(s, asio::buffer(body));
  return body;
}

void RunFor(asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

TEST(PacketSocketServerTest, OneClientAtATimeFramedBothWays) {
  const std::string path = TempSocketPath("pss1");
  asio::io_context io;
  EchoPeer peer;
  PacketSocketServer server(io, path, peer);
  peer.server = &server;
  ASSERT_TRUE(server.Start().ok());

  asio::io_context client_io;
  stream_protocol::socket a(client_io);
  a.connect(stream_protocol::endpoint(path));
  RunFor(io, std::chrono::milliseconds(50));
  EXPECT_EQ(peer.connected, 1);
  EXPECT_TRUE(server.client_connected());

  // A second client is refused: its socket is closed at once.
  stream_protocol::socket b(client_io);
  b.connect(stream_protocol::endpoint(path));
  RunFor(io, std::chrono::milliseconds(50));
  EXPECT_EQ(peer.refused, 1);
  EXPECT_EQ(server.refused_clients(), 1u);
  uint8_t byte;
  asio::error_code ec;
  b.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);

  asio::write(a, asio::buffer(Frame({1, 2, 3})));
  asio::write(a, asio::buffer(Frame({})));  // an empty packet is a packet too
  RunFor(io, std::chrono::milliseconds(50));
  EXPECT_EQ(ReadPacket(a), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(ReadPacket(a), std::vector<uint8_t>{});

  a.close();
  RunFor(io, std::chrono::milliseconds(50));
  EXPECT_EQ(peer.disconnected, 1);
  EXPECT_FALSE(server.client_connected());
  EXPECT_TRUE(server.Send(std::vector<uint8_t>{9}).ok());  // nobody there: dropped

  // The next client is served.
  stream_protocol::socket c(client_io);
  c.connect(stream_protocol::endpoint(path));
  asio::write(c, asio::buffer(Frame({7})));
  RunFor(io, std::chrono::milliseconds(50));
  EXPECT_EQ(peer.connected, 2);
  EXPECT_EQ(ReadPacket(c), std::vector<uint8_t>{7});

  server.Stop();
  EXPECT_EQ(peer.disconnected, 2);
  struct stat st;
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket file stays after Stop";
}

// A client that sends and does not read: the server stops reading it once
// kMaxQueuedAnswers answers wait, and every answer arrives once it reads.
TEST(PacketSocketServerTest, AClientThatDoesNotReadIsNotReadEither) {
  const std::string path = TempSocketPath("pss2");
  asio::io_context io;
  EchoPeer peer(60000);  // large answers fill the socket's buffers quickly
  PacketSocketServer server(io, path, peer);
  peer.server = &server;
  ASSERT_TRUE(server.Start().ok());

  asio::io_context client_io;
  stream_protocol::socket a(client_io);
  a.connect(stream_protocol::endpoint(path));
  constexpr size_t kRequests = 100;
  for (size_t i = 0; i < kRequests; ++i) {
    asio::write(a, asio::buffer(Frame({static_cast<uint8_t>(i)})));
  }
  RunFor(io, std::chrono::milliseconds(300));
  // Some answers sit in the kernel's socket buffers, at most kMaxQueuedAnswers in the server.
  EXPECT_LT(peer.packets, kRequests);
  EXPECT_GE(peer.packets, PacketSocketServer::kMaxQueuedAnswers);

  // Reading resumes the server: all answers come, in order.
  std::thread runner([&] { RunFor(io, std::chrono::milliseconds(3000)); });
  for (size_t i = 0; i < kRequests; ++i) {
    auto p = ReadPacket(a);
    ASSERT_EQ(p.size(), 60000u);
    ASSERT_EQ(p[0], static_cast<uint8_t>(i));
  }
  io.stop();
  runner.join();
  EXPECT_EQ(peer.packets, kRequests);
}

TEST(PacketSocketServerTest, AnUnusablePathIsNamed) {
  asio::io_context io;
  EchoPeer peer;
  PacketSocketServer server(io, "/nonexistent-dir/x.sock", peer);
  auto st = server.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kIo);
  EXPECT_NE(st.error().message().find("/nonexistent-dir/x.sock"), std::string_view::npos);
}

}  // namespace
}  // namespace smpkit::io
