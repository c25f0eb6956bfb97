#include "ledger/common/parse_errors.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/wire_format_lite.h"

namespace govledger {
namespace {

thread_local ParseErrors* current = nullptr;

std::mutex limiter_mu;
LogLimiter* limiter = new LogLimiter();  // guarded by limiter_mu; never destroyed

void Handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  // Only errors: a warning is the operator's, and a fatal message is the last thing a dying
  // process says.
  if (current != nullptr && level == google::protobuf::LOGLEVEL_ERROR) {
    current->Add(message);
    return;
  }
  uint64_t dropped = 0;
  if (level == google::protobuf::LOGLEVEL_ERROR) {
    const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    std::lock_guard<std::mutex> lock(limiter_mu);
    if (!limiter->Admit(now, &dropped)) return;
  }
  static const char* const kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  const int n = static_cast<int>(level);
  std::fprintf(stderr, "[libprotobuf %s %s:%d] %s%s\n", n >= 0 && n < 4 ? kLevels[n] : "LOG",
               filename, line, message.c_str(),
               dropped == 0
                   ? ""
                   : absl::StrCat(" (", dropped, " more such errors were not logged before it)")
                         .c_str());
  std::fflush(stderr);
}

}  // namespace

bool LogLimiter::Admit(int64_t now_micros, uint64_t* dropped) {
  constexpr int64_t kMinute = 60'000'000;
  if (lines_ == 0 || now_micros - minute_start_ >= kMinute) {
    minute_start_ = now_micros;
    lines_ = 0;
  }
  if (lines_ >= kLinesPerMinute) {
    ++dropped_;
    return false;
  }
  ++lines_;
  *dropped = dropped_;
  dropped_ = 0;
  return true;
}

void InstallParseErrorCapture() { google::protobuf::SetLogHandler(&Handle); }

ParseErrors::ParseErrors() : outer_(current) { current = this; }

ParseErrors::~ParseErrors() { current = outer_; }

void ParseErrors::Add(const std::string& message) {
  if (!text_.empty()) text_ += "; ";
  // Protobuf ends some messages with a space; a status message that does is an HTTP/2 header
  // value with white space at its end, which some clients (Node's) drop: the client would be
  // told nothing.
  absl::StrAppend(&text_, absl::StripAsciiWhitespace(message));
}

std::string MisencodedField(const google::protobuf::Descriptor& type,
                            const google::protobuf::UnknownField& field) {
  using google::protobuf::UnknownField;
  using google::protobuf::internal::WireFormatLite;
  const google::protobuf::FieldDescriptor* declared = type.FindFieldByNumber(field.number());
  if (declared == nullptr) return "";
  auto text = [](WireFormatLite::WireType t) -> const char* {
    switch (t) {
      case WireFormatLite::WIRETYPE_VARINT:
        return "a varint";
      case WireFormatLite::WIRETYPE_FIXED32:
        return "32 bits";
      case WireFormatLite::WIRETYPE_FIXED64:
        return "64 bits";
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED:
        return "length-delimited";
      default:
        return "a group";
    }
  };
  // UnknownField's types, in its enum's order, as wire types.
  static constexpr WireFormatLite::WireType kSent[] = {
      WireFormatLite::WIRETYPE_VARINT, WireFormatLite::WIRETYPE_FIXED32,
      WireFormatLite::WIRETYPE_FIXED64, WireFormatLite::WIRETYPE_LENGTH_DELIMITED,
      WireFormatLite::WIRETYPE_START_GROUP};
  static_assert(UnknownField::TYPE_VARINT == 0 && UnknownField::TYPE_FIXED32 == 1 &&
                UnknownField::TYPE_FIXED64 == 2 && UnknownField::TYPE_LENGTH_DELIMITED == 3 &&
                UnknownField::TYPE_GROUP == 4);
  return absl::StrCat("field ", field.number(), " (", declared->name(), ") was sent as ",
                      text(kSent[field.type()]), ", but it is ",
                      declared->is_repeated() ? "a repeated "
                      : declared->type_name()[0] == 'e' || declared->type_name()[0] == 'i'
                          ? "an "  // enum, int32
                          : "a ",
                      declared->type_name(), " (",
                      text(WireFormatLite::WireTypeForFieldType(
                          static_cast<WireFormatLite::FieldType>(declared->type()))),
                      ")");
}

