#pragma once
// `smpkit device ...` started as a child process for tests and benchmarks: waits (at most
// 10 s) for the endpoints it prints (`udp: ADDR:PORT`, `serial: /dev/pts/N`) and kills it
// (SIGKILL) when destroyed unless Kill() was called before.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace smpkit::testing {

// The smpkit executable of the build tree this program belongs to (benchmarks live in
// <build>/bench/, the CLI in <build>/apps/smpkit/).
inline std::string SmpkitBesideThisBinary() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  const std::string self(buf, n > 0 ? static_cast<size_t>(n) : 0);
  return self.substr(0, self.rfind('/')) + "/../apps/smpkit/smpkit";
}

class DeviceProcess {
 public:
  // `binary` is the smpkit executable; `args` follow `device`.
  DeviceProcess(const std::string& binary, std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::vector<std::string> full = {binary, "device"};
      full.insert(full.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : full) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
    // Until the first endpoint appears, then 200 ms more for the lines printed with it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool grace = false;
    std::string buf;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!grace && (udp_port_ != 0 || udp6_port_ != 0 || !pty_.empty())) {
        grace = true;
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char c[512];
      const ssize_t n = read(out_, c, sizeof(c));
      if (n <= 0) break;
      buf.append(c, static_cast<size_t>(n));
      size_t pos = 0;
      for (size_t nl; (nl = buf.find('\n', pos)) != std::string::npos; pos = nl + 1) {
        const std::string line = buf.substr(pos, nl - pos);
        if (line.rfind("udp: 127.0.0.1:", 0) == 0) udp_port_ = static_cast<uint16_t>(std::stoi(line.substr(15)));
        if (line.rfind("udp: [::1]:", 0) == 0) udp6_port_ = static_cast<uint16_t>(std::stoi(line.substr(11)));
        if (line.rfind("serial: ", 0) == 0) pty_ = line.substr(8);
      }
      buf.erase(0, pos);
    }
  }
  ~DeviceProcess() {
    Kill(SIGKILL);
    if (out_ >= 0) close(out_);
  }
  DeviceProcess(const DeviceProcess&) = delete;
  DeviceProcess& operator=(const DeviceProcess&) = delete;

  // Sends `sig` and waits for the process; exit_status() then holds its wait status.
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    waitpid(pid_, &exit_status_, 0);
    pid_ = -1;
  }
  uint16_t udp_port() const { return udp_port_; }
  uint16_t udp6_port() const { return udp6_port_; }
  const std::string& pty() const { return pty_; }
  int exit_status() const { return exit_status_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  uint16_t udp_port_ = 0;
  uint16_t udp6_port_ = 0;
  std::string pty_;
  int exit_status_ = 0;
};

}  // namespace smpkit::testing
