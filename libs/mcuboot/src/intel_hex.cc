#include "smpkit/mcuboot/intel_hex.h"

#include <algorithm>
#include <optional>

namespace smpkit::mcuboot {

namespace {

// Distinct runs of data a HEX file may hold (memory bound for fragmented input).
constexpr size_t kMaxRuns = 1u << 20;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Run {
  uint64_t address;
  size_t start;  // into the data buffer
  size_t length;
};

Error LineError(size_t line, const char* what) {
  return Error::Format(Errc::kInvalidArgument, "Intel HEX line %zu: %s", line, what);
}

}  // namespace

Result<HexImage> ParseIntelHex(std::string_view text, size_t max_size) {
  std::vector<uint8_t> bytes;  // data of every record, in file order
  std::vector<Run> runs;
  uint64_t offset = 0;
  bool have_start = false;
  std::vector<uint8_t> rec;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    // One line: up to LF, CR LF or CR (Python's universal newlines).
    size_t end = pos;
    while (end < text.size() && text[end] != '\n' && text[end] != '\r') ++end;
    std::string_view line = text.substr(pos, end - pos);
    pos = end;
    if (pos < text.size() && text[pos] == '\r') {
      ++pos;
      if (pos < text.size() && text[pos] == '\n') ++pos;
    } else if (pos < text.size()) {
      ++pos;  // LF
    }
    ++line_no;
    if (line.empty()) continue;
    if (line[0] != ':') return LineError(line_no, "a record must start with ':'");
    std::string_view digits = line.substr(1);
    if (digits.size() % 2 != 0) return LineError(line_no, "odd number of hex digits");
    rec.resize(digits.size() / 2);
    for (size_t i = 0; i < rec.size(); ++i) {
      int hi = HexDigit(digits[2 * i]), lo = HexDigit(digits[2 * i + 1]);
      if (hi < 0 || lo < 0) return LineError(line_no, "not a hex digit");
      rec[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    if (rec.size() < 5) return LineError(line_no, "record shorter than 5 bytes");
    const size_t length = rec[0];
    if (rec.size() != 5 + length) {
      return LineError(line_no, "record length byte does not match the record");
    }
    const uint32_t address = static_cast<uint32_t>(rec[1]) << 8 | rec[2];
    const uint8_t type = rec[3];
    if (type > 5) return LineError(line_no, "unknown record type (not 00-05)");
    unsigned sum = 0;
    for (uint8_t b : rec) sum += b;
    if ((sum & 0xff) != 0) return LineError(line_no, "checksum mismatch");
    const uint8_t* data = rec.data() + 4;
    switch (type) {
      case 0: {
        if (length == 0) break;
        const uint64_t at = address + offset;
        if (at + length - 1 > 0xffffffffu) {
          return LineError(line_no, "data beyond address 0xffffffff");
        }
        if (bytes.size() + length > max_size) {
          return Error::Format(Errc::kInvalidArgument,
                               "Intel HEX holds more than %zu bytes of data", max_size);
        }
        if (!runs.empty() && runs.back().address + runs.back().length == at &&
            runs.back().start + runs.back().length == bytes.size()) {
          runs.back().length += length;
        } else {
          if (runs.size() >= kMaxRuns) {
            return LineError(line_no, "more than 1048576 separate runs of data");
          }
          runs.push_back({at, bytes.size(), length});
        }
        bytes.insert(bytes.end(), data, data + length);
        break;
      }
      case 1:
        if (length != 0) return LineError(line_no, "end-of-file record with data");
        pos = text.size();  // whatever follows is ignored
        break;
      case 2:
        if (length != 2 || address != 0) {
          return LineError(line_no, "bad extended segment address record");
        }
        offset = (static_cast<uint64_t>(data[0]) << 8 | data[1]) * 16;
        break;
      case 4:
        if (length != 2 || address != 0) {
          return LineError(line_no, "bad extended linear address record");
        }
        offset = (static_cast<uint64_t>(data[0]) << 8 | data[1]) << 16;
        break;
      case 3:
      case 5:
        if (length != 4 || address != 0) return LineError(line_no, "bad start address record");
        if (have_start) return LineError(line_no, "second start address record");
        have_start = true;
        break;
    }
  }

  HexImage out;
  if (runs.empty()) return out;
  std::sort(runs.begin(), runs.end(),
            [](const Run& a, const Run& b) { return a.address < b.address; });
  for (size_t i = 1; i < runs.size(); ++i) {
    if (runs[i - 1].address + runs[i - 1].length > runs[i].address) {
      return Error::Format(Errc::kInvalidArgument, "Intel HEX has data overlap at address 0x%llX",
                           static_cast<unsigned long long>(runs[i].address));
    }
  }
  const uint64_t lo = runs.front().address;
  const uint64_t hi = runs.back().address + runs.back().length;  // exclusive
  if (hi - lo > max_size) {
    return Error::Format(
        Errc::kInvalidArgument, "Intel HEX data spans 0x%llX..0x%llX, more than %zu bytes",
        static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi - 1), max_size);
  }
  out.has_data = true;
  out.base = static_cast<uint32_t>(lo);
  out.data.assign(static_cast<size_t>(hi - lo), 0xff);
  for (const Run& r : runs) {
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(r.start), r.length,
                out.data.begin() + static_cast<std::ptrdiff_t>(r.address - lo));
  }
  return out;
}

