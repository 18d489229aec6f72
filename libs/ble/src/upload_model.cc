#include "smpkit/ble/upload_model.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "smpkit/ble/gatt_smp.h"

namespace smpkit::ble {

Result<UploadResult> SimulateUpload(const UploadScenario& sc) {
  if (sc.chunk_data == 0 || sc.word_size == 0 || sc.window == 0) {
    return Error(Errc::kInvalidArgument, "chunk_data, word_size and window must be non-zero");
  }
  sim::Scheduler sched(sc.seed);
  Link link(sched, sc.link);
  GattSmpServer server(link, sc.att_mtu);
  GattSmpClient client(link, sc.att_mtu);
  std::optional<uint8_t> dropped;
  link.AddDisconnectListener([&](uint8_t reason) { dropped = reason; });
  SMPKIT_TRY(link.Connect());

  bool ready = false;
  SMPKIT_TRY(client.ExchangeMtu(
      [&](uint16_t) { (void)client.SetNotifications(true, [&] { ready = true; }); }));
  if (!sched.RunUntilCondition([&] { return ready || dropped; }, sched.Now() + sc.give_up_after) ||
      dropped) {
    return Error(Errc::kIo, "link setup (MTU exchange, CCC) did not complete");
  }
  sched.RunFor(sc.idle_before_start);

  const size_t total_requests = (sc.image_size + sc.chunk_data - 1) / sc.chunk_data;
  size_t sent = 0;
  size_t answered = 0;
  size_t received = 0;  // octets of the current request seen by the peripheral
  size_t current_len = 0;
  size_t current_data = 0;
  size_t arrived = 0;  // requests the peripheral has received whole
  std::vector<uint8_t> buf;
  std::optional<Error> failure;

  auto send_next = [&] {
    const size_t data = std::min(sc.chunk_data, sc.image_size - sent * sc.chunk_data);
    buf.assign(data + sc.request_overhead, 0);
    const size_t max = client.max_write();
    for (size_t off = 0; off < buf.size(); off += max) {
      const size_t n = std::min(max, buf.size() - off);
      auto st = client.WriteWithoutResponse(ConstByteSpan(buf).subspan(off, n));
      if (!st.ok()) failure = st.error();
    }
    ++sent;
  };
  server.SetWriteHandler([&](ConstByteSpan value) {
    if (received == 0) {
      current_data = std::min(sc.chunk_data, sc.image_size - arrived * sc.chunk_data);
      current_len = current_data + sc.request_overhead;
    }
    received += value.size();
    if (received < current_len) return;
    received = 0;
    ++arrived;
    const size_t words = (current_data + sc.word_size - 1) / sc.word_size;
    if (arrived == 1 && sc.erase_pages > 0) {
      link.RunBetweenRadioEvents(sc.page_erase_time * static_cast<int64_t>(sc.erase_pages), {},
                                 sc.erase_step);
    }
    const sim::Duration work =
        sc.word_write_time * static_cast<int64_t>(words) + sc.per_request_cpu;
    link.RunBetweenRadioEvents(work, [&] {
      const std::vector<uint8_t> rsp(sc.response_size, 0);
      auto st = server.Notify(rsp);
      if (!st.ok()) failure = st.error();
    });
  });
  sim::Time start{0};
  sim::Time first_answer{-1};
  client.SetNotificationHandler([&](ConstByteSpan) {
    if (answered == 0) first_answer = sched.Now();
    ++answered;
    if (sent < total_requests) send_next();
  });

  start = sched.Now();
  while (sent < std::min(sc.window, total_requests)) send_next();
  const bool done = sched.RunUntilCondition(
      [&] { return answered == total_requests || dropped || failure; }, start + sc.give_up_after);
  if (failure) return *failure;
  if (dropped) return Error::Format(Errc::kIo, "link dropped (reason 0x%02x)", *dropped);
  if (!done) {
    return Error::Format(Errc::kTimeout, "upload not finished after %.0f s (%zu/%zu answered)",
                         sim::ToSeconds(sc.give_up_after), answered, total_requests);
  }
  UploadResult r;
  r.elapsed = sched.Now() - start;
  r.first_response = first_answer - start;
  r.requests = total_requests;
  r.bytes_per_second = static_cast<double>(sc.image_size) / sim::ToSeconds(r.elapsed);
  r.stats = link.stats();
  return r;
}

}  // namespace smpkit::ble
