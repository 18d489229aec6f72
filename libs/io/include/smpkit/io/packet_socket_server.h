#pragma once
// A UNIX stream socket server for SMP packets in the BLE simulation's framing (a 2-byte
// big-endian length, then the packet; see BleSimLink): `smpkit device --ble-sim PATH` serves
// the simulated nRF Desktop device behind it, and `--conn blesim:PATH` reaches it.
// - one client at a time, as one phone holds the device's one connection: a second client is
//   refused (its socket closed at once);
// - bounded output: once kMaxQueuedAnswers answers wait for a client that does not read, its
//   requests are not read either until half of them went out (flow control: what still
//   comes is only the answers to requests already taken);
// - the socket file is removed at Start (a stale one from a killed run), at Stop and at
//   destruction.
// All callbacks run on the io_context's thread.

#include <asio.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::io {

class PacketSocketServer {
 public:
  // What serves the connected client.
  class Peer {
   public:
    virtual ~Peer() = default;
    // A client connected: answers go to it through Send().
    virtual void OnClientConnected() = 0;
    // One request packet of the client.
    virtual void OnClientPacket(ConstByteSpan packet) = 0;
    // The client went away (or Stop()): Send() is a no-op until the next one connects.
    virtual void OnClientDisconnected() = 0;
    // A second client was refused.
    virtual void OnClientRefused() {}
  };

  static constexpr size_t kMaxQueuedAnswers = 16;

  PacketSocketServer(asio::io_context& io, std::string path, Peer& peer);
  ~PacketSocketServer();
  PacketSocketServer(const PacketSocketServer&) = delete;
  PacketSocketServer& operator=(const PacketSocketServer&) = delete;

  // Binds and listens; accepting starts when the io_context runs. Errors: kIo naming the path.
  Status Start();
  // Closes the client (OnClientDisconnected) and the listening socket, removes the file.
  void Stop();
  // Sends one answer to the connected client; dropped when none is connected. Errors:
  // kNoSpace above 65535 bytes.
  Status Send(ConstByteSpan packet);
  bool client_connected() const;
  uint64_t refused_clients() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smpkit::io