namespace {

void AppendRecord(std::string& out, uint8_t type, uint16_t address, ConstByteSpan data) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  auto put = [&out](uint8_t b) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  };
  unsigned sum = static_cast<unsigned>(data.size()) + (address >> 8) + (address & 0xff) + type;
  out += ':';
  put(static_cast<uint8_t>(data.size()));
  put(static_cast<uint8_t>(address >> 8));
  put(static_cast<uint8_t>(address & 0xff));
  put(type);
  for (uint8_t b : data) {
    put(b);
    sum += b;
  }
  put(static_cast<uint8_t>(-sum & 0xff));
  out += '\n';
}

}  // namespace

Result<std::string> WriteIntelHex(std::span<const HexChunk> chunks) {
  std::vector<HexChunk> sorted;
  for (const HexChunk& c : chunks) {
    if (!c.bytes.empty()) sorted.push_back(c);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const HexChunk& a, const HexChunk& b) { return a.address < b.address; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const uint64_t end = sorted[i].address + sorted[i].bytes.size();
    if (end - 1 > 0xffffffffu) {
      return Error::Format(Errc::kInvalidArgument, "HEX data beyond address 0xffffffff (0x%llX)",
                           static_cast<unsigned long long>(end - 1));
    }
    if (i + 1 < sorted.size() && end > sorted[i + 1].address) {
      return Error::Format(Errc::kInvalidArgument, "HEX data overlaps at address 0x%llX",
                           static_cast<unsigned long long>(sorted[i + 1].address));
    }
  }
  std::string out;
  if (!sorted.empty()) {
    const uint64_t max_address = sorted.back().address + sorted.back().bytes.size() - 1;
    const bool need_offset = max_address > 0xffff;
    std::optional<uint64_t> high;
    // Adjacent chunks form one run: a record may take bytes of both.
    size_t i = 0;
    std::vector<uint8_t> run;
    while (i < sorted.size()) {
      const uint64_t start = sorted[i].address;
      run.assign(sorted[i].bytes.begin(), sorted[i].bytes.end());
      ++i;
      while (i < sorted.size() && sorted[i].address == start + run.size()) {
        run.insert(run.end(), sorted[i].bytes.begin(), sorted[i].bytes.end());
        ++i;
      }
      uint64_t cur = start;
      size_t k = 0;
      while (k < run.size()) {
        if (need_offset && (!high || (cur >> 16) > *high)) {
          high = cur >> 16;
          const uint8_t ofs[2] = {static_cast<uint8_t>(*high >> 8),
                                  static_cast<uint8_t>(*high & 0xff)};
          AppendRecord(out, 4, 0, ConstByteSpan(ofs, 2));
        }
        const size_t low = static_cast<size_t>(cur & 0xffff);
        const size_t n = std::min<size_t>({16, 0x10000 - low, run.size() - k});
        AppendRecord(out, 0, static_cast<uint16_t>(low), ConstByteSpan(run.data() + k, n));
        cur += n;
        k += n;
      }
    }
  }
  out += ":00000001FF\n";
  return out;
}

}  // namespace smpkit::mcuboot
