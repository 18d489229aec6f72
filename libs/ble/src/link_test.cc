#include "smpkit/ble/link.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "smpkit/ble/gatt_smp.h"

namespace smpkit::ble {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(PhyTest, AirTimesMatchCoreSpecMaxima) {
  // Core spec Vol 6 Part B 4.5.10: max TX times for 251 octets + MIC and 27 octets + MIC.
  EXPECT_EQ(PduAirTime(Phy::k1M, 251, true), microseconds(2120));
  EXPECT_EQ(PduAirTime(Phy::k2M, 251, true), microseconds(1064));
  EXPECT_EQ(PduAirTime(Phy::kCodedS8, 251, true), microseconds(17040));
  EXPECT_EQ(PduAirTime(Phy::k1M, 27, true), microseconds(328));
  EXPECT_EQ(PduAirTime(Phy::k1M, 27, false), microseconds(296));
  EXPECT_EQ(PduAirTime(Phy::kCodedS8, 27, true), microseconds(2704));
  EXPECT_EQ(PduAirTime(Phy::k1M, 0, true), microseconds(80));  // empty PDU: no MIC
}

TEST(ConnParamsTest, Validation) {
  EXPECT_TRUE(ValidateConnParams({6, 99, 400}).ok());
  EXPECT_FALSE(ValidateConnParams({5, 0, 400}).ok());
  EXPECT_FALSE(ValidateConnParams({6, 500, 3200}).ok());
  // 4 s is not above (1 + 299) * 7.5 ms * 2 = 4.5 s.
  auto st = ValidateConnParams({6, 299, 400});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("supervision timeout"), std::string_view::npos);
}

struct Fixture {
  explicit Fixture(LinkConfig cfg) : link(sched, cfg) {
    link.SetEventObserver([this](const EventRecord& r) { events.push_back(r); });
    link.AddDisconnectListener([this](uint8_t reason) {
      disconnect_reason = reason;
      disconnect_time = sched.Now();
    });
    link.SetChannelHandler(Role::kPeripheral, 0x0040, [this](ConstByteSpan p) {
      at_peripheral.emplace_back(p.begin(), p.end());
      peripheral_rx_times.push_back(sched.Now());
    });
    link.SetChannelHandler(Role::kCentral, 0x0040, [this](ConstByteSpan p) {
      at_central.emplace_back(p.begin(), p.end());
    });
  }
  sim::Scheduler sched{7};
  Link link;
  std::vector<EventRecord> events;
  std::vector<std::vector<uint8_t>> at_peripheral, at_central;
  std::vector<sim::Time> peripheral_rx_times;
  std::optional<uint8_t> disconnect_reason;
  sim::Time disconnect_time{0};
};

LinkConfig Basic() {
  LinkConfig cfg;
  cfg.params = {6, 0, 400};
  return cfg;
}

TEST(LinkTest, L2capPduIsFragmentedAndReassembledIntact) {
  Fixture f(Basic());
  ASSERT_TRUE(f.link.Connect().ok());
  std::vector<uint8_t> big(300);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  ASSERT_TRUE(f.link.SendL2cap(Role::kCentral, 0x0040, big).ok());
  const uint8_t small[] = {1, 2, 3};
  ASSERT_TRUE(f.link.SendL2cap(Role::kPeripheral, 0x0040, small).ok());
  f.sched.RunUntilIdle();
  ASSERT_EQ(f.at_peripheral.size(), 1u);
  EXPECT_EQ(f.at_peripheral[0], big);
  ASSERT_EQ(f.at_central.size(), 1u);
  EXPECT_EQ(f.at_central[0], std::vector<uint8_t>(small, small + 3));
  // 304 octets with the L2CAP header in 27-octet PDUs: 12 PDUs.
  EXPECT_EQ(f.link.stats().central_data_pdus, 12u);
}

