#include "ledger/server/async_calls.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "govledger/v1/ledger.pb.h"
#include "ledger/common/parse_errors.h"

namespace govledger {
namespace {

// The number of the first unknown field in `message` or the messages it holds, depth first,
// with `path` set to where it is ("" for `message` itself), `type` to the message type that
// holds it, and `misencoded` to MisencodedField's account of it; 0 if none.
int FirstUnknownField(const google::protobuf::Message& message, std::string* path,
                      std::string* type, std::string* misencoded) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (const google::protobuf::UnknownFieldSet& unknown = reflection->GetUnknownFields(message);
      !unknown.empty()) {
    *type = message.GetDescriptor()->full_name();
    *misencoded = MisencodedField(*message.GetDescriptor(), unknown.field(0));
    return unknown.field(0).number();
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    // An event's fields are the ledger core's to check (ValidateAppendRequest), by its index.
    if (field->message_type() == v1::Event::descriptor()) continue;
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      const google::protobuf::Message& inner =
          field->is_repeated() ? reflection->GetRepeatedMessage(message, field, i)
                               : reflection->GetMessage(message, field);
      std::string inner_path;
      if (const int number = FirstUnknownField(inner, &inner_path, type, misencoded);
          number != 0) {
        *path = field->is_repeated() ? absl::StrCat(field->name(), "[", i, "]") : field->name();
        if (!inner_path.empty()) absl::StrAppend(path, ".", inner_path);
        return number;
      }
    }
  }
  return 0;
}

}  // namespace

std::string WhereParseFails(const google::protobuf::Descriptor& type, const grpc::ByteBuffer& raw) {
  std::vector<grpc::Slice> slices;
  if (!raw.Dump(&slices).ok()) return "";
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return WhereParseFails(type, bytes);
}

absl::Status RefuseUnknownFields(const google::protobuf::Message& request) {
  std::string path;
  std::string type;
  std::string misencoded;
  const int number = FirstUnknownField(request, &path, &type, &misencoded);
  if (number == 0) return absl::OkStatus();
  if (!misencoded.empty()) {  // not a newer field: bytes the request's type cannot hold
    return absl::InvalidArgumentError(absl::StrCat(
        "the request does not parse as a ", request.GetDescriptor()->full_name(), ": ",
        path.empty() ? "its " : absl::StrCat("its ", path, "'s "), misencoded));
  }
  const std::string where = path.empty() ? "the request" : absl::StrCat("the request's ", path);
  // Protobuf's own types (a Timestamp) gain no fields in any release: no upgrade would help.
  const bool standard = absl::StartsWith(type, "google.protobuf.");
  return errors::WithReason(
      absl::InvalidArgumentError(
          standard
              ? absl::StrCat(where, " holds field number ", number, ", which a ", type,
                             " does not have (protobuf's own type, the same in every release): "
                             "send only its fields",
                             type == "google.protobuf.Timestamp" ? " (seconds and nanos)" : "")
              : absl::StrCat(where, " holds field number ", number, ", which this govledgerd's ",
                             type, " (release ", GOVLEDGER_VERSION,
                             ") does not have: it is from a newer client, and would be ignored, "
                             "so the request is refused; leave the field unset, or upgrade "
                             "govledgerd")),
      errors::reason::kUnknownField, {{"field", path}, {"field_number", absl::StrCat(number)}});
}

void ServeCalls(grpc::CompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) static_cast<CallStep*>(tag)->Proceed(ok);
}

}  // namespace govledger
