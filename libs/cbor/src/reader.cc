#include "smpkit/cbor/reader.h"

#include <cbor.h>

#include <cstring>

namespace smpkit::cbor {

namespace {

struct Ctx {
  Item* item;
};

Item& I(void* ctx) { return *static_cast<Ctx*>(ctx)->item; }

Item Make(Type type, uint64_t raw = 0, bool indefinite = false) {
  Item item;
  item.type = type;
  item.raw = raw;
  item.indefinite = indefinite;
  return item;
}

void OnUint8(void* c, uint8_t v) { I(c) = Make(Type::kUint, v); }
void OnUint16(void* c, uint16_t v) { I(c) = Make(Type::kUint, v); }
void OnUint32(void* c, uint32_t v) { I(c) = Make(Type::kUint, v); }
void OnUint64(void* c, uint64_t v) { I(c) = Make(Type::kUint, v); }
void OnNeg8(void* c, uint8_t v) { I(c) = Make(Type::kNegint, v); }
void OnNeg16(void* c, uint16_t v) { I(c) = Make(Type::kNegint, v); }
void OnNeg32(void* c, uint32_t v) { I(c) = Make(Type::kNegint, v); }
void OnNeg64(void* c, uint64_t v) { I(c) = Make(Type::kNegint, v); }
void OnBytes(void* c, cbor_data d, size_t n) {
  I(c) = Make(Type::kBytes, n);
  I(c).bytes = ConstByteSpan(d, n);
}
void OnText(void* c, cbor_data d, size_t n) {
  I(c) = Make(Type::kText, n);
  I(c).bytes = ConstByteSpan(d, n);
}
void OnBytesIndef(void* c) { I(c) = Make(Type::kBytesIndef, 0, true); }
void OnTextIndef(void* c) { I(c) = Make(Type::kTextIndef, 0, true); }
void OnArray(void* c, size_t n) { I(c) = Make(Type::kArray, n); }
void OnArrayIndef(void* c) { I(c) = Make(Type::kArray, 0, true); }
void OnMap(void* c, size_t n) { I(c) = Make(Type::kMap, n); }
void OnMapIndef(void* c) { I(c) = Make(Type::kMap, 0, true); }
void OnTag(void* c, uint64_t v) { I(c) = Make(Type::kTag, v); }
void OnFloat(void* c, float v) {
  I(c) = Make(Type::kFloat);
  I(c).number = v;
}
void OnDouble(void* c, double v) {
  I(c) = Make(Type::kFloat);
  I(c).number = v;
}
void OnUndef(void* c) { I(c) = Make(Type::kUndefined); }
void OnNull(void* c) { I(c) = Make(Type::kNull); }
void OnBool(void* c, bool v) {
  I(c) = Make(Type::kBool);
  I(c).boolean = v;
}
void OnBreak(void* c) { I(c) = Make(Type::kBreak); }

// libcbor names these fields confusingly: byte_string is the definite callback and
// byte_string_start the indefinite one; likewise for arrays and maps.
const cbor_callbacks kCallbacks = [] {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = OnUint8;
  cb.uint16 = OnUint16;
  cb.uint32 = OnUint32;
  cb.uint64 = OnUint64;
  cb.negint8 = OnNeg8;
  cb.negint16 = OnNeg16;
  cb.negint32 = OnNeg32;
  cb.negint64 = OnNeg64;
  cb.byte_string = OnBytes;
  cb.byte_string_start = OnBytesIndef;
  cb.string = OnText;
  cb.string_start = OnTextIndef;
  cb.array_start = OnArray;
  cb.indef_array_start = OnArrayIndef;
  cb.map_start = OnMap;
  cb.indef_map_start = OnMapIndef;
  cb.tag = OnTag;
  cb.float2 = OnFloat;
  cb.float4 = OnFloat;
  cb.float8 = OnDouble;
  cb.undefined = OnUndef;
  cb.null = OnNull;
  cb.boolean = OnBool;
  cb.indef_break = OnBreak;
  return cb;
}();

}  // namespace

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kUint: return "unsigned integer";
    case Type::kNegint: return "negative integer";
    case Type::kBytes: return "byte string";
    case Type::kText: return "text string";
    case Type::kBytesIndef: return "indefinite byte string";
    case Type::kTextIndef: return "indefinite text string";
    case Type::kArray: return "array";
    case Type::kMap: return "map";
    case Type::kTag: return "tag";
    case Type::kBool: return "boolean";
    case Type::kNull: return "null";
    case Type::kUndefined: return "undefined";
    case Type::kFloat: return "float";
    case Type::kBreak: return "break";
  }
  return "?";
}

