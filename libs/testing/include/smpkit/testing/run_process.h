#pragma once
// Runs a command as a child process with a deadline, capturing stdout and stderr (for the
// CLI integration tests and benchmarks). `idle` runs between polls (e.g. to serve a fake
// device on a socket). A command still running at the deadline is killed (SIGKILL).
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace smpkit::testing {

// Runs a command with a deadline; captures stdout and stderr.
struct ProcResult {
  int exit_code = -1;
  std::string out, err;
};

// `env`: variables set in the child (std::nullopt unsets one).
inline ProcResult RunProcess(std::vector<std::string> args, std::chrono::seconds limit,
                             const std::function<void()>& idle = nullptr,
                             const std::map<std::string, std::optional<std::string>>& env = {}) {
  int out[2], err[2];
  ProcResult r;
  if (pipe(out) != 0 || pipe(err) != 0) return r;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    for (const auto& [k, v] : env) {
      if (v) {
        setenv(k.c_str(), v->c_str(), 1);
      } else {
        unsetenv(k.c_str());
      }
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  auto deadline = std::chrono::steady_clock::now() + limit;
  bool open_out = true, open_err = true;
  while ((open_out || open_err) && std::chrono::steady_clock::now() < deadline) {
    pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int n = poll(p, 2, 20);
    if (idle) idle();
    if (n <= 0) continue;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t k = read(p[i].fd, buf, sizeof(buf));
      if (k <= 0) {
        (i == 0 ? open_out : open_err) = false;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(k));
      }
    }
  }
  if (open_out || open_err) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  close(err[0]);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace smpkit::testing