TEST(LinkTest, AclBufferCountLimitsPdusPerEventWithoutRefill) {
  LinkConfig cfg = Basic();
  cfg.phy = Phy::k2M;
  cfg.data_length = 251;
  cfg.central.host_refill_delay = milliseconds(100);  // the host refills only between events
  Fixture f(cfg);
  ASSERT_TRUE(f.link.Connect().ok());
  std::vector<uint8_t> data(1000);
  ASSERT_TRUE(f.link.SendL2cap(Role::kCentral, 0x0040, data).ok());  // 1004 octets: 4 PDUs
  f.sched.RunUntilIdle();
  ASSERT_FALSE(f.events.empty());
  EXPECT_EQ(f.events[0].central_data_pdus, 3u);
  ASSERT_EQ(f.at_peripheral.size(), 1u);
}

TEST(LinkTest, MaxPdusPerEventAndEventLength) {
  LinkConfig cfg = Basic();
  cfg.params.interval = 24;  // 30 ms
  cfg.phy = Phy::k2M;
  cfg.data_length = 251;
  cfg.central.max_pdus_per_event = 2;
  Fixture f(cfg);
  ASSERT_TRUE(f.link.Connect().ok());
  std::vector<uint8_t> data(2000);
  ASSERT_TRUE(f.link.SendL2cap(Role::kCentral, 0x0040, data).ok());
  f.sched.RunUntilIdle();
  for (const auto& e : f.events) EXPECT_LE(e.central_data_pdus, 2u);

  cfg.central.max_pdus_per_event = 0;
  cfg.central.max_event_length = microseconds(3000);  // two 1392-us exchanges fit
  Fixture g(cfg);
  ASSERT_TRUE(g.link.Connect().ok());
  ASSERT_TRUE(g.link.SendL2cap(Role::kCentral, 0x0040, data).ok());
  g.sched.RunUntilIdle();
  EXPECT_EQ(g.events[0].central_data_pdus, 2u);
  EXPECT_LE(g.events[0].end - g.events[0].anchor, microseconds(3000));
}

TEST(LinkTest, IdlePeripheralListensOnlyEveryLatencyPlusOneEvents) {
  LinkConfig cfg = Basic();
  cfg.params = {6, 9, 400};  // listens every 10th event = 75 ms
  Fixture f(cfg);
  ASSERT_TRUE(f.link.Connect().ok());
  f.sched.RunFor(milliseconds(1000));
  std::vector<uint16_t> attended;
  for (const auto& e : f.events) {
    if (e.peripheral_attended) attended.push_back(e.counter);
  }
  ASSERT_GE(attended.size(), 10u);
  for (size_t i = 1; i < attended.size(); ++i) EXPECT_EQ(attended[i] - attended[i - 1], 10);
}

TEST(LinkTest, PeripheralWithDataWakesAtTheNextEvent) {
  LinkConfig cfg = Basic();
  cfg.params = {6, 99, 400};
  Fixture f(cfg);
  ASSERT_TRUE(f.link.Connect().ok());
  f.sched.RunFor(milliseconds(3003));
  const sim::Time sent = f.sched.Now();
  const uint8_t b[] = {0x55};
  ASSERT_TRUE(f.link.SendL2cap(Role::kPeripheral, 0x0040, b).ok());
  f.sched.RunUntilIdle();
  ASSERT_EQ(f.at_central.size(), 1u);
  EXPECT_LE(f.sched.Now() - sent, milliseconds(15));  // the next anchor, not up to 750 ms
}

