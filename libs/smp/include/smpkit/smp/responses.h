#pragma once
// Typed answers, one type for both ends: the device's groups write them, the client parses
// them (smp-protocol.md §6). Commands that answer an empty map (reset, erase, settings
// write/delete/commit/load/save, fs close, date-time write) have no type; an image state
// write answers the image state list (StateResponse).
//
// Parse: the keys in any order, unknown keys skipped (a device may add "rc" or "err"), a
// known key of the wrong type or twice is an error; a required key missing is kCorrupt
// naming it. Views point into the payload.
//
// Answers of fixed shape: Write puts the entries into the map the server opened (after any
// legacy "rc"); Encode writes the same as a whole definite map (kNoSpace when `out` is too
// small); EncodedSize is what Encode writes.
//
// List answers (image state, slot info, task statistics, statistics list and show, hash
// types, group list and details) are walked without copying: ForEach calls fn(entry) for each
// entry in the device's order, until fn returns an error, and fails on an entry that does not
// parse. The device streams them from its own state: Write(w, entries) opens the list and
// calls entries(), which writes each entry with its Entry::Write(w).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "smpkit/base/bytes.h"
#include "smpkit/base/result.h"
#include "smpkit/cbor/reader.h"
#include "smpkit/cbor/writer.h"

namespace smpkit::smp {

#define SMPKIT_SMP_RESPONSE(T)                   \
  static Result<T> Parse(ConstByteSpan payload); \
  void Write(cbor::Writer& w) const;             \
  Result<size_t> Encode(ByteSpan out) const;     \
  size_t EncodedSize() const

namespace os {

// OS echo: {"r": tstr}.
struct EchoResponse {
  std::string_view r;
  SMPKIT_SMP_RESPONSE(EchoResponse);
};

// MCUmgr parameters: {"buf_size": uint, "buf_count": uint}.
struct ParamsResponse {
  uint64_t buf_size = 0;
  uint64_t buf_count = 0;
  SMPKIT_SMP_RESPONSE(ParamsResponse);
};

// OS info: {"output": tstr}.
struct InfoResponse {
  std::string_view output;
  SMPKIT_SMP_RESPONSE(InfoResponse);
};

// OS date-time read: {"datetime": tstr}.
struct DateTimeResponse {
  std::string_view datetime;
  SMPKIT_SMP_RESPONSE(DateTimeResponse);
};

// OS bootloader info: {"bootloader": tstr} without a query; {"mode": int, "no-downgrade":
// bool?} for the query "mode" (MCUboot). Parse needs one of "bootloader" and "mode".
struct BootloaderInfoResponse {
  std::optional<std::string_view> bootloader;
  std::optional<int64_t> mode;
  bool no_downgrade = false;  // sent only when true
  SMPKIT_SMP_RESPONSE(BootloaderInfoResponse);
};

// One task of the task statistics: name: {"prio": int, "tid": uint, "state": uint,
// "stkuse": uint, "stksiz": uint, "cswcnt": uint, "runtime": uint, "last_checkin": uint,
// "next_checkin": uint} (each written when present). Zephyr names a task by its thread name,
// or (without thread names) by its priority, so names may repeat.
struct TaskStatEntry {
  std::string_view name;
  std::optional<int64_t> prio;
  std::optional<uint64_t> tid, state, stkuse, stksiz, cswcnt, runtime, last_checkin, next_checkin;
  // Errors name the task.
  static Result<TaskStatEntry> Parse(std::string_view name, ConstByteSpan value);
  void Write(cbor::Writer& w) const;
};

// Task statistics: {"tasks": {name: {...}, ...}} (walked pair by pair: names may repeat).
struct TaskStatResponse {
  ConstByteSpan tasks;  // the encoded map
  static Result<TaskStatResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    return cbor::ForEachPair(tasks, "task statistics \"tasks\"",
                             [&](std::string_view name, ConstByteSpan value) -> Status {
                               SMPKIT_ASSIGN_OR_RETURN(TaskStatEntry e,
                                                       TaskStatEntry::Parse(name, value));
                               return fn(e);
                             });
  }
  template <typename Fn>
  static void Write(cbor::Writer& w, Fn&& entries) {
    w.Key("tasks").BeginMap();
    entries();
    w.End();
  }
};

}  // namespace os

