// The client's response parsing against real answers: every captured exchange of Zephyr 3.4
// and 4.1 (shared/vectors/smp) is sent through a Session over a link that answers with the
// captured response bytes, and the answer is decoded with the client's typed decoders. The
// expected values come from the capture's own decoded form (`response_decoded`), not from
// smpkit's encoder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "smpkit/client/client.h"
#include "smpkit/client/session.h"
#include "smpkit/sim/scheduler.h"
#include "smpkit/simlink/scheduler_executor.h"
#include "smpkit/testing/hex.h"
#include "smpkit/testing/vectors.h"

namespace smpkit::client {
namespace {

using smpkit::testing::FromHex;

// Answers the one request it expects with the captured response, under the sequence
// number the session chose (the only byte that differs from the capture).
class ReplayLink : public Link {
 public:
  ReplayLink(std::vector<uint8_t> request, std::vector<uint8_t> response)
      : request_(std::move(request)), response_(std::move(response)) {}
  Status Send(ConstByteSpan p) override {
    ++sends;
    // Same bytes as the captured request but the sequence number.
    std::vector<uint8_t> got(p.begin(), p.end()), want = request_;
    if (got.size() == want.size() && got.size() >= 8) got[6] = want[6];
    EXPECT_EQ(got, want) << "the session did not send the captured request";
    std::vector<uint8_t> answer = response_;
    answer[6] = p[6];
    pending_ = answer;
    return {};
  }
  void SetReceiveHandler(ReceiveHandler h) override { handler_ = std::move(h); }
  LinkInfo Info() const override { return {2048, false, 0}; }
  void Deliver() {
    if (pending_.empty() || !handler_) return;
    auto a = std::move(pending_);
    pending_.clear();
    handler_(a);
  }
  int sends = 0;

 private:
  std::vector<uint8_t> request_, response_, pending_;
  ReceiveHandler handler_;
};

// An executor that delivers the replay link's answer whenever the session waits.
class ReplayExecutor : public Executor {
 public:
  explicit ReplayExecutor(sim::Scheduler& s) : inner_(s) {}
  Time Now() const override { return inner_.Now(); }
  TimerId PostAfter(Duration d, std::function<void()> fn) override {
    return inner_.PostAfter(d, std::move(fn));
  }
  bool Cancel(TimerId id) override { return inner_.Cancel(id); }
  bool RunUntil(const std::function<bool()>& done) override {
    if (link) link->Deliver();
    return inner_.RunUntil(done);
  }
  ReplayLink* link = nullptr;