Result<Item> Reader::Next() {
  if (AtEnd()) return Error::Format(Errc::kTruncated, "CBOR ends at offset %zu", pos_);
  constexpr uint64_t kNoCallback = ~uint64_t{0};
  Item item;
  item.type = Type::kUndefined;
  item.raw = kNoCallback;
  Ctx ctx{&item};
  const cbor_decoder_result r =
      cbor_stream_decode(data_.data() + pos_, data_.size() - pos_, &kCallbacks, &ctx);
  if (r.status == CBOR_DECODER_NEDATA) {
    return Error::Format(Errc::kTruncated, "CBOR item at offset %zu needs %zu bytes, %zu left",
                         pos_, r.required, data_.size() - pos_);
  }
  if (r.status != CBOR_DECODER_FINISHED || r.read == 0 ||
      (item.type == Type::kUndefined && item.raw == kNoCallback)) {
    return Error::Format(Errc::kCorrupt, "malformed CBOR at offset %zu (byte 0x%02x)", pos_,
                         data_[pos_]);
  }
  pos_ += r.read;
  return item;
}

Status Reader::SkipValue() {
  SMPKIT_ASSIGN_OR_RETURN(Item item, Next());
  if (item.type == Type::kBreak) {
    return Error::Format(Errc::kCorrupt, "unexpected CBOR break at offset %zu", pos_ - 1);
  }
  return SkipRest(item);
}

Status Reader::SkipRest(const Item& head) {
  // Iterative walk with an explicit stack: each level holds the items still to read, or
  // "until break" for indefinite containers and chunked strings.
  struct Level {
    uint64_t remaining;
    bool indefinite;
    bool chunks;  // inside an indefinite string: only definite strings of that kind allowed
    Type chunk_type;
  };
  Level stack[kMaxDepth];
  size_t depth = 0;
  auto push = [&](const Item& it) -> Status {
    const bool container = it.type == Type::kArray || it.type == Type::kMap;
    const bool chunked = it.type == Type::kBytesIndef || it.type == Type::kTextIndef;
    const bool tag = it.type == Type::kTag;
    if (!container && !chunked && !tag) return Ok();
    if (depth == kMaxDepth) {
      return Error::Format(Errc::kCorrupt, "CBOR nesting deeper than %zu at offset %zu",
                           kMaxDepth, pos_);
    }
    Level l{};
    if (tag) {
      l.remaining = 1;
    } else if (chunked) {
      l.indefinite = true;
      l.chunks = true;
      l.chunk_type = it.type == Type::kBytesIndef ? Type::kBytes : Type::kText;
    } else if (it.indefinite) {
      l.indefinite = true;
    } else {
      // Each item needs at least one byte, so a count beyond the data is truncation.
      const uint64_t n = it.type == Type::kMap ? it.raw * 2 : it.raw;
      if ((it.type == Type::kMap && it.raw > (~uint64_t{0}) / 2) || n > data_.size() - pos_) {
        return Error::Format(Errc::kTruncated, "CBOR %s of %llu items exceeds the data",
                             it.type == Type::kMap ? "map" : "array",
                             static_cast<unsigned long long>(it.raw));
      }
      l.remaining = n;
    }
    if (!l.indefinite && l.remaining == 0) return Ok();
    stack[depth++] = l;
    return Ok();
  };
  SMPKIT_TRY(push(head));
  while (depth > 0) {
    Level& top = stack[depth - 1];
    SMPKIT_ASSIGN_OR_RETURN(Item it, Next());
    if (it.type == Type::kBreak) {
      if (!top.indefinite) {
        return Error::Format(Errc::kCorrupt, "unexpected CBOR break at offset %zu", pos_ - 1);
      }
      --depth;
    } else {
      if (top.chunks && it.type != top.chunk_type) {
        return Error::Format(Errc::kCorrupt, "bad chunk in indefinite string at offset %zu",
                             pos_);
      }
      if (!top.indefinite) --top.remaining;
      const bool done = !top.indefinite && top.remaining == 0;
      if (done) --depth;
      SMPKIT_TRY(push(it));
    }
  }
  return Ok();
}

