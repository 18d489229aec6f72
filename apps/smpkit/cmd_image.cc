// `smpkit image sign|create|verify|info|keygen|getpub`: MCUboot image files, with imgtool's
// flag names (shared/spec/mcuboot.md §7.1). Files only, no device connection.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mcuboot/image_create.h"
#include "smpkit/mcuboot/image_info.h"
#include "smpkit/mcuboot/keys.h"

namespace smpkit::cli {
namespace {

namespace mb = smpkit::mcuboot;

// Prints one line on stderr and returns the exit code.
int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "smpkit image: %s\n", message.c_str());
  return code;
}

std::string Msg(const Error& e) { return std::string(e.message()); }

bool ReadFile(const std::string& path, std::vector<uint8_t>* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

bool WriteFile(const std::string& path, const void* data, size_t size, std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// Decimal or 0x-hex number within [0, max]; imgtool accepts both.
bool ParseNumber(const std::string& text, uint64_t max, uint64_t* out) {
  if (text.empty() || text[0] == '-' || text[0] == '+') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

struct SignArgs {
  std::string infile, outfile, key_file, version = "0", security_counter, dependencies;
  std::string header_size = "0x20", align = "1", max_align, slot_size = "0", max_sectors = "128",
              load_addr, rom_fixed, erased_val = "0xff";
  std::string public_key_format = "hash", sha = "auto";
  bool pad_header = false, pad = false, confirm = false, test = false, overwrite_only = false,
       non_bootable = false;
};

int RunSign(const SignArgs& a) {
  mb::CreateOptions o;
  auto num = [](const std::string& text, const char* flag, uint64_t max, uint64_t* out) -> bool {
    if (ParseNumber(text, max, out)) return true;
    std::fprintf(stderr, "smpkit image: bad %s value \"%s\"\n", flag, text.c_str());
    return false;
  };
  uint64_t v = 0;
  if (!num(a.header_size, "--header-size", 0xFFFF, &v)) return kExitUsage;
  o.header_size = static_cast<uint16_t>(v);
  if (!num(a.align, "--align", 32, &v)) return kExitUsage;
  o.align = static_cast<uint32_t>(v);
  if (!a.max_align.empty()) {
    if (!num(a.max_align, "--max-align", 32, &v)) return kExitUsage;
    o.max_align = static_cast<uint32_t>(v);
  }
  if (!num(a.slot_size, "--slot-size", 0xFFFFFFFF, &v)) return kExitUsage;
  o.slot_size = static_cast<uint32_t>(v);
  if (!num(a.max_sectors, "--max-sectors", 0xFFFF, &v)) return kExitUsage;
  o.max_sectors = static_cast<uint32_t>(v);
  if (!a.load_addr.empty()) {
    if (!num(a.load_addr, "--load-addr", 0xFFFFFFFF, &v)) return kExitUsage;
    o.load_addr = static_cast<uint32_t>(v);
  }
  if (!a.rom_fixed.empty()) {
    if (!num(a.rom_fixed, "--rom-fixed", 0xFFFFFFFF, &v)) return kExitUsage;
    o.rom_fixed = static_cast<uint32_t>(v);
  }
  if (!num(a.erased_val, "--erased-val", 0xFF, &v) || (v != 0 && v != 0xFF)) {
    return Fail(kExitUsage, "--erased-val must be 0 or 0xff");
  }
  o.erased_val = static_cast<uint8_t>(v);
  auto version = mb::ImageVersion::Parse(a.version);
  if (!version.ok()) return Fail(kExitUsage, Msg(version.error()));
  o.version = *version;
  if (a.security_counter == "auto") {
    o.security_counter = mb::AutoSecurityCounter(o.version);
  } else if (!a.security_counter.empty()) {
    if (!num(a.security_counter, "--security-counter", 0xFFFFFFFF, &v)) return kExitUsage;
    o.security_counter = static_cast<uint32_t>(v);
  }
  if (!a.dependencies.empty()) {
    auto deps = mb::ParseDependencies(a.dependencies);
    if (!deps.ok()) return Fail(kExitUsage, Msg(deps.error()));
    o.dependencies = *deps;
  }
  o.pad_header = a.pad_header;
  o.pad = a.pad || a.test;
  o.confirm = a.confirm;
  o.overwrite_only = a.overwrite_only;
  o.non_bootable = a.non_bootable;
  if (a.public_key_format != "hash" && a.public_key_format != "full") {
    return Fail(kExitUsage, "--public-key-format must be hash or full");
  }
  o.public_key_full = a.public_key_format == "full";

  std::string err;
  std::optional<mb::PrivateKey> key;
  if (!a.key_file.empty()) {
    std::vector<uint8_t> pem;
    if (!ReadFile(a.key_file, &pem, &err)) return Fail(kExitBadInput, err);
    auto k = mb::PrivateKey::FromPem(AsString(pem));
    if (!k.ok()) return Fail(kExitBadInput, a.key_file + ": " + Msg(k.error()));
    key = std::move(k).value();
    o.key = &*key;
  }
  // --sha auto: SHA-384 for P-384 keys, otherwise SHA-256 (imgtool's default).
  if (a.sha == "auto") {
    o.hash =
        key && key->type() == mb::KeyType::kEcdsaP384 ? mb::HashAlg::kSha384 : mb::HashAlg::kSha256;
  } else if (a.sha == "256") {
    o.hash = mb::HashAlg::kSha256;
  } else if (a.sha == "384") {
    o.hash = mb::HashAlg::kSha384;
  } else if (a.sha == "512") {
    o.hash = mb::HashAlg::kSha512;
  } else {
    return Fail(kExitUsage, "--sha must be auto, 256, 384 or 512");
  }

  std::vector<uint8_t> payload;
  if (!ReadFile(a.infile, &payload, &err)) return Fail(kExitBadInput, err);
  auto image = mb::CreateImage(payload, o);
  if (!image.ok()) {
    int code = image.error().code() == Errc::kCrypto ? kExitFailure : kExitBadInput;
    return Fail(code, Msg(image.error()));
  }
  if (!WriteFile(a.outfile, image->data(), image->size(), &err)) return Fail(kExitBadInput, err);
  return kExitOk;
}

std::string Hex(ConstByteSpan b) {
  std::string s;
  char buf[3];
  for (uint8_t c : b) {
    std::snprintf(buf, sizeof(buf), "%02x", c);
    s += buf;
  }
  return s;
}

int RunVerify(const std::string& file, const std::string& key_file, bool json) {
  std::string err;
  std::optional<mb::PublicKey> key;
  if (!key_file.empty()) {
    std::vector<uint8_t> pem;
    if (!ReadFile(key_file, &pem, &err)) return Fail(kExitBadInput, err);
    auto k = mb::PublicKey::FromPem(AsString(pem));
    if (!k.ok()) return Fail(kExitBadInput, key_file + ": " + Msg(k.error()));
    key = std::move(k).value();
  }
  std::vector<uint8_t> data;
  if (!ReadFile(file, &data, &err)) return Fail(kExitBadInput, err);
  mb::ParseOptions opts;
  opts.strict = false;  // as imgtool verify; MCUboot-policy checks are for the device side
  auto img = mb::Parse(data, opts);
  if (!img.ok())
    return Fail(kExitBadInput, file + ": not a valid MCUboot image: " + Msg(img.error()));
  auto r = mb::Verify(*img, key ? &*key : nullptr);
  if (!r.ok()) return Fail(kExitFailure, file + ": verification failed: " + Msg(r.error()));
  if (json) {
    nlohmann::ordered_json j = {{"file", file},
                                {"ok", true},
                                {"version", r->version.ToString()},
                                {"hash", Hex(r->digest.view())},
                                {"signature", std::string(mb::SignatureTypeName(r->signature))}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "Image was correctly validated%s\n",
        key ? (" (" + std::string(mb::SignatureTypeName(r->signature)) + " signature)").c_str()
            : " (hash only)");
    std::printf("Image version: %s\n", r->version.ToImgtoolString().c_str());
    std::printf("Image digest: %s\n", Hex(r->digest.view()).c_str());
  }
  return kExitOk;
}

int RunInfo(const std::string& file, bool json) {
  std::vector<uint8_t> data;
  std::string err;
  if (!ReadFile(file, &data, &err)) return Fail(kExitBadInput, err);
  std::string name = std::filesystem::path(file).filename().string();
  auto out = json ? mb::ImageInfoJson(data, name) : mb::ImageInfoText(data, name);
  if (!out.ok())
    return Fail(kExitBadInput, file + ": not a valid MCUboot image: " + Msg(out.error()));
  std::fputs(out->c_str(), stdout);
  if (json) std::fputs("\n", stdout);
  return kExitOk;
}

int RunKeygen(const std::string& file, const std::string& type_name) {
  auto type = mb::ParseKeyType(type_name);
  if (!type.ok()) return Fail(kExitUsage, Msg(type.error()));
  auto key = mb::PrivateKey::Generate(*type);
  if (!key.ok()) return Fail(kExitFailure, Msg(key.error()));
  auto pem = key->ToPem();
  if (!pem.ok()) return Fail(kExitFailure, Msg(pem.error()));
  std::string err;
  if (!WriteFile(file, pem->data(), pem->size(), &err)) return Fail(kExitBadInput, err);
  std::error_code ec;  // private key: owner read/write only; best effort
  std::filesystem::permissions(
      file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace, ec);
  return kExitOk;
}

int RunGetpub(const std::string& file, const std::string& encoding) {
  if (encoding != "pem") return Fail(kExitUsage, "only --encoding pem is supported");
  std::vector<uint8_t> data;
  std::string err;
  if (!ReadFile(file, &data, &err)) return Fail(kExitBadInput, err);
  auto key = mb::PublicKey::FromPem(AsString(data));
  if (!key.ok()) return Fail(kExitBadInput, file + ": " + Msg(key.error()));
  auto pem = key->ToPem();
  if (!pem.ok()) return Fail(kExitFailure, Msg(pem.error()));
  std::fputs(pem->c_str(), stdout);
  return kExitOk;
}

}  // namespace

void RegisterImageCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  CLI::App* image = app.add_subcommand("image", "MCUboot image files: sign, verify, inspect, keys");
  image->require_subcommand(1);

  // Option storage must outlive parsing; the CLI app lives for the whole process.
  auto sign_args = std::make_shared<SignArgs>();
  for (const char* name : {"sign", "create"}) {
    CLI::App* sign = image->add_subcommand(name, std::string(name) == "sign"
                                                     ? "build (and sign) an image like imgtool sign"
                                                     : "alias of sign");
    SignArgs& a = *sign_args;
    // Like imgtool (click), a repeated option overrides the earlier one.
    sign->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    sign->add_option("-k,--key", a.key_file, "private key PEM; omit for a hash-only image");
    sign->add_option("-H,--header-size", a.header_size, "header size (default 0x20)");
    sign->add_flag("--pad-header", a.pad_header, "prepend header-size erased bytes");
    sign->add_option("--align", a.align, "flash write alignment: 1,2,4,8,16,32");
    sign->add_option("--max-align", a.max_align, "trailer field alignment (default max(8,align))");
    sign->add_option("-S,--slot-size", a.slot_size, "slot size; checks image+trailer fits");
    sign->add_option("-M,--max-sectors", a.max_sectors, "sectors in the swap status table");
    sign->add_option("-v,--version", a.version, "version maj.min.rev+build (default 0)");
    sign->add_option("-L,--load-addr", a.load_addr, "RAM load address (sets RAM_LOAD)");
    sign->add_option("-F,--rom-fixed", a.rom_fixed, "flash address the image is linked for");
    sign->add_flag("--pad", a.pad, "pad to slot size and add the trailer magic");
    sign->add_flag("--confirm", a.confirm, "pad and mark confirmed (image_ok)");
    sign->add_flag("--test", a.test, "pad with the trailer magic only (test upgrade)");
    sign->add_flag("--overwrite-only", a.overwrite_only, "overwrite-only trailer");
    sign->add_option("-s,--security-counter", a.security_counter, "number or 'auto'");
    sign->add_option("-d,--dependencies", a.dependencies, "\"(image,version), ...\"");
    sign->add_option("-R,--erased-val", a.erased_val, "flash erase value: 0 or 0xff");
    sign->add_option("--public-key-format", a.public_key_format, "hash (KEYHASH) or full");
    sign->add_option("--sha", a.sha, "hash: auto, 256, 384, 512");
    sign->add_flag("--non-bootable", a.non_bootable, "set the NON_BOOTABLE flag");
    sign->add_option("infile", a.infile, "raw binary input")->required();
    sign->add_option("outfile", a.outfile, "image output")->required();
    sign->callback([sign_args, exit_code] { *exit_code = RunSign(*sign_args); });
  }

  struct VerifyArgs {
    std::string file, key;
  };
  auto va = std::make_shared<VerifyArgs>();
  CLI::App* verify = image->add_subcommand("verify", "check the hash and (with -k) a signature");
  verify->add_option("-k,--key", va->key, "public (or private) key PEM");
  verify->add_option("image", va->file, "image file")->required();
  verify->callback(
      [va, exit_code, &global] { *exit_code = RunVerify(va->file, va->key, global.json); });

  struct InfoArgs {
    std::string file;
    bool json = false;
  };
  auto ia = std::make_shared<InfoArgs>();
  CLI::App* info = image->add_subcommand("info", "show header, TLVs and trailer (dumpinfo)");
  info->alias("dumpinfo");
  info->add_flag("--json", ia->json, "imgtool dumpinfo -f json output");
  info->add_option("image", ia->file, "image file")->required();
  info->callback(
      [ia, exit_code, &global] { *exit_code = RunInfo(ia->file, ia->json || global.json); });

  struct KeyArgs {
    std::string file, type, encoding = "pem";
  };
  auto ka = std::make_shared<KeyArgs>();
  CLI::App* keygen = image->add_subcommand("keygen", "generate a signing key (PEM)");
  keygen->add_option("-k,--key", ka->file, "output private key file")->required();
  keygen->add_option("-t,--type", ka->type, "ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072")
      ->required();
  keygen->callback([ka, exit_code] { *exit_code = RunKeygen(ka->file, ka->type); });

  CLI::App* getpub = image->add_subcommand("getpub", "print the public key of a key file");
  getpub->add_option("-k,--key", ka->file, "key file (PEM)")->required();
  getpub->add_option("-e,--encoding", ka->encoding, "pem (default)");
  getpub->callback([ka, exit_code] { *exit_code = RunGetpub(ka->file, ka->encoding); });
}

}  // namespace smpkit::cli