TEST(LinkTest, StrictVersusCancelledOnReceive) {
  // A request/response ping-pong after an idle period, latency 99 at 7.5 ms.
  for (LatencyMode mode : {LatencyMode::kStrict, LatencyMode::kCancelledOnReceive}) {
    LinkConfig cfg = Basic();
    cfg.params = {6, 99, 400};
    cfg.peripheral.latency_mode = mode;
    Fixture f(cfg);
    // The peripheral answers each request at once; the central sends the next on reply.
    int round_trips = 0;
    f.link.SetChannelHandler(Role::kPeripheral, 0x0041, [&](ConstByteSpan p) {
      (void)f.link.SendL2cap(Role::kPeripheral, 0x0041, p);
    });
    f.link.SetChannelHandler(Role::kCentral, 0x0041, [&](ConstByteSpan p) {
      if (++round_trips < 10) (void)f.link.SendL2cap(Role::kCentral, 0x0041, p);
    });
    ASSERT_TRUE(f.link.Connect().ok());
    f.sched.RunFor(milliseconds(2000));
    const sim::Time start = f.sched.Now();
    const uint8_t b[] = {1};
    ASSERT_TRUE(f.link.SendL2cap(Role::kCentral, 0x0041, b).ok());
    f.sched.RunUntilIdle();
    EXPECT_EQ(round_trips, 10);
    const sim::Duration took = f.sched.Now() - start;
    if (mode == LatencyMode::kStrict) {
      // Every request after a reply waits for the next listening event: 100 events each.
      EXPECT_GE(took, 9 * 100 * microseconds(7500));
    } else {
      // Only the first request waits; then one round trip per 2 events.
      EXPECT_LE(took, 100 * microseconds(7500) + 10 * 2 * microseconds(7500) + milliseconds(1));
    }
  }
}

TEST(LinkTest, ParameterUpdateTakesEffectAtTheInstant) {
  LinkConfig cfg = Basic();
  cfg.params = {6, 0, 400};
  Fixture f(cfg);
  std::vector<std::pair<sim::Time, ConnParams>> updates;
  f.link.SetOnParamsUpdated([&](const ConnParams& p) { updates.emplace_back(f.sched.Now(), p); });
  std::optional<bool> accepted;
  ASSERT_TRUE(f.link.Connect().ok());
  f.sched.RunFor(milliseconds(100));
  ASSERT_TRUE(f.link.RequestConnParamUpdate({12, 12, 4, 500}, [&](bool a) { accepted = a; }).ok());
  f.sched.RunUntilIdle();
  f.sched.RunFor(milliseconds(500));
  ASSERT_TRUE(accepted.has_value());
  EXPECT_TRUE(*accepted);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].second, (ConnParams{12, 4, 500}));
  EXPECT_EQ(f.link.params(), (ConnParams{12, 4, 500}));
  // Find the event that carried LL_CONNECTION_UPDATE_IND: the last one before the instant
  // with 7.5 ms spacing. The instant is 6 events after the event following the request.
  size_t first_new = 0;
  for (size_t i = 1; i < f.events.size(); ++i) {
    if (f.events[i].anchor - f.events[i - 1].anchor == milliseconds(15)) {
      first_new = i;
      break;
    }
  }
  ASSERT_GT(first_new, 0u);
  // The instant event itself still follows the old interval; the next uses 15 ms.
  const uint16_t instant = f.events[first_new - 1].counter;
  EXPECT_EQ(f.events[first_new - 1].anchor - f.events[first_new - 2].anchor, microseconds(7500));
  EXPECT_EQ(updates[0].first, f.events[first_new - 1].anchor);
  // The central queued the IND after receiving the request in some event k; instant = k+1+6.
  size_t request_event = 0;
  for (size_t i = 0; i < f.events.size(); ++i) {
    if (f.events[i].peripheral_data_pdus > 0) {
      request_event = i;
      break;
    }
  }
  EXPECT_EQ(instant, f.events[request_event].counter + 1 + 6);
}

TEST(LinkTest, CentralPolicyCanReject) {
  Fixture f(Basic());
  f.link.SetCentralPolicy([](const ConnParamRequest&) { return std::nullopt; });
  std::optional<bool> accepted;
  ASSERT_TRUE(f.link.Connect().ok());
  ASSERT_TRUE(f.link.RequestConnParamUpdate({12, 12, 0, 400}, [&](bool a) { accepted = a; }).ok());
  f.sched.RunUntilIdle();
  ASSERT_TRUE(accepted.has_value());
  EXPECT_FALSE(*accepted);
  EXPECT_EQ(f.link.params(), (ConnParams{6, 0, 400}));
}

