// MCUboot image sign/verify throughput on a 1 MiB body (hash-only, ECDSA P-256, Ed25519).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "smpkit/mcuboot/image.h"
#include "smpkit/mcuboot/image_create.h"
#include "smpkit/mcuboot/keys.h"

namespace {

namespace mb = smpkit::mcuboot;

constexpr size_t kBodySize = 1 << 20;

std::vector<uint8_t> Body() {
  std::vector<uint8_t> body(kBodySize);
  uint32_t x = 0x12345678;
  for (uint8_t& b : body) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return body;
}

// key_type < 0: hash only.
std::optional<mb::PrivateKey> MakeKey(int key_type) {
  if (key_type < 0) return std::nullopt;
  auto k = mb::PrivateKey::Generate(static_cast<mb::KeyType>(key_type));
  if (!k.ok()) std::abort();
  return std::move(k).value();
}

mb::CreateOptions Options(const mb::PrivateKey* key) {
  mb::CreateOptions o;
  o.header_size = 0x200;
  o.pad_header = true;
  o.align = 4;
  o.version = {1, 2, 3, 4};
  o.key = key;
  return o;
}

void BM_Sign(benchmark::State& state) {
  auto key = MakeKey(static_cast<int>(state.range(0)));
  auto body = Body();
  mb::CreateOptions o = Options(key ? &*key : nullptr);
  for (auto _ : state) {
    auto img = mb::CreateImage(body, o);
    if (!img.ok()) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(img);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kBodySize);
}

void BM_Verify(benchmark::State& state) {
  auto key = MakeKey(static_cast<int>(state.range(0)));
  auto body = Body();
  auto img = mb::CreateImage(body, Options(key ? &*key : nullptr));
  if (!img.ok()) std::abort();
  std::optional<mb::PublicKey> pub;
  if (key) pub = *key->Public();
  for (auto _ : state) {
    auto parsed = mb::Parse(*img);
    if (!parsed.ok()) state.SkipWithError("parse failed");
    auto r = mb::Verify(*parsed, pub ? &*pub : nullptr);
    if (!r.ok()) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kBodySize);
}

void Args(benchmark::internal::Benchmark* b) {
  b->ArgName("key")->Unit(benchmark::kMillisecond);
  b->Arg(-1);  // hash only
  b->Arg(static_cast<int>(mb::KeyType::kEcdsaP256));
  b->Arg(static_cast<int>(mb::KeyType::kEd25519));
}

}  // namespace

// key=-1 hash only, key=0 ECDSA P-256, key=2 Ed25519 (mb::KeyType values).
BENCHMARK(BM_Sign)->Apply(Args);
BENCHMARK(BM_Verify)->Apply(Args);