std::string ParseErrors::Suffix() const { return text_.empty() ? "" : ": " + text_; }

namespace {

// What in `bytes` breaks protobuf's wire format, where ("byte 7 starts field 2 with wire type 7,
// which protobuf does not have"); "" when every field reads (the fault is then in what a field
// holds: a string that is not UTF-8, say).
std::string WireFault(absl::string_view bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (true) {
    const int at = in.CurrentPosition();
    if (at >= static_cast<int>(bytes.size())) return "";
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      return absl::StrCat("byte ", at,
                          " starts no field (its tag is field number 0, or a "
                          "varint cut short)");
    }
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    const int wire_type = WireFormatLite::GetTagWireType(tag);
    if (number == 0) {
      return absl::StrCat("byte ", at, " starts field number 0, which no message has");
    }
    if (wire_type > WireFormatLite::WIRETYPE_FIXED32) {
      return absl::StrCat("byte ", at, " starts field ", number, " with wire type ", wire_type,
                          ", which protobuf does not have");
    }
    if (wire_type == WireFormatLite::WIRETYPE_END_GROUP) {
      return absl::StrCat("byte ", at, " ends a group (field ", number, ") that was never started");
    }
    if (!WireFormatLite::SkipField(&in, tag)) {
      if (wire_type == WireFormatLite::WIRETYPE_START_GROUP) {
        return absl::StrCat("the group of field ", number, " at byte ", at,
                            " does not end with its own end tag before the bytes end");
      }
      if (wire_type == WireFormatLite::WIRETYPE_VARINT) {
        return absl::StrCat("field ", number, " at byte ", at,
                            " holds a number (a varint) that does not end within 10 bytes, "
                            "its longest, or before the ",
                            bytes.size(), " bytes end");
      }
      return absl::StrCat("field ", number, " at byte ", at, " runs past the end of the ",
                          bytes.size(), " bytes: they are cut short, or its length is wrong");
    }
  }
}

// The path of the first part of `bytes` that does not parse as the message type its field in
// `type` declares, innermost first found ("events[2]"), with the wire fault found in that part
// (WireFault) in `*fault`; "" when no such part fails on its own (`*fault` is then left as it
// is).
std::string PathWhereParseFails(const google::protobuf::Descriptor& type, absl::string_view bytes,
                                std::string* fault) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  absl::flat_hash_map<int, int> seen;  // how many elements of each field have gone before
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    const google::protobuf::FieldDescriptor* field = type.FindFieldByNumber(number);
    if (field == nullptr ||
        field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE ||
        WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      // Not an element (protobuf keeps one of another wire type as an unknown field).
      if (!WireFormatLite::SkipField(&in, tag)) return "";
      continue;
    }
    const int index = seen[number]++;
    uint32_t length = 0;
    std::string part;
    if (!in.ReadVarint32(&length) || !in.ReadString(&part, static_cast<int>(length))) return "";
    std::unique_ptr<google::protobuf::Message> message(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(field->message_type())
            ->New());
    if (message->ParseFromString(part)) continue;
    std::string path =
        field->is_repeated() ? absl::StrCat(field->name(), "[", index, "]") : field->name();
    if (std::string inner = PathWhereParseFails(*field->message_type(), part, fault);
        !inner.empty()) {
      absl::StrAppend(&path, ".", inner);
    } else {
      *fault = WireFault(part);
    }
    return path;
  }
  return "";
}

}  // namespace

std::string WhereParseFails(const google::protobuf::Descriptor& type, absl::string_view bytes) {
  ParseErrors ignored;  // what protobuf says of the parts again
  std::string fault;
  const std::string path = PathWhereParseFails(type, bytes, &fault);
  if (path.empty()) {
    fault = WireFault(bytes);
    return fault.empty() ? "" : absl::StrCat(": ", fault);
  }
  return absl::StrCat(" (its ", path, " does not", fault.empty() ? "" : ": ", fault, ")");
}

}  // namespace govledger