TEST(LinkTest, LinkLossEndsAfterSupervisionTimeout) {
  LinkConfig cfg = Basic();
  cfg.params = {6, 0, 100};  // 1 s
  Fixture f(cfg);
  ASSERT_TRUE(f.link.Connect().ok());
  f.sched.RunFor(milliseconds(500));
  const sim::Time blocked_at = f.sched.Now();
  f.link.SetChannelBlocked(true);
  f.sched.RunFor(milliseconds(3000));
  ASSERT_TRUE(f.disconnect_reason.has_value());
  EXPECT_EQ(*f.disconnect_reason, kReasonConnectionTimeout);
  EXPECT_FALSE(f.link.connected());
  EXPECT_GE(f.disconnect_time - blocked_at, milliseconds(1000));
  EXPECT_LE(f.disconnect_time - blocked_at, milliseconds(1000) + microseconds(7500 * 2));
  EXPECT_FALSE(f.link.SendL2cap(Role::kCentral, 0x40, std::vector<uint8_t>{1}).ok());
}

TEST(LinkTest, PacketErrorsRetransmitWithoutLossOfData) {
  LinkConfig cfg = Basic();
  cfg.packet_error_rate = 0.2;
  Fixture f(cfg);
  ASSERT_TRUE(f.link.Connect().ok());
  std::vector<uint8_t> data(2000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(f.link.SendL2cap(Role::kCentral, 0x0040, data).ok());
  f.sched.RunUntilIdle();
  ASSERT_EQ(f.at_peripheral.size(), 1u);
  EXPECT_EQ(f.at_peripheral[0], data);
  EXPECT_GT(f.link.stats().lost_pdus, 0u);
}

TEST(LinkTest, DisconnectByPeer) {
  Fixture f(Basic());
  ASSERT_TRUE(f.link.Connect().ok());
  ASSERT_TRUE(f.link.Disconnect(Role::kCentral, kReasonRemoteUserTerminated).ok());
  f.sched.RunUntilIdle();
  ASSERT_TRUE(f.disconnect_reason.has_value());
  EXPECT_EQ(*f.disconnect_reason, kReasonRemoteUserTerminated);
}

TEST(LinkTest, ProcessingPausesAroundRadioEvents) {
  LinkConfig cfg = Basic();  // 7.5 ms, every event attended
  cfg.radio_guard_before = microseconds(2000);
  cfg.radio_guard_after = microseconds(500);
  Fixture f(cfg);
  ASSERT_TRUE(f.link.Connect().ok());
  f.sched.RunFor(milliseconds(100));
  const sim::Time start = f.sched.Now();
  const LinkStats before = f.link.stats();
  sim::Time done_at{0};
  LinkStats at_done;
  f.link.RunBetweenRadioEvents(milliseconds(25), [&] {
    done_at = f.sched.Now();
    at_done = f.link.stats();
  });
  f.sched.RunUntilIdle();
  // Each 7.5 ms interval leaves 7.5 - 2.0 - 0.5 - ~0.16 (empty exchange) < 5 ms: 25 ms of
  // work needs more than 5 intervals of wall time.
  EXPECT_GT(done_at - start, milliseconds(35));
  EXPECT_LT(done_at - start, milliseconds(50));
  // The time budget: exactly the work was done, and the rest of the time went to radio
  // events with their guards (the last one may still be open when the work ends).
  EXPECT_EQ(at_done.processing - before.processing, milliseconds(25));
  const sim::Duration radio = at_done.radio_guarded - before.radio_guarded;
  EXPECT_GT(radio, (done_at - start) - milliseconds(25) - milliseconds(8));
  EXPECT_LE(radio, (done_at - start) - milliseconds(25));

  // Without a connection it takes exactly its own time.
  sim::Scheduler s;
  Link idle(s, cfg);
  sim::Time t{0};
  idle.RunBetweenRadioEvents(milliseconds(25), [&] { t = s.Now(); });
  s.RunUntilIdle();
  EXPECT_EQ(t, milliseconds(25));
}

TEST(LinkTest, RejectsBadConfiguration) {
  sim::Scheduler s;
  LinkConfig cfg = Basic();
  cfg.data_length = 20;
  Link a(s, cfg);
  EXPECT_FALSE(a.Connect().ok());
  cfg = Basic();
  cfg.phy = Phy::kCodedS8;
  cfg.data_length = 251;  // 17 ms PDUs do not fit a 7.5 ms interval
  Link b(s, cfg);
  auto st = b.Connect();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kInvalidArgument);
}