namespace img {

// Image upload: {"off": uint, "match": bool?} (match: with CONFIG_IMG_ENABLE_IMAGE_CHECK,
// once the image is complete).
struct UploadResponse {
  uint64_t off = 0;
  std::optional<bool> match;
  SMPKIT_SMP_RESPONSE(UploadResponse);
};

// One image slot of the image state list: {"image": uint (multi-image devices), "slot": uint,
// "version": tstr, "hash": bstr, "bootable", "pending", "confirmed", "active", "permanent":
// bool}. Missing flags read as false.
struct StateEntry {
  std::optional<uint64_t> image;
  uint64_t slot = 0;
  std::string_view version;
  ConstByteSpan hash;
  bool bootable = false, pending = false, confirmed = false, active = false, permanent = false;
  static Result<StateEntry> Parse(ConstByteSpan entry);
  void Write(cbor::Writer& w) const;
};

// Image state (read, and the answer to a state write): {"images": [entry, ...],
// "splitStatus": 0}.
struct StateResponse {
  ConstByteSpan images;  // the encoded array
  static Result<StateResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    return cbor::ForEachItem(images, "image state \"images\"", [&](ConstByteSpan e) -> Status {
      SMPKIT_ASSIGN_OR_RETURN(StateEntry entry, StateEntry::Parse(e));
      return fn(entry);
    });
  }
  template <typename Fn>
  static void Write(cbor::Writer& w, Fn&& entries) {
    w.Key("images").BeginArray();
    entries();
    w.End();
    w.Key("splitStatus").Int(0);
  }
};

// One slot of an image in the slot info: {"slot": uint, "size": uint, "upload_image_id":
// uint (the slot an upload of that image goes to)}.
struct SlotInfoSlot {
  uint64_t slot = 0;
  std::optional<uint64_t> size;
  std::optional<uint64_t> upload_image_id;
  static Result<SlotInfoSlot> Parse(ConstByteSpan entry);
  void Write(cbor::Writer& w) const;
};

// One image of the slot info: {"image": uint, "slots": [slot, ...], "max_image_size": uint}.
struct SlotInfoImage {
  uint64_t image = 0;
  ConstByteSpan slots;  // the encoded array; empty when absent
  std::optional<uint64_t> max_image_size;
  static Result<SlotInfoImage> Parse(ConstByteSpan entry);
  template <typename Fn>
  Status ForEachSlot(Fn&& fn) const {
    if (slots.empty()) return {};
    return cbor::ForEachItem(slots, "slot info \"slots\"", [&](ConstByteSpan e) -> Status {
      SMPKIT_ASSIGN_OR_RETURN(SlotInfoSlot slot, SlotInfoSlot::Parse(e));
      return fn(slot);
    });
  }
  // Opens the image's map and its "slots", calls slots_fn() to write them, closes both.
  template <typename Fn>
  static void Write(cbor::Writer& w, uint64_t image, std::optional<uint64_t> max_image_size,
                    Fn&& slots_fn) {
    w.BeginMap().Key("image").Uint(image).Key("slots").BeginArray();
    slots_fn();
    w.End();
    if (max_image_size) w.Key("max_image_size").Uint(*max_image_size);
    w.End();
  }
};

// Slot info: {"images": [image, ...]}.
struct SlotInfoResponse {
  ConstByteSpan images;  // the encoded array
  static Result<SlotInfoResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    return cbor::ForEachItem(images, "slot info \"images\"", [&](ConstByteSpan e) -> Status {
      SMPKIT_ASSIGN_OR_RETURN(SlotInfoImage image, SlotInfoImage::Parse(e));
      return fn(image);
    });
  }
  template <typename Fn>
  static void Write(cbor::Writer& w, Fn&& images_fn) {
    w.Key("images").BeginArray();
    images_fn();
    w.End();
  }
};

}  // namespace img