 private:
  simlink::SchedulerExecutor inner_;
};

std::string Match(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return "";
  return m[1];
}

struct Outcome {
  int typed = 0;   // answers checked with a typed decoder
  int errors = 0;  // error answers checked as rc / err
  int total = 0;
};

// Checks one captured exchange; returns what was checked.
void CheckCase(const nlohmann::json& c, Outcome& out) {
  if (c["transport"] != "udp") return;
  const auto& req_frames = c["request_decoded"];
  const std::string rsp_hex = c["response_hex"];
  // One request frame and one answer: what a client sends and gets.
  if (req_frames.size() != 1 || !req_frames[0].contains("op") || rsp_hex.empty() ||
      rsp_hex.find(' ') != std::string::npos) {
    return;
  }
  const auto& rq = req_frames[0];
  const int op = rq["op"], group = rq["group"], id = rq["id"], ver = rq["ver"];
  if (op != 0 && op != 2) return;
  if (rq["flags"] != 0) return;  // a session sends flags 0
  const auto request = FromHex(c["request_hex"].get<std::string>());
  if (request.size() != 8u + rq["len"].get<size_t>()) return;  // deliberately malformed
  SCOPED_TRACE(c["name"].get<std::string>());
  ++out.total;
  sim::Scheduler sched;
  ReplayExecutor ex(sched);
  ReplayLink link(request, FromHex(rsp_hex));
  ex.link = &link;
  Session session(link, ex,
                  {.timeout = std::chrono::seconds(1), .retries = 0, .start_v2 = ver == 1});
  Request r;
  r.op = static_cast<uint8_t>(op);
  r.group = static_cast<uint16_t>(group);
  r.id = static_cast<uint8_t>(id);
  r.payload.assign(request.begin() + 8, request.end());
  auto reply = session.Call(r);
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(link.sends, 1);
  const std::string diag = c["response_decoded"][0]["payload"];
  // Error answers: both shapes decode into rc / err.
  const std::string rc = Match(diag, R"("rc": (-?\d+))");
  if (diag.find("\"err\"") != std::string::npos) {
    ASSERT_TRUE(reply->err.has_value());
    EXPECT_EQ(std::to_string(reply->err->group), Match(diag, R"("group": (\d+))"));
    EXPECT_EQ(std::to_string(reply->err->rc),
              Match(diag, R"("err": \{_? ?"group": \d+, "rc": (\d+))"));
    const Status st = ReplyStatus(*reply);
    ASSERT_FALSE(st.ok());
    // The device's group and rc reach the caller in the error itself.
    EXPECT_TRUE(st.error().has_smp());
    EXPECT_FALSE(st.error().smp_mgmt_rc());
    EXPECT_EQ(std::to_string(st.error().smp_group()), Match(diag, R"("group": (\d+))"));
    EXPECT_EQ(std::to_string(st.error().smp_rc()),
              Match(diag, R"("err": \{_? ?"group": \d+, "rc": (\d+))"));
    ++out.errors;
    return;
  }
  if (!rc.empty() && rc != "0") {
    EXPECT_EQ(std::to_string(reply->rc), rc);
    EXPECT_FALSE(reply->ok());
    const Status st = ReplyStatus(*reply);
    ASSERT_FALSE(st.ok());
    EXPECT_THAT(std::string(st.error().message()), ::testing::HasSubstr("rc " + rc));
    EXPECT_TRUE(st.error().has_smp() && st.error().smp_mgmt_rc());
    EXPECT_EQ(std::to_string(st.error().smp_rc()), rc);
    EXPECT_EQ(st.error().smp_group(), group);
    ++out.errors;
    return;
  }
  ASSERT_TRUE(reply->ok());
  const ConstByteSpan payload(reply->payload);
  if (group == 0 && id == 0) {
    auto echo = DecodeEchoResponse(payload);
    ASSERT_TRUE(echo.ok()) << echo.error().message();
    EXPECT_EQ(*echo, Match(diag, R"("r": "([^"]*)\")"));
  } else if (group == 0 && id == 6) {
    auto p = DecodeParamsResponse(payload);
    ASSERT_TRUE(p.ok()) << p.error().message();
    EXPECT_EQ(std::to_string(p->buf_size), Match(diag, R"("buf_size": (\d+))"));
    EXPECT_EQ(std::to_string(p->buf_count), Match(diag, R"("buf_count": (\d+))"));
  } else if (group == 0 && id == 2) {
    // Every task in the device's order, names repeated as 4.1 sends them.
    auto tasks = DecodeTaskStatResponse(payload);
    ASSERT_TRUE(tasks.ok()) << tasks.error().message();
    std::regex entry(R"re("([^"]+)": \{_? ?"prio": (-?\d+), "tid": (\d+), "state": (\d+)\})re");
    size_t i = 0;
    std::map<std::string, int> names;
    for (auto it = std::sregex_iterator(diag.begin(), diag.end(), entry);
         it != std::sregex_iterator(); ++it, ++i) {
      ASSERT_LT(i, tasks->size());
      const auto& m = *it;
      const TaskStat& t = (*tasks)[i];
      EXPECT_EQ(t.name, m[1]);
      EXPECT_EQ(t.prio, std::stoll(m[2]));
      EXPECT_EQ(t.tid, std::stoull(m[3]));
      EXPECT_EQ(t.state, std::stoull(m[4]));
      EXPECT_FALSE(t.stkuse.has_value());  // the captured servers sent only these three
      ++names[t.name];
    }
    EXPECT_EQ(i, tasks->size());
    EXPECT_GT(i, 0u);
    if (diag.find("\"-1\": {_ \"prio\": -1, \"tid\": 4") != std::string::npos) {
      EXPECT_EQ(names["-1"], 4);  // Zephyr 4.1: four cooperative threads at priority -1
    }
  } else if (group == 2 && id == 1) {
    // 3.4 puts "rc": 0 first, 4.1 does not: both are a list of names.
    auto list = DecodeStatListResponse(payload);
    ASSERT_TRUE(list.ok()) << list.error().message();
    std::vector<std::string> want;
    const std::string names = Match(diag, R"("stat_list": \[_? ?([^\]]*)\])");
    std::regex quoted(R"re("([^"]*)")re");
    for (auto it = std::sregex_iterator(names.begin(), names.end(), quoted);
         it != std::sregex_iterator(); ++it) {
      want.push_back((*it)[1]);
    }
    EXPECT_EQ(*list, want);
    EXPECT_EQ(want.size(), 3u);
  } else if (group == 0 && id == 7) {
    auto info = DecodeInfoResponse(payload);
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(*info, Match(diag, R"("output": "([^"]*)\")"));
  } else if (group == 1 && id == 0) {
    auto state = DecodeImageStateResponse(payload);
    ASSERT_TRUE(state.ok()) << state.error().message();
    // Each image entry of the capture, in order.
    std::regex entry(
        R"re("slot": (\d+), "version": "([^"]+)", "hash": h'([0-9a-f]+)', "bootable": (\w+), "pending": (\w+), "confirmed": (\w+), "active": (\w+), "permanent": (\w+))re");
    size_t i = 0;
    for (auto it = std::sregex_iterator(diag.begin(), diag.end(), entry);
         it != std::sregex_iterator(); ++it, ++i) {
      ASSERT_LT(i, state->size());
      const auto& m = *it;
      const ImageSlotState& s = (*state)[i];
      EXPECT_EQ(std::to_string(s.slot), m[1]);
      EXPECT_EQ(s.version, m[2]);
      EXPECT_EQ(s.hash, FromHex(m[3].str()));
      EXPECT_EQ(s.bootable, m[4] == "true");
      EXPECT_EQ(s.pending, m[5] == "true");
      EXPECT_EQ(s.confirmed, m[6] == "true");
      EXPECT_EQ(s.active, m[7] == "true");
      EXPECT_EQ(s.permanent, m[8] == "true");
    }
    EXPECT_EQ(i, state->size());
    EXPECT_GT(i, 0u);
  } else if (group == 1 && id == 1) {
    auto up = DecodeUploadResponse(payload);
    ASSERT_TRUE(up.ok()) << up.error().message();
    EXPECT_EQ(std::to_string(up->off), Match(diag, R"("off": (\d+))"));
    EXPECT_FALSE(up->match.has_value());  // the captured servers had no image check
  } else if (group == 1 && id == 5) {
    EXPECT_EQ(diag.find(':'), std::string::npos) << "erase success is an empty map";
  } else if (group == 0 && id == 5) {
    EXPECT_EQ(diag.find(':'), std::string::npos) << "reset success is an empty map";
  } else {
    return;  // no typed decoder in the client for this command (yet)
  }
  ++out.typed;
}

void ReplayFile(const char* file, int min_typed, int min_errors) {
  auto captures =
      nlohmann::json::parse(smpkit::testing::ReadVectorText(std::string("smp/") + file));
  ASSERT_TRUE(captures.is_array());
  Outcome out;
  for (const auto& c : captures) CheckCase(c, out);
  std::printf("%s: %d exchanges, %d decoded with typed decoders, %d error answers\n", file,
              out.total, out.typed, out.errors);
  EXPECT_GE(out.typed, min_typed);
  EXPECT_GE(out.errors, min_errors);
}

TEST(CaptureParseTest, Zephyr34AnswersDecode) { ReplayFile("zephyr-3.4-captures.json", 30, 25); }
TEST(CaptureParseTest, Zephyr41AnswersDecode) { ReplayFile("zephyr-4.1-captures.json", 30, 25); }

}  // namespace
}  // namespace smpkit::client
