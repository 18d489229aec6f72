#include "smpkit/io/packet_socket_server.h"

#include <unistd.h>

#include <array>
#include <deque>
#include <vector>

#include "smpkit/io/asio_link.h"

namespace smpkit::io {

using asio::local::stream_protocol;

class PacketSocketServer::Impl {
 public:
  Impl(asio::io_context& io, std::string path, Peer& peer)
      : path_(std::move(path)), peer_(peer), acceptor_(io) {}

  // One client connection. Its asynchronous operations hold it alive; the server holds it
  // while it is the connected client.
  class Connection : public std::enable_shared_from_this<Connection> {
   public:
    Connection(Impl& server, stream_protocol::socket socket)
        : server_(server), socket_(std::move(socket)) {}

    void Start() { ReadHeader(); }

    void Close() {
      if (closed_) return;
      closed_ = true;
      asio::error_code ec;
      socket_.close(ec);
      server_.Closed(this);
    }

    void Send(std::vector<uint8_t> framed) {
      if (closed_) return;
      tx_.push_back(std::move(framed));
      if (!writing_) WriteNext();
    }

   private:
    void ReadHeader() {
      auto self = shared_from_this();
      asio::async_read(socket_, asio::buffer(head_), [this, self](asio::error_code ec, size_t) {
        if (ec || closed_) return Close();
        body_.resize(size_t{head_[0]} << 8 | head_[1]);
        asio::async_read(socket_, asio::buffer(body_), [this, self](asio::error_code ec2, size_t) {
          if (ec2 || closed_) return Close();
          server_.peer_.OnClientPacket(body_);
          if (closed_) return;
          // While the client does not read its answers, stop reading its requests.
          if (tx_.size() >= kMaxQueuedAnswers) {
            read_paused_ = true;
            return;
          }
          ReadHeader();
        });
      });
    }

    void WriteNext() {
      if (tx_.empty()) {
        writing_ = false;
        return;
      }
      writing_ = true;
      auto self = shared_from_this();
      asio::async_write(socket_, asio::buffer(tx_.front()),
                        [this, self](asio::error_code ec, size_t) {
                          tx_.pop_front();
                          if (ec || closed_) return Close();
                          if (read_paused_ && tx_.size() < kMaxQueuedAnswers / 2) {
                            read_paused_ = false;
                            ReadHeader();
                          }
                          WriteNext();
                        });
    }

    Impl& server_;
    stream_protocol::socket socket_;
    std::array<uint8_t, 2> head_{};
    std::vector<uint8_t> body_;
    std::deque<std::vector<uint8_t>> tx_;
    bool writing_ = false;
    bool read_paused_ = false;
    bool closed_ = false;
  };

  Status Start() {
    ::unlink(path_.c_str());
    asio::error_code ec;
    acceptor_.open(stream_protocol(), ec);
    if (!ec) acceptor_.bind(stream_protocol::endpoint(path_), ec);
    if (!ec) acceptor_.listen(1, ec);
    if (ec) {
      return Error::Format(Errc::kIo, "cannot listen on %s: %s", path_.c_str(),
                           ec.message().c_str());
    }
    listening_ = true;
    Accept();
    return Ok();
  }

  void Stop() {
    if (client_) client_->Close();
    if (listening_) {
      asio::error_code ec;
      acceptor_.close(ec);
      ::unlink(path_.c_str());
      listening_ = false;
    }
  }

  void Accept() {
    acceptor_.async_accept([this](asio::error_code ec, stream_protocol::socket socket) {
      if (ec) return;  // closed by Stop()
      if (client_) {
        ++refused_;
        asio::error_code ignored;
        socket.close(ignored);
        peer_.OnClientRefused();
      } else {
        client_ = std::make_shared<Connection>(*this, std::move(socket));
        peer_.OnClientConnected();
        if (client_) client_->Start();
      }
      Accept();
    });
  }

  void Closed(Connection* c) {
    if (client_.get() != c) return;
    client_.reset();  // its pending operations still hold it
    peer_.OnClientDisconnected();
  }

  Status Send(ConstByteSpan packet) {
    SMPKIT_ASSIGN_OR_RETURN(std::vector<uint8_t> framed, FrameBleSimPacket(packet));
    if (client_) client_->Send(std::move(framed));
    return Ok();
  }

  std::string path_;
  Peer& peer_;
  stream_protocol::acceptor acceptor_;
  std::shared_ptr<Connection> client_;
  bool listening_ = false;
  uint64_t refused_ = 0;
};

PacketSocketServer::PacketSocketServer(asio::io_context& io, std::string path, Peer& peer)
    : impl_(std::make_unique<Impl>(io, std::move(path), peer)) {}

PacketSocketServer::~PacketSocketServer() {
  // No peer callback from a destructor: the peer may be gone already.
  if (impl_->client_) {
    auto c = std::move(impl_->client_);
    c->Close();
  }
  impl_->Stop();
}

Status PacketSocketServer::Start() { return impl_->Start(); }
void PacketSocketServer::Stop() { impl_->Stop(); }
Status PacketSocketServer::Send(ConstByteSpan packet) { return impl_->Send(packet); }
bool PacketSocketServer::client_connected() const { return impl_->client_ != nullptr; }
uint64_t PacketSocketServer::refused_clients() const { return impl_->refused_; }

}  // namespace smpkit::io
