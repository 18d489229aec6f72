#pragma once
// Typed, allocation-free CBOR reader over libcbor's streaming decoder.
//
// Reader walks item heads one at a time; MapDecoder binds known keys of a map to typed
// outputs with Zephyr's strictness (zcbor_bulk): a known key with the wrong type or given
// twice is an error, unknown keys (any type, nested) are skipped, keys must be text.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <variant>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"

namespace smpkit::cbor {

enum class Type : uint8_t {
  kUint,
  kNegint,  // value = -1 - raw
  kBytes,   // definite byte string; bytes() holds the content
  kText,    // definite text string; bytes() holds the content
  kBytesIndef,
  kTextIndef,
  kArray,   // count = number of items (definite) or indefinite
  kMap,     // count = number of pairs (definite) or indefinite
  kTag,
  kBool,
  kNull,
  kUndefined,
  kFloat,
  kBreak,
};

std::string_view TypeName(Type type);

struct Item {
  Type type = Type::kNull;
  uint64_t raw = 0;        // uint value, negint raw, container count, tag value
  bool indefinite = false; // containers
  bool boolean = false;
  double number = 0;       // floats
  ConstByteSpan bytes;     // definite strings

  std::string_view text() const { return AsString(bytes); }
};

class Reader {
 public:
  static constexpr size_t kMaxDepth = 16;

  explicit Reader(ConstByteSpan data) : data_(data) {}

  bool AtEnd() const { return pos_ >= data_.size(); }
  size_t position() const { return pos_; }
  ConstByteSpan data() const { return data_; }

  // Decodes the next item head (a whole definite string, or a container start).
  // Errors: kTruncated at the end of data, kCorrupt on malformed CBOR.
  Result<Item> Next();
  // Skips one complete data item, including nested containers and chunked strings.
  // Errors: as Next(), plus kCorrupt for nesting deeper than kMaxDepth or a stray break.
  Status SkipValue();
  // Skips the rest of a value whose head `item` was already read.
  Status SkipRest(const Item& item);

 private:
  ConstByteSpan data_;
  size_t pos_ = 0;
};

// The encoded bytes of one complete value of any type (e.g. a nested map to decode later).
struct RawValue {
  ConstByteSpan encoded;
};

// Output bindings for MapDecoder.
struct Field {
  using Target =
      std::variant<uint64_t*, int64_t*, bool*, std::string_view*, ConstByteSpan*, RawValue*>;
  std::string_view key;
  Target target;
  bool* found;  // set true when the key was present (may be null)
};

inline Field UintField(std::string_view k, uint64_t* v, bool* f = nullptr) { return {k, v, f}; }
inline Field IntField(std::string_view k, int64_t* v, bool* f = nullptr) { return {k, v, f}; }
inline Field BoolField(std::string_view k, bool* v, bool* f = nullptr) { return {k, v, f}; }
inline Field TextField(std::string_view k, std::string_view* v, bool* f = nullptr) {
  return {k, v, f};
}
inline Field BytesField(std::string_view k, ConstByteSpan* v, bool* f = nullptr) {
  return {k, v, f};
}

inline Field RawField(std::string_view k, RawValue* v, bool* f = nullptr) { return {k, v, f}; }

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). RFC 8949 §3.1 makes a text string UTF-8 and §5.3.1 an invalid one an
// invalid data item that strict decoders reject.
bool IsValidUtf8(std::string_view s);

// Decodes a top-level map (definite or indefinite) from `data` into `fields`.
// Errors: kTypeMismatch (payload is not a map, non-text key, known key of the wrong type),
// kCorrupt (a known text field that is not valid UTF-8, so it is never passed on or echoed),
// kDuplicateKey, kTruncated / kCorrupt (malformed CBOR). Messages name the key.
Status DecodeMap(ConstByteSpan data, std::span<const Field> fields);
inline Status DecodeMap(ConstByteSpan data, std::initializer_list<Field> fields) {
  return DecodeMap(data, std::span<const Field>(fields.begin(), fields.size()));
}

// As DecodeMap, but reads a map whose head was already taken from `reader` as `head`.
Status DecodeMapBody(Reader& reader, const Item& head, std::span<const Field> fields);

// Calls fn(item) with the encoded bytes of each item of the encoded CBOR array `array`, in
// order, until fn returns an error. Errors: kTypeMismatch naming `what` when `array` is no
// array, the reader's, and fn's.
template <typename Fn>
Status ForEachItem(ConstByteSpan array, std::string_view what, Fn&& fn) {
  Reader r(array);
  SMPKIT_ASSIGN_OR_RETURN(Item head, r.Next());
  if (head.type != Type::kArray) {
    return Error::Format(Errc::kTypeMismatch, "%.*s is not an array", static_cast<int>(what.size()),
                         what.data());
  }
  for (uint64_t i = 0; head.indefinite || i < head.raw; ++i) {
    size_t start = r.position();
    Reader peek(array.subspan(start));
    SMPKIT_ASSIGN_OR_RETURN(Item item, peek.Next());
    if (item.type == Type::kBreak && head.indefinite) break;
    SMPKIT_TRY(r.SkipValue());
    Status st = fn(array.subspan(start, r.position() - start));
    if (!st.ok()) return st;
  }
  return {};
}

// Calls fn(key, value) for each pair of the CBOR map `map` in order, repeated keys included
// (DecodeMap refuses those); `value` is the whole encoded value. Keys must be UTF-8 text.
template <typename Fn>
Status ForEachPair(ConstByteSpan map, std::string_view what, Fn&& fn) {
  Reader r(map);
  SMPKIT_ASSIGN_OR_RETURN(Item head, r.Next());
  if (head.type != Type::kMap) {
    return Error::Format(Errc::kTypeMismatch, "%.*s is not a map", static_cast<int>(what.size()),
                         what.data());
  }
  for (uint64_t i = 0; head.indefinite || i < head.raw; ++i) {
    SMPKIT_ASSIGN_OR_RETURN(Item key, r.Next());
    if (key.type == Type::kBreak && head.indefinite) break;
    if (key.type != Type::kText || !IsValidUtf8(key.text())) {
      return Error::Format(Errc::kTypeMismatch, "%.*s: a key is not a UTF-8 text string",
                           static_cast<int>(what.size()), what.data());
    }
    const size_t start = r.position();
    SMPKIT_TRY(r.SkipValue());
    Status st = fn(key.text(), map.subspan(start, r.position() - start));
    if (!st.ok()) return st;
  }
  return {};
}

}  // namespace smpkit::cbor