// ---- GATT SMP service ----

TEST(GattSmpTest, UuidsInAttByteOrder) {
  auto svc = ParseUuid128(kSmpServiceUuid);
  ASSERT_TRUE(svc.ok());
  const std::array<uint8_t, 16> expect = {0x84, 0xAA, 0x60, 0x74, 0x52, 0x8A, 0x8B, 0x86,
                                          0xD3, 0x4C, 0xB7, 0x1D, 0x1D, 0xDC, 0x53, 0x8D};
  EXPECT_EQ(*svc, expect);
  auto chr = ParseUuid128(kSmpCharacteristicUuid);
  ASSERT_TRUE(chr.ok());
  EXPECT_EQ((*chr)[15], 0xDA);
  EXPECT_EQ((*chr)[0], 0x48);
  EXPECT_FALSE(ParseUuid128("8D53DC1D-1DB7-4CD3-868B-8A527460AA8").ok());
  EXPECT_FALSE(ParseUuid128("8D53DC1D-1DB7-4CD3-868B-8A527460AA8G").ok());
}

struct GattFixture {
  explicit GattFixture(uint16_t server_mtu = 498, uint16_t client_mtu = 498)
      : link(sched, Cfg()), server(link, server_mtu), client(link, client_mtu) {
    server.SetWriteHandler([this](ConstByteSpan v) { writes.emplace_back(v.begin(), v.end()); });
    client.SetNotificationHandler(
        [this](ConstByteSpan v) { notifications.emplace_back(v.begin(), v.end()); });
  }
  static LinkConfig Cfg() {
    LinkConfig c;
    c.phy = Phy::k2M;
    c.data_length = 251;
    return c;
  }
  sim::Scheduler sched;
  Link link;
  GattSmpServer server;
  GattSmpClient client;
  std::vector<std::vector<uint8_t>> writes, notifications;
};

TEST(GattSmpTest, MtuExchangeAgreesOnTheSmaller) {
  GattFixture f(247, 498);
  ASSERT_TRUE(f.link.Connect().ok());
  uint16_t got = 0;
  ASSERT_TRUE(f.client.ExchangeMtu([&](uint16_t m) { got = m; }).ok());
  EXPECT_EQ(f.client.ExchangeMtu().error().code(), Errc::kBusy);
  f.sched.RunUntilIdle();
  EXPECT_EQ(got, 247);
  EXPECT_EQ(f.client.mtu(), 247);
  EXPECT_EQ(f.server.mtu(), 247);
  EXPECT_EQ(f.client.max_write(), 244u);
}