namespace stat {

// Statistics list: {"stat_list": [tstr, ...]}; ForEach calls fn(std::string_view name).
struct ListResponse {
  ConstByteSpan stat_list;  // the encoded array
  static Result<ListResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    return cbor::ForEachItem(stat_list, "\"stat_list\"", [&](ConstByteSpan e) -> Status {
      SMPKIT_ASSIGN_OR_RETURN(std::string_view name, ParseName(e));
      return fn(name);
    });
  }
  // names_fn() writes each name with w.Text(name).
  template <typename Fn>
  static void Write(cbor::Writer& w, Fn&& names_fn) {
    w.Key("stat_list").BeginArray();
    names_fn();
    w.End();
  }

 private:
  static Result<std::string_view> ParseName(ConstByteSpan item);
};

// Statistics show: {"name": tstr, "fields": {name: uint, ...}}; ForEachField calls
// fn(std::string_view field, uint64_t value).
struct ShowResponse {
  std::string_view name;
  ConstByteSpan fields;  // the encoded map
  static Result<ShowResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEachField(Fn&& fn) const {
    return cbor::ForEachPair(fields, "statistics \"fields\"",
                             [&](std::string_view key, ConstByteSpan value) -> Status {
                               SMPKIT_ASSIGN_OR_RETURN(uint64_t v, ParseField(key, value));
                               return fn(key, v);
                             });
  }
  // fields_fn() writes each field with w.Key(field).Uint(value).
  template <typename Fn>
  static void Write(cbor::Writer& w, std::string_view name, Fn&& fields_fn) {
    w.Key("name").Text(name).Key("fields").BeginMap();
    fields_fn();
    w.End();
  }

 private:
  static Result<uint64_t> ParseField(std::string_view key, ConstByteSpan value);
};

}  // namespace stat

namespace settings {

// Settings read: {"val": bstr, "max_size": uint?} (max_size: the device's limit, when the
// request asked for more).
struct ReadResponse {
  ConstByteSpan val;
  std::optional<uint64_t> max_size;
  SMPKIT_SMP_RESPONSE(ReadResponse);
};

}  // namespace settings

namespace fs {

// File download: {"off": uint, "data": bstr, "len": uint (the file's size, at offset 0)}.
struct DownloadResponse {
  uint64_t off = 0;
  ConstByteSpan data;
  std::optional<uint64_t> len;
  SMPKIT_SMP_RESPONSE(DownloadResponse);

  // The same answer with the file read straight into it (no copy): WriteInPlace writes "off"
  // and a "data" of n bytes and returns where the bytes go (empty when the writer is full);
  // WriteLen then adds "len".
  static ByteSpan WriteInPlace(cbor::Writer& w, uint64_t off, size_t n);
  static void WriteLen(cbor::Writer& w, uint64_t len);
};

// File upload: {"off": uint} (the bytes the file now holds).
struct UploadResponse {
  uint64_t off = 0;
  SMPKIT_SMP_RESPONSE(UploadResponse);
};

// The entries next to a file upload's FILE_OFFSET_NOT_VALID error: {"len": uint}, the offset
// the device expects (a chunk at that offset resumes the upload).
struct UploadOffsetResponse {
  uint64_t len = 0;
  SMPKIT_SMP_RESPONSE(UploadOffsetResponse);
};

// File status: {"len": uint}.
struct StatusResponse {
  uint64_t len = 0;
  SMPKIT_SMP_RESPONSE(StatusResponse);
};

// File hash/checksum: {"type": tstr, "off": uint (when not 0), "len": uint (bytes hashed),
// "output": uint (a 32-bit checksum) | bstr (a digest)}.
struct HashResponse {
  std::string_view type;
  uint64_t off = 0;
  uint64_t len = 0;
  std::optional<uint32_t> checksum;  // the output as a number (crc32)
  ConstByteSpan digest;              // the output as bytes, when checksum is absent
  SMPKIT_SMP_RESPONSE(HashResponse);
};

// One hash type of the supported hashes: name: {"format": 0 (a number) | 1 (a byte string),
// "size": uint (bytes)}.
struct HashTypeEntry {
  std::string_view name;
  uint64_t format = 0;
  uint64_t size = 0;
  static Result<HashTypeEntry> Parse(std::string_view name, ConstByteSpan value);
  void Write(cbor::Writer& w) const;
};

// Supported hashes: {"types": {name: {...}, ...}}.
struct SupportedHashesResponse {
  ConstByteSpan types;  // the encoded map
  static Result<SupportedHashesResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    return cbor::ForEachPair(
        types, "\"types\"", [&](std::string_view name, ConstByteSpan value) -> Status {
          SMPKIT_ASSIGN_OR_RETURN(HashTypeEntry e, HashTypeEntry::Parse(name, value));
          return fn(e);
        });
  }
  template <typename Fn>
  static void Write(cbor::Writer& w, Fn&& entries) {
    w.Key("types").BeginMap();
    entries();
    w.End();
  }
};

}  // namespace fs