namespace {

Status BindValue(const Field& field, const Item& v) {
  auto mismatch = [&](std::string_view want) {
    return Error::Format(Errc::kTypeMismatch, "key \"%.*s\" must be a %.*s, got a %.*s",
                         static_cast<int>(field.key.size()), field.key.data(),
                         static_cast<int>(want.size()), want.data(),
                         static_cast<int>(TypeName(v.type).size()), TypeName(v.type).data());
  };
  if (auto* p = std::get_if<uint64_t*>(&field.target)) {
    if (v.type != Type::kUint) return mismatch("unsigned integer");
    **p = v.raw;
  } else if (auto* pi = std::get_if<int64_t*>(&field.target)) {
    if (v.type == Type::kUint && v.raw <= static_cast<uint64_t>(INT64_MAX)) {
      **pi = static_cast<int64_t>(v.raw);
    } else if (v.type == Type::kNegint && v.raw <= static_cast<uint64_t>(INT64_MAX)) {
      **pi = -1 - static_cast<int64_t>(v.raw);
    } else {
      return mismatch("64-bit integer");
    }
  } else if (auto* pb = std::get_if<bool*>(&field.target)) {
    if (v.type != Type::kBool) return mismatch("boolean");
    **pb = v.boolean;
  } else if (auto* pt = std::get_if<std::string_view*>(&field.target)) {
    if (v.type != Type::kText) return mismatch("text string");
    if (!IsValidUtf8(v.text())) {
      return Error::Format(Errc::kCorrupt, "key \"%.*s\" holds a text string that is not UTF-8",
                           static_cast<int>(field.key.size()), field.key.data());
    }
    **pt = v.text();
  } else if (auto* ps = std::get_if<ConstByteSpan*>(&field.target)) {
    if (v.type != Type::kBytes) return mismatch("byte string");
    **ps = v.bytes;
  }
  return Ok();
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII runs, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return false;  // continuation byte first, C0/C1 overlongs, F5..FF
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

Status DecodeMapBody(Reader& reader, const Item& head, std::span<const Field> fields) {
  if (head.type != Type::kMap) {
    return Error::Format(Errc::kTypeMismatch, "payload must be a map, got a %.*s",
                         static_cast<int>(TypeName(head.type).size()),
                         TypeName(head.type).data());
  }
  // Which fields were seen in this map (duplicate detection), independent of `found`.
  uint64_t seen = 0;
  if (fields.size() > 64) return Error(Errc::kInvalidArgument, "too many fields");
  uint64_t pairs = 0;
  while (true) {
    if (!head.indefinite && pairs == head.raw) break;
    SMPKIT_ASSIGN_OR_RETURN(Item key, reader.Next());
    if (key.type == Type::kBreak) {
      if (head.indefinite) break;
      return Error(Errc::kCorrupt, "unexpected CBOR break inside a definite map");
    }
    ++pairs;
    if (key.type != Type::kText) {
      return Error::Format(Errc::kTypeMismatch, "map key must be a text string, got a %.*s",
                           static_cast<int>(TypeName(key.type).size()),
                           TypeName(key.type).data());
    }
    size_t idx = fields.size();
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].key == key.text()) {
        idx = i;
        break;
      }
    }
    if (idx == fields.size()) {
      SMPKIT_TRY(reader.SkipValue());
      continue;
    }
    if (seen & (uint64_t{1} << idx)) {
      return Error::Format(Errc::kDuplicateKey, "key \"%.*s\" appears twice",
                           static_cast<int>(key.text().size()), key.text().data());
    }
    seen |= uint64_t{1} << idx;
    if (auto* raw = std::get_if<RawValue*>(&fields[idx].target)) {
      const size_t start = reader.position();
      SMPKIT_TRY(reader.SkipValue());
      (*raw)->encoded = reader.data().subspan(start, reader.position() - start);
      if (fields[idx].found) *fields[idx].found = true;
      continue;
    }
    SMPKIT_ASSIGN_OR_RETURN(Item value, reader.Next());
    if (value.type == Type::kBreak) return Error(Errc::kCorrupt, "map key without a value");
    Status bound = BindValue(fields[idx], value);
    if (!bound.ok()) return bound;
    if (fields[idx].found) *fields[idx].found = true;
  }
  return Ok();
}

Status DecodeMap(ConstByteSpan data, std::span<const Field> fields) {
  Reader reader(data);
  if (data.empty()) return Error(Errc::kTruncated, "payload is empty, expected a map");
  SMPKIT_ASSIGN_OR_RETURN(Item head, reader.Next());
  return DecodeMapBody(reader, head, fields);
}

}  // namespace smpkit::cbor
