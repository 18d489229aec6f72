// `smpkit image sign|create|verify|info|keygen|getpub`: MCUboot image files, with imgtool's
// flag names (shared/spec/mcuboot.md §7.1). Files only, no device connection. Inputs are
// raw binaries or, when the name ends in ".hex", Intel HEX (as imgtool); a ".hex" output
// name writes Intel HEX byte-identical to imgtool's.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "smpkit/base/hex.h"
#include "smpkit/mcuboot/image.h"
#include "smpkit/mcuboot/image_create.h"
#include "smpkit/mcuboot/image_info.h"
#include "smpkit/mcuboot/intel_hex.h"
#include "smpkit/mcuboot/keys.h"

namespace smpkit::cli {
namespace {

namespace mb = smpkit::mcuboot;

// The --json flag, for error reports of the Run* functions.
const GlobalOptions* g_global = nullptr;

// Reports the error (one line on stderr, or a JSON document) and returns the exit code.
int Fail(int code, const std::string& message) {
  GlobalOptions fallback;
  return ReportError(g_global ? *g_global : fallback, code, "image: " + message);
}

bool Json() { return g_global && g_global->json; }

std::string Msg(const Error& e) { return std::string(e.message()); }

// Opens an input (binary or Intel HEX), checked: exit 3 with the reason otherwise.
std::optional<InputFile> Input(const std::string& path, int* code) {
  auto f = InputFile::Open(path);
  if (!f.ok()) {
    *code = Fail(kExitBadInput, Msg(f.error()));
    return std::nullopt;
  }
  return std::move(*f);
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
  std::string public_key_format = "hash", sha = "auto", hex_addr;
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

  int code = kExitOk;
  std::optional<mb::PrivateKey> key;
  if (!a.key_file.empty()) {
    auto pem = Input(a.key_file, &code);
    if (!pem) return code;
    auto k = mb::PrivateKey::FromPem(AsString(pem->bytes()));
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

  std::optional<uint64_t> hex_addr;
  if (!a.hex_addr.empty()) {
    if (!num(a.hex_addr, "--hex-addr", 0xFFFFFFFF, &v)) return kExitUsage;
    hex_addr = v;
  }
  const bool hex_out = IsHexName(a.outfile);
  auto in = Input(a.infile, &code);
  if (!in) return code;
  if (in->bytes().size() > InputFile::kMaxHexImage) {
    return Fail(kExitBadInput, a.infile + ": larger than an image can be (" +
                                   std::to_string(InputFile::kMaxHexImage) + " bytes at most)");
  }
  // imgtool: a HEX input's lowest address is the base; --pad-header moves it down by the
  // header size (unless it is 0); --hex-addr overrides it.
  bool has_base = in->hex_base().has_value();
  uint64_t base_addr = has_base ? *in->hex_base() : 0;
  if (has_base && o.pad_header && o.header_size > 0 && base_addr != 0) {
    if (base_addr < o.header_size) {
      return Fail(kExitBadInput, a.infile + ": HEX base address below the header size");
    }
    base_addr -= o.header_size;
  }
  if (hex_addr) {
    has_base = true;
    base_addr = *hex_addr;
  }
  if (hex_out && !has_base) {
    return Fail(kExitUsage, "output " + a.outfile +
                                " is Intel HEX but the input has no address: give --hex-addr");
  }
  const bool pad = o.pad || o.confirm;
  mb::CreateOptions unpadded = o;
  if (hex_out) {
    // imgtool writes the unpadded image and only the trailer's magic (and image_ok) bytes.
    unpadded.pad = false;
    unpadded.confirm = false;
  }
  auto image = mb::CreateImage(in->bytes(), unpadded);
  if (!image.ok()) {
    int c = image.error().code() == Errc::kCrypto ? kExitFailure : kExitBadInput;
    return Fail(c, Msg(image.error()));
  }
  std::string err;
  if (hex_out) {
    std::vector<mb::HexChunk> chunks = {{base_addr, ConstByteSpan(*image)}};
    std::vector<uint8_t> padded;
    if (pad) {
      mb::CreateOptions hash_only = o;  // the trailer bytes do not depend on the signature
      hash_only.key = nullptr;
      auto p = mb::CreateImage(in->bytes(), hash_only);
      if (!p.ok()) return Fail(kExitBadInput, Msg(p.error()));
      padded = std::move(*p);
      const uint64_t slot = o.slot_size;
      const uint32_t max_align = o.max_align.value_or(std::max<uint32_t>(8, o.align));
      const uint64_t magic_off = slot - 16;
      chunks.push_back({base_addr + magic_off, ConstByteSpan(padded).subspan(magic_off, 16)});
      if (o.confirm && !o.overwrite_only) {
        const uint64_t magic_room = (16 + max_align - 1) / max_align * max_align;
        const uint64_t ok_off = slot - magic_room - max_align;
        chunks.push_back({base_addr + ok_off, ConstByteSpan(padded).subspan(ok_off, max_align)});
      }
    }
    auto text = mb::WriteIntelHex(chunks);
    if (!text.ok()) return Fail(kExitBadInput, Msg(text.error()));
    if (!WriteFile(a.outfile, text->data(), text->size(), &err)) return Fail(kExitBadInput, err);
  } else if (!WriteFile(a.outfile, image->data(), image->size(), &err)) {
    return Fail(kExitBadInput, err);
  }
  if (Json()) {
    nlohmann::ordered_json j = {
        {"file", a.outfile}, {"format", hex_out ? "hex" : "bin"}, {"size", image->size()}};
    if (hex_out) j["base"] = base_addr;
    std::printf("%s\n", j.dump().c_str());
  }
  return kExitOk;
}

int RunVerify(const std::string& file, const std::string& key_file, bool json) {
  int code = kExitOk;
  std::optional<mb::PublicKey> key;
  if (!key_file.empty()) {
    auto pem = Input(key_file, &code);
    if (!pem) return code;
    auto k = mb::PublicKey::FromPem(AsString(pem->bytes()));
    if (!k.ok()) return Fail(kExitBadInput, key_file + ": " + Msg(k.error()));
    key = std::move(k).value();
  }
  auto in = Input(file, &code);
  if (!in) return code;
  mb::ParseOptions opts;
  opts.strict = false;  // as imgtool verify; MCUboot-policy checks are for the device side
  auto img = mb::Parse(in->bytes(), opts);
  if (!img.ok())
    return Fail(kExitBadInput, file + ": not a valid MCUboot image: " + Msg(img.error()));
  auto r = mb::Verify(*img, key ? &*key : nullptr);
  if (!r.ok()) return Fail(kExitFailure, file + ": verification failed: " + Msg(r.error()));
  if (json) {
    nlohmann::ordered_json j = {{"file", file},
                                {"ok", true},
                                {"version", r->version.ToString()},
                                {"hash", HexEncode(r->digest.view())},
                                {"signature", std::string(mb::SignatureTypeName(r->signature))}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "Image was correctly validated%s\n",
        key ? (" (" + std::string(mb::SignatureTypeName(r->signature)) + " signature)").c_str()
            : " (hash only)");
    std::printf("Image version: %s\n", r->version.ToImgtoolString().c_str());
    std::printf("Image digest: %s\n", HexEncode(r->digest.view()).c_str());
  }
  return kExitOk;
}

int RunInfo(const std::string& file, bool json) {
  int code = kExitOk;
  auto in = Input(file, &code);
  if (!in) return code;
  std::string name = std::filesystem::path(file).filename().string();
  auto out = json ? mb::ImageInfoJson(in->bytes(), name) : mb::ImageInfoText(in->bytes(), name);
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
  if (Json()) {
    std::printf("%s\n",
                nlohmann::ordered_json({{"key", file}, {"type", type_name}}).dump().c_str());
  }
  return kExitOk;
}

// imgtool's key class short names (getpub -e lang-c/lang-rust identifiers).
const char* ShortName(mb::KeyType type) {
  switch (type) {
    case mb::KeyType::kEcdsaP256:
    case mb::KeyType::kEcdsaP384:
      return "ecdsa";
    case mb::KeyType::kEd25519:
      return "ed25519";
    case mb::KeyType::kRsa2048:
    case mb::KeyType::kRsa3072:
      return "rsa";
  }
  return "key";
}

// imgtool's KeyClass._emit: the bytes as a C or Rust array, 8 per line.
std::string EmitArray(const std::string& header, const std::string& trailer, ConstByteSpan bytes,
                      const std::string& len_line) {
  std::string out = "/* Autogenerated by imgtool.py, do not edit. */\n" + header;
  char buf[8];
  for (size_t i = 0; i < bytes.size(); ++i) {
    out += i % 8 == 0 ? "\n    " : " ";
    std::snprintf(buf, sizeof(buf), "0x%02x,", bytes[i]);
    out += buf;
  }
  out += "\n" + trailer + "\n";
  if (!len_line.empty()) out += len_line + "\n";
  return out;
}

// `imgtool getpub -e pem|lang-c|lang-rust|raw [-o FILE]`, byte for byte.
int RunGetpub(const std::string& file, const std::string& encoding, const std::string& output) {
  int code = kExitOk;
  auto in = Input(file, &code);
  if (!in) return code;
  auto key = mb::PublicKey::FromPem(AsString(in->bytes()));
  if (!key.ok()) return Fail(kExitBadInput, file + ": " + Msg(key.error()));
  std::string out;
  if (encoding == "pem") {
    auto pem = key->ToPem();
    if (!pem.ok()) return Fail(kExitFailure, Msg(pem.error()));
    out = *pem;
  } else {
    auto bytes = key->KeyBytes();
    if (!bytes.ok()) return Fail(kExitFailure, Msg(bytes.error()));
    const std::string name = ShortName(key->type());
    if (encoding == "raw") {
      out.assign(bytes->begin(), bytes->end());
    } else if (encoding == "lang-c") {
      out = EmitArray(
          "const unsigned char " + name + "_pub_key[] = {", "};", *bytes,
          "const unsigned int " + name + "_pub_key_len = " + std::to_string(bytes->size()) + ";");
    } else {
      std::string upper = name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out = EmitArray("static " + upper + "_PUB_KEY: &[u8] = &[", "];", *bytes, "");
    }
  }
  if (!output.empty()) {
    std::string err;
    if (!WriteFile(output, out.data(), out.size(), &err)) return Fail(kExitBadInput, err);
    if (Json()) {
      std::printf(
          "%s\n",
          nlohmann::ordered_json({{"file", output}, {"encoding", encoding}}).dump().c_str());
    }
    return kExitOk;
  }
  if (Json()) {
    // One JSON document: the text forms as they are, raw bytes as hex.
    nlohmann::ordered_json j = {{"encoding", encoding},
                                {"key", encoding == "raw" ? HexEncode(AsBytes(out)) : out}};
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace

void RegisterImageCommands(CLI::App& app, GlobalOptions& global, int* exit_code) {
  g_global = &global;
  CLI::App* image = app.add_subcommand(
      "image", "MCUboot images: files (sign, verify, info, keys) and devices (list, upload, ...)");
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
    sign->add_option("-x,--hex-addr", a.hex_addr, "base address of a .hex output");
    sign->add_option("infile", a.infile, "raw binary, or Intel HEX if it ends in .hex")->required();
    sign->add_option("outfile", a.outfile, "image output (Intel HEX if it ends in .hex)")
        ->required();
    sign->callback([sign_args, exit_code] { *exit_code = RunSign(*sign_args); });
  }

  struct VerifyArgs {
    std::string file, key;
  };
  auto va = std::make_shared<VerifyArgs>();
  CLI::App* verify = image->add_subcommand("verify", "check the hash and (with -k) a signature");
  verify->add_option("-k,--key", va->key, "public (or private) key PEM");
  verify->add_option("image", va->file, "image file (Intel HEX if .hex)")->required();
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
  info->add_option("image", ia->file, "image file (Intel HEX if .hex)")->required();
  info->callback(
      [ia, exit_code, &global] { *exit_code = RunInfo(ia->file, ia->json || global.json); });

  struct KeyArgs {
    std::string file, type, encoding = "lang-c", output;
  };
  auto ka = std::make_shared<KeyArgs>();
  CLI::App* keygen = image->add_subcommand("keygen", "generate a signing key (PEM)");
  keygen->add_option("-k,--key", ka->file, "output private key file")->required();
  keygen->add_option("-t,--type", ka->type, "ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072")
      ->required();
  keygen->callback([ka, exit_code] { *exit_code = RunKeygen(ka->file, ka->type); });

  CLI::App* getpub = image->add_subcommand("getpub", "print the public key of a key file");
  getpub->add_option("-k,--key", ka->file, "key file (PEM)")->required();
  getpub->add_option("-e,--encoding", ka->encoding, "pem, lang-c, lang-rust or raw (as imgtool)")
      ->check(CLI::IsMember({"pem", "lang-c", "lang-rust", "raw"}));
  getpub->add_option("-o,--output", ka->output, "write to this file instead of stdout");
  getpub->callback([ka, exit_code] { *exit_code = RunGetpub(ka->file, ka->encoding, ka->output); });
}

}  // namespace smpkit::cli