namespace shell {

// Shell command execute: {"o": tstr, "ret": int}; with
// CONFIG_MCUMGR_GRP_SHELL_LEGACY_RC_RETURN_CODE the return value comes as "rc" instead.
struct ExecResponse {
  std::string_view o;
  int64_t ret = 0;
  bool legacy_rc = false;  // written (and parsed) as "rc"
  SMPKIT_SMP_RESPONSE(ExecResponse);
};

}  // namespace shell

namespace enumeration {

// Enumeration count: {"count": uint}.
struct CountResponse {
  uint64_t count = 0;
  SMPKIT_SMP_RESPONSE(CountResponse);
};

// Enumeration single: {"group": uint, "end": bool?} (end: true at the last group).
struct SingleResponse {
  uint64_t group = 0;
  bool end = false;  // sent only when true
  SMPKIT_SMP_RESPONSE(SingleResponse);
};

// Enumeration list: {"groups": [uint, ...]}; ForEach calls fn(uint64_t id).
struct ListResponse {
  ConstByteSpan groups;  // the encoded array
  static Result<ListResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    return cbor::ForEachItem(groups, "\"groups\"", [&](ConstByteSpan e) -> Status {
      SMPKIT_ASSIGN_OR_RETURN(uint64_t id, ParseId(e));
      return fn(id);
    });
  }
  // ids_fn() writes each id with w.Uint(id).
  template <typename Fn>
  static void Write(cbor::Writer& w, Fn&& ids_fn) {
    w.Key("groups").BeginArray();
    ids_fn();
    w.End();
  }

 private:
  static Result<uint64_t> ParseId(ConstByteSpan item);
};

// One group of the enumeration details: {"group": uint, "name": tstr?, "handlers": uint?}.
struct DetailsEntry {
  uint64_t group = 0;
  std::optional<std::string_view> name;
  std::optional<uint64_t> handlers;
  static Result<DetailsEntry> Parse(ConstByteSpan entry);
  void Write(cbor::Writer& w) const;
};

// Enumeration details: {"groups": [entry, ...]}.
struct DetailsResponse {
  ConstByteSpan groups;  // the encoded array
  static Result<DetailsResponse> Parse(ConstByteSpan payload);
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    return cbor::ForEachItem(groups, "\"groups\"", [&](ConstByteSpan e) -> Status {
      SMPKIT_ASSIGN_OR_RETURN(DetailsEntry entry, DetailsEntry::Parse(e));
      return fn(entry);
    });
  }
  template <typename Fn>
  static void Write(cbor::Writer& w, Fn&& entries) {
    w.Key("groups").BeginArray();
    entries();
    w.End();
  }
};

}  // namespace enumeration

#undef SMPKIT_SMP_RESPONSE

}  // namespace smpkit::smp
