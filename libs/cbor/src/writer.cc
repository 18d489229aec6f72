#include "smpkit/cbor/writer.h"

#include <cbor.h>

#include <cstring>

namespace smpkit::cbor {

bool Writer::Put(size_t n) {
  if (!ok_) return false;
  if (out_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}

void Writer::CountItem() {
  if (depth_ > 0) ++open_[depth_ - 1].items;
}

Writer& Writer::Uint(uint64_t v) {
  if (!Put(HeadSize(v))) return *this;
  pos_ += cbor_encode_uint(v, out_.data() + pos_, out_.size() - pos_);
  CountItem();
  return *this;
}

Writer& Writer::Int(int64_t v) {
  if (v >= 0) return Uint(static_cast<uint64_t>(v));
  const uint64_t raw = static_cast<uint64_t>(-(v + 1));
  if (!Put(HeadSize(raw))) return *this;
  pos_ += cbor_encode_negint(raw, out_.data() + pos_, out_.size() - pos_);
  CountItem();
  return *this;
}

Writer& Writer::Bool(bool v) {
  if (!Put(1)) return *this;
  pos_ += cbor_encode_bool(v, out_.data() + pos_, out_.size() - pos_);
  CountItem();
  return *this;
}

Writer& Writer::Null() {
  if (!Put(1)) return *this;
  pos_ += cbor_encode_null(out_.data() + pos_, out_.size() - pos_);
  CountItem();
  return *this;
}

Writer& Writer::Text(std::string_view s) {
  if (!Put(HeadSize(s.size()) + s.size())) return *this;
  pos_ += cbor_encode_string_start(s.size(), out_.data() + pos_, out_.size() - pos_);
  if (!s.empty()) std::memcpy(out_.data() + pos_, s.data(), s.size());
  pos_ += s.size();
  CountItem();
  return *this;
}

Writer& Writer::Bytes(ConstByteSpan b) {
  if (!Put(HeadSize(b.size()) + b.size())) return *this;
  pos_ += cbor_encode_bytestring_start(b.size(), out_.data() + pos_, out_.size() - pos_);
  if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
  pos_ += b.size();
  CountItem();
  return *this;
}

ByteSpan Writer::BytesInPlace(size_t n) {
  if (!Put(HeadSize(n) + n)) return {};
  pos_ += cbor_encode_bytestring_start(n, out_.data() + pos_, out_.size() - pos_);
  ByteSpan body = out_.subspan(pos_, n);
  pos_ += n;
  CountItem();
  return body;
}

Writer& Writer::Raw(ConstByteSpan encoded) {
  if (!Put(encoded.size())) return *this;
  if (!encoded.empty()) std::memcpy(out_.data() + pos_, encoded.data(), encoded.size());
  pos_ += encoded.size();
  CountItem();
  return *this;
}

Writer& Writer::Begin(bool map) {
  if (!ok_) return *this;
  if (depth_ == kMaxDepth) {
    unbalanced_ = true;
    ok_ = false;
    return *this;
  }
  if (!Put(1)) return *this;
  CountItem();
  open_[depth_++] = Open{pos_, 0, map};
  // Indefinite: BF/9F now, FF at End. Definite: a 1-byte head now, widened at End if needed.
  out_[pos_++] = style_ == Style::kIndefinite ? (map ? 0xbf : 0x9f) : (map ? 0xa0 : 0x80);
  return *this;
}

Writer& Writer::BeginMap() { return Begin(true); }
Writer& Writer::BeginArray() { return Begin(false); }

Writer& Writer::End() {
  if (!ok_) return *this;
  if (depth_ == 0) {
    unbalanced_ = true;
    ok_ = false;
    return *this;
  }
  const Open o = open_[--depth_];
  if (style_ == Style::kIndefinite) {
    if (!Put(1)) return *this;
    out_[pos_++] = 0xff;
    return *this;
  }
  if (o.map && o.items % 2 != 0) {
    unbalanced_ = true;
    ok_ = false;
    return *this;
  }
  const uint64_t count = o.map ? o.items / 2 : o.items;
  const size_t head = HeadSize(count);
  if (head > 1) {
    if (!Put(head - 1)) return *this;
    const size_t body = o.head_pos + 1;
    std::memmove(out_.data() + body + head - 1, out_.data() + body, pos_ - body);
    pos_ += head - 1;
  }
  if (o.map) {
    cbor_encode_map_start(count, out_.data() + o.head_pos, head);
  } else {
    cbor_encode_array_start(count, out_.data() + o.head_pos, head);
  }
  return *this;
}

Status Writer::status() const {
  if (unbalanced_) return Error(Errc::kInvalidArgument, "unbalanced or too deep CBOR containers");
  if (!ok_) {
    return Error::Format(Errc::kNoSpace, "CBOR output does not fit in %zu bytes", out_.size());
  }
  if (depth_ != 0) return Error(Errc::kInvalidArgument, "CBOR container left open");
  return Ok();
}

}  // namespace smpkit::cbor
