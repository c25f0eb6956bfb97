#include "cli/explain_command.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <cstddef>
#include <iostream>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/client.h"
#include "cli/event_json.h"
#include "ledger/common/uuid.h"
#include "projections/governance_state.h"

namespace govledger::cli {

// events.proto as a FileDescriptorSet with source info (cli/CMakeLists.txt).
extern const unsigned char kEventsDescriptorSet[];
extern const std::size_t kEventsDescriptorSet_size;

namespace {

namespace pb = google::protobuf;

constexpr char kPackagePrefix[] = "govledger.v1.";
constexpr char kCorrectionType[] = "govledger.v1.CorrectionRecorded";

// events.proto, built into a pool of its own that keeps its comments. Never null: the set is
// compiled in.
const pb::FileDescriptor& EventsFile() {
  static const pb::FileDescriptor* file = [] {
    pb::FileDescriptorSet set;
    if (!set.ParseFromArray(kEventsDescriptorSet, static_cast<int>(kEventsDescriptorSet_size)) ||
        set.file_size() != 1) {
      std::abort();  // a build that embedded something else
    }
    auto* pool = new pb::DescriptorPool();
    const pb::FileDescriptor* built = pool->BuildFile(set.file(0));
    if (built == nullptr) std::abort();
    return built;
  }();
  return *file;
}

// The comment above `d`, each line trimmed; empty when it has none.
template <typename D>
std::vector<std::string> CommentOf(const D& d) {
  pb::SourceLocation location;
  std::vector<std::string> lines;
  if (!d.GetSourceLocation(&location)) return lines;
  for (absl::string_view line : absl::StrSplit(location.leading_comments, '\n')) {
    lines.emplace_back(absl::StripAsciiWhitespace(line));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// The first sentence of `d`'s comment, on one line, passing over one that only names the
// stream ("Stream key/<key_id>.").
template <typename D>
std::string Summary(const D& d) {
  const std::string text = absl::StrJoin(CommentOf(d), " ");
  size_t start = 0;
  for (size_t end = text.find(". "); start < text.size(); end = text.find(". ", end + 1)) {
    if (end != std::string::npos && (absl::EndsWith(text.substr(0, end), "e.g") ||
                                     absl::EndsWith(text.substr(0, end), "i.e"))) {
      continue;  // not the end of a sentence
    }
    std::string sentence = text.substr(start, end == std::string::npos ? end : end + 1 - start);
    if (!absl::StartsWith(sentence, "Stream ")) return sentence;
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return "";
}

// The governance event types, in the order events.proto declares them.
std::vector<const pb::Descriptor*> EventTypes() {
  std::vector<const pb::Descriptor*> types;
  const pb::FileDescriptor& file = EventsFile();
  for (int i = 0; i < file.message_type_count(); ++i) {
    const pb::Descriptor* m = file.message_type(i);
    if (projections::IsKnownGovernanceType(m->full_name())) types.push_back(m);
  }
  return types;
}

// A field's type as JSON writes it.
std::string TypeName(const pb::FieldDescriptor& field) {
  std::string name;
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      name = field.message_type()->name();
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      std::vector<std::string> values;
      for (int i = 0; i < field.enum_type()->value_count(); ++i) {
        if (field.enum_type()->value(i)->number() != 0) {
          values.push_back(field.enum_type()->value(i)->name());
        }
      }
      name = absl::StrCat(field.enum_type()->name(), ": ", absl::StrJoin(values, " | "));
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      name = "integer (64-bit: a JSON string or number)";
      break;
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      name = "integer";
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      name = "true | false";
      break;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      name = field.type() == pb::FieldDescriptor::TYPE_BYTES ? "bytes (base64)" : "text";
      break;
    default:
      name = field.type_name();
  }
  return field.is_repeated() ? absl::StrCat("list of ", name) : name;
}

// `message`'s fields, each with its comment, those of a message field below it (`depth`
// levels in), into `out`. `open`: the messages being printed, against a message that holds
// itself.
void PrintFields(const pb::Descriptor& message, int depth, std::set<const pb::Descriptor*>* open,
                 std::string* out) {
  open->insert(&message);
  const std::string indent(2 + 4 * depth, ' ');
  for (int i = 0; i < message.field_count(); ++i) {
    const pb::FieldDescriptor& field = *message.field(i);
    absl::StrAppend(out, indent, field.json_name(), ": ", TypeName(field), "\n");
    for (const std::string& line : CommentOf(field)) {
      absl::StrAppend(out, indent, "    ", line, "\n");
    }
    // What each value of an enum means, where events.proto says ("AMOUNT_KIND_ONE_OFF: One-off
    // revenue cost: ...").
    if (field.cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM) {
      const pb::EnumDescriptor& e = *field.enum_type();
      for (int v = 0; v < e.value_count(); ++v) {
        const std::vector<std::string> meaning = CommentOf(*e.value(v));
        if (e.value(v)->number() == 0 || meaning.empty()) continue;
        absl::StrAppend(out, indent, "    ", e.value(v)->name(), ": ", absl::StrJoin(meaning, " "),
                        "\n");
      }
    }
    if (field.cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
        !open->contains(field.message_type())) {
      PrintFields(*field.message_type(), depth + 1, open, out);
    }
  }
  open->erase(&message);
}

// A JSON value of `message` with every field present: "" for text, 0, one element for a list;
// null for a number whose absence means something (`optional`: a benefit without a figure),
// which a 0 would fill in; for an enum, its values to choose from ("RAG_GREEN | RAG_AMBER |
// RAG_RED"), which import refuses as they stand: any one value would be a rating or a kind the
// clerk never gave (a risk recorded GREEN because the template said so).
std::string Template(const pb::Descriptor& message, std::set<const pb::Descriptor*>* open) {
  open->insert(&message);
  std::vector<std::string> members;
  for (int i = 0; i < message.field_count(); ++i) {
    const pb::FieldDescriptor& field = *message.field(i);
    std::string value;
    switch (field.cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        value = open->contains(field.message_type()) ? "{}"
                                                     : Template(*field.message_type(), open);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        const pb::EnumDescriptor& e = *field.enum_type();
        std::vector<std::string> choices;
        for (int v = 0; v < e.value_count(); ++v) {
          if (e.value(v)->number() != 0) choices.push_back(e.value(v)->name());
        }
        value = absl::StrCat("\"", absl::StrJoin(choices, " | "), "\"");
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_STRING:
        value = "\"\"";
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        value = "false";
        break;
      default:
        value = field.has_optional_keyword() ? "null" : "0";
    }
    if (field.is_repeated()) value = absl::StrCat("[", value, "]");
    members.push_back(absl::StrCat("\"", field.json_name(), "\":", value));
  }
  open->erase(&message);
  return absl::StrCat("{", absl::StrJoin(members, ","), "}");
}

// A whole event document of `type` to fill in: a new event id, the envelope's members a
// clerk gives, and the payload's.
std::string Document(const pb::Descriptor& type) {
  std::set<const pb::Descriptor*> open;
  // The descriptor comes from the embedded pool (with comments): compare by name.
  const bool correction = type.full_name() == kCorrectionType;
  return absl::StrCat(
      "{\"eventId\":\"", NewUuid(), "\",",
      correction ? absl::StrCat("\"streamId\":\"", kTemplateCorrectionStream, "\",") : "",
      "\"eventType\":\"", type.full_name(), "\",\"effectiveTime\":\"", kTemplateEffectiveTime,
      "\",\"source\":\"", kTemplateSource, "\",\"payload\":", Template(type, &open), "}");
}

}  // namespace

std::optional<std::string> PayloadTemplate(const std::string& type) {
  for (const pb::Descriptor* t : EventTypes()) {
    if (t->full_name() == type) {
      std::set<const pb::Descriptor*> open;
      return Template(*t, &open);
    }
  }
  return std::nullopt;
}

ExplainCommand::ExplainCommand(CLI::App& app) {
  explain_ = app.add_subcommand(
      "explain",
      "What a governance event's payload holds: its fields (JSON names), types, enum values "
      "and rules, from events.proto's comments; and a document to fill in. Offline");
  explain_->add_option("TYPE", type_,
                       "An event type, e.g. RiskOpened or govledger.v1.RiskOpened (none: list "
                       "them)");
  explain_->add_flag("--template", template_,
                     "Print only the document to fill in, one JSON line (for import)");
  explain_->footer(
      "Examples:\n"
      "  govledger explain\n"
      "  govledger explain StatusReported\n"
      "  govledger explain RiskOpened --template >> risks.jsonl");
}

std::optional<int> ExplainCommand::Run() {
  if (!explain_->parsed()) return std::nullopt;
  const std::vector<const pb::Descriptor*> types = EventTypes();
  if (type_.empty()) {
    if (template_) return Fail(kExitBadArgs, "explain: --template needs a TYPE");
    size_t width = 0;
    for (const pb::Descriptor* t : types) width = std::max(width, t->name().size());
    std::cout << "Governance event types (" << kPackagePrefix
              << "TYPE; `govledger explain TYPE` shows one's payload):\n";
    for (const pb::Descriptor* t : types) {
      std::cout << "  " << t->name() << std::string(width - t->name().size() + 2, ' ')
                << Summary(*t) << "\n";
    }
    return kExitOk;
  }
  const std::string name(absl::StripPrefix(type_, kPackagePrefix));
  const pb::Descriptor* type = nullptr;
  const pb::Descriptor* near = nullptr;
  for (const pb::Descriptor* t : types) {
    if (t->name() == name) type = t;
    if (absl::EqualsIgnoreCase(t->name(), name)) near = t;
  }
  if (type == nullptr) {
    return Fail(kExitBadArgs,
                absl::StrCat("explain: '", type_, "' is not a governance event type",
                             near != nullptr ? absl::StrCat(" (did you mean ", near->name(), "?)")
                                             : "",
                             "; `govledger explain` lists them"));
  }
  if (template_) {
    std::cout << Document(*type) << "\n";
    return kExitOk;
  }
  std::string out = absl::StrCat(type->full_name(), "\n");
  for (const std::string& line : CommentOf(*type)) absl::StrAppend(&out, "  ", line, "\n");
  absl::StrAppend(&out, "\nPayload (", type->full_name() == kCorrectionType
                                           ? "on the corrected event's stream"
                                           : "its stream is read from it",
                  "; a field left out is unset):\n");
  std::set<const pb::Descriptor*> open;
  PrintFields(*type, 0, &open, &out);
  absl::StrAppend(&out, "\nA document to fill in (README, \"Events as JSON\"; `--template` "
                        "prints it alone):\n",
                  Document(*type), "\n");
  std::cout << out;
  return kExitOk;
}

}  // namespace govledger::cli