// A phone detaches (its GATT client goes) while the link lives on: what the link still
// delivers (a notification, the disconnection) must not reach the gone client. Under the
// sanitizers (the fuzz build) a use after free fails this test.
TEST(GattSmpTest, ALinkOutlivesItsGattClient) {
  GattFixture f;
  ASSERT_TRUE(f.link.Connect().ok());
  auto phone = std::make_unique<GattSmpClient>(f.link, 247);
  bool enabled = false;
  ASSERT_TRUE(phone->SetNotifications(true, [&] { enabled = true; }).ok());
  f.sched.RunUntilIdle();
  ASSERT_TRUE(enabled);
  phone.reset();
  const uint8_t rsp[] = {1, 2, 3};
  ASSERT_TRUE(f.server.Notify(rsp).ok());  // reaches the link's central side, nobody there
  f.sched.RunFor(milliseconds(100));
  ASSERT_TRUE(f.link.Disconnect(Role::kCentral).ok());
  f.sched.RunFor(milliseconds(100));
  EXPECT_FALSE(f.link.connected());
  EXPECT_TRUE(f.notifications.empty());  // the fixture's client was replaced on the channel
}

TEST(GattSmpTest, NotificationsDroppedUntilCccEnabled) {
  GattFixture f;
  ASSERT_TRUE(f.link.Connect().ok());
  const uint8_t rsp[] = {1, 2, 3};
  auto st = f.server.Notify(rsp);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kBadState);
  EXPECT_EQ(f.server.dropped_notifications(), 1u);
  f.sched.RunFor(milliseconds(100));
  EXPECT_TRUE(f.notifications.empty());

  bool enabled = false;
  ASSERT_TRUE(f.client.SetNotifications(true, [&] { enabled = true; }).ok());
  f.sched.RunUntilIdle();
  EXPECT_TRUE(enabled);
  EXPECT_TRUE(f.server.notifications_enabled());
  ASSERT_TRUE(f.server.Notify(rsp).ok());
  f.sched.RunUntilIdle();
  ASSERT_EQ(f.notifications.size(), 1u);
  EXPECT_EQ(f.notifications[0], std::vector<uint8_t>(rsp, rsp + 3));

  ASSERT_TRUE(f.client.SetNotifications(false).ok());
  f.sched.RunUntilIdle();
  EXPECT_FALSE(f.server.Notify(rsp).ok());
  EXPECT_EQ(f.server.dropped_notifications(), 2u);
}

TEST(GattSmpTest, WritesLimitedToMtuMinusThreeAndDeliveredInOrder) {
  GattFixture f;
  ASSERT_TRUE(f.link.Connect().ok());
  std::vector<uint8_t> twenty(20, 0x11), twentyone(21, 0x22);
  EXPECT_TRUE(f.client.WriteWithoutResponse(twenty).ok());  // default MTU 23
  EXPECT_EQ(f.client.WriteWithoutResponse(twentyone).error().code(), Errc::kInvalidArgument);
  ASSERT_TRUE(f.client.ExchangeMtu().ok());
  f.sched.RunUntilIdle();
  std::vector<uint8_t> big(495, 0x33);
  EXPECT_TRUE(f.client.WriteWithoutResponse(big).ok());
  EXPECT_FALSE(f.client.WriteWithoutResponse(std::vector<uint8_t>(496)).ok());
  f.sched.RunUntilIdle();
  ASSERT_EQ(f.writes.size(), 2u);
  EXPECT_EQ(f.writes[0], twenty);
  EXPECT_EQ(f.writes[1], big);
}

TEST(GattSmpTest, CccAndMtuResetOnDisconnect) {
  GattFixture f;
  ASSERT_TRUE(f.link.Connect().ok());
  ASSERT_TRUE(f.client.ExchangeMtu([&](uint16_t) { (void)f.client.SetNotifications(true); }).ok());
  f.sched.RunUntilIdle();
  ASSERT_TRUE(f.server.notifications_enabled());
  ASSERT_TRUE(f.link.Disconnect(Role::kCentral).ok());
  f.sched.RunUntilIdle();
  EXPECT_FALSE(f.server.notifications_enabled());
  EXPECT_EQ(f.server.mtu(), kAttDefaultMtu);
  EXPECT_EQ(f.client.mtu(), kAttDefaultMtu);
}

}  // namespace
}  // namespace smpkit::ble
