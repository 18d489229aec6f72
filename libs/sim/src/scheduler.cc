#include "smpkit/sim/scheduler.h"

#include <cinttypes>
#include <cstdio>

namespace smpkit::sim {

std::string FormatTime(Time t) {
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(t).count();
  const char* sign = us < 0 ? "-" : "";
  const int64_t a = us < 0 ? -us : us;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%" PRId64 ".%06" PRId64 " s", sign, a / 1000000, a % 1000000);
  return buf;
}

Scheduler::Scheduler(uint64_t seed) : seed_(seed), rng_(seed) {}

TaskId Scheduler::Post(Task task, TaskKind kind) { return PostAt(now_, std::move(task), kind); }

TaskId Scheduler::PostAt(Time when, Task task, TaskKind kind) {
  if (when < now_) when = now_;
  const uint64_t seq = next_seq_++;
  const TaskId id = seq;  // sequence numbers are unique, so they double as ids
  Key key{when, seq};
  queue_.emplace(key, Entry{id, kind, std::move(task)});
  index_.emplace(id, key);
  if (kind == TaskKind::kForeground) ++foreground_;
  return id;
}

TaskId Scheduler::PostAfter(Duration delay, Task task, TaskKind kind) {
  return PostAt(now_ + delay, std::move(task), kind);
}

bool Scheduler::Cancel(TaskId id) {
  auto idx = index_.find(id);
  if (idx == index_.end()) return false;
  auto it = queue_.find(idx->second);
  if (it->second.kind == TaskKind::kForeground) --foreground_;
  queue_.erase(it);
  index_.erase(idx);
  return true;
}

std::optional<Time> Scheduler::DeadlineOf(TaskId id) const {
  auto idx = index_.find(id);
  if (idx == index_.end()) return std::nullopt;
  return idx->second.first;
}

std::optional<Time> Scheduler::NextTime() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->first.first;
}

void Scheduler::RunEntry(std::map<Key, Entry>::iterator it) {
  now_ = it->first.first;
  Entry entry = std::move(it->second);
  queue_.erase(it);
  index_.erase(entry.id);
  if (entry.kind == TaskKind::kForeground) --foreground_;
  ++tasks_run_;
  entry.task();
}

bool Scheduler::RunOne() {
  if (queue_.empty()) return false;
  RunEntry(queue_.begin());
  return true;
}

size_t Scheduler::RunUntilIdle() {
  size_t n = 0;
  while (foreground_ > 0 && RunOne()) ++n;
  return n;
}

size_t Scheduler::RunUntil(Time t) {
  size_t n = 0;
  while (!queue_.empty() && queue_.begin()->first.first <= t) {
    RunEntry(queue_.begin());
    ++n;
  }
  if (t > now_) now_ = t;
  return n;
}

bool Scheduler::RunUntilCondition(const std::function<bool()>& done, Time deadline) {
  while (!done()) {
    if (queue_.empty() || queue_.begin()->first.first > deadline) {
      if (deadline > now_) now_ = deadline;
      return done();
    }
    RunEntry(queue_.begin());
  }
  return true;
}

double Scheduler::UniformReal() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

bool Work::Submit() {
  if (IsPending()) return false;
  id_ = scheduler_.Post([this] {
    id_ = kNoTask;
    handler_();
  });
  return true;
}

bool Work::Cancel() {
  const bool was = scheduler_.Cancel(id_);
  id_ = kNoTask;
  return was;
}

bool DelayableWork::Schedule(Duration delay) {
  if (IsPending()) return false;
  id_ = scheduler_.PostAfter(delay, [this] { Fire(); });
  return true;
}

void DelayableWork::Reschedule(Duration delay) {
  scheduler_.Cancel(id_);
  id_ = scheduler_.PostAfter(delay, [this] { Fire(); });
}

bool DelayableWork::Cancel() {
  const bool was = scheduler_.Cancel(id_);
  id_ = kNoTask;
  return was;
}

Duration DelayableWork::Remaining() const {
  auto deadline = scheduler_.DeadlineOf(id_);
  if (!deadline) return Duration{0};
  return *deadline - scheduler_.Now();
}

void DelayableWork::Fire() {
  id_ = kNoTask;  // cleared first so that the handler may schedule itself again
  handler_();
}

}  // namespace smpkit::sim
