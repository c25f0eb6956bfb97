#include "cli/printable.h"

#include <cstdint>

#include "absl/strings/str_format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "ledger/common/text.h"

namespace govledger::cli {
namespace {

// Whether the character `cp` at `i` in `text` is a line break or tab kept as it is.
bool Kept(absl::string_view text, size_t i, uint32_t cp, LineBreaks line_breaks) {
  if (line_breaks != LineBreaks::kKeep) return false;
  return cp == '\n' || cp == '\t' || (cp == '\r' && i + 1 < text.size() && text[i + 1] == '\n');
}

bool NeedsEscapes(absl::string_view text, LineBreaks line_breaks) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    const size_t n = Utf8Length(text.substr(i), &cp);
    if (n == 0 || (ActsRatherThanShows(cp) && !Kept(text, i, cp, line_breaks))) return true;
    i += n;
  }
  return false;
}

}  // namespace

std::string PrintableText(absl::string_view text, LineBreaks line_breaks) {
  if (!NeedsEscapes(text, line_breaks)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    const size_t n = Utf8Length(text.substr(i), &cp);
    if (n == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<uint8_t>(text[i]));
      ++i;
      continue;
    }
    if (!ActsRatherThanShows(cp) || Kept(text, i, cp, line_breaks)) {
      out.append(text.data() + i, n);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x80) {
      absl::StrAppendFormat(&out, "\\x%02x", cp);
    } else {
      absl::StrAppendFormat(&out, "\\u%04x", cp);
    }
    i += n;
  }
  return out;
}

void MakePrintable(google::protobuf::Message* message, LineBreaks line_breaks) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* descriptor = message->GetDescriptor();
  const google::protobuf::Reflection* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        std::string scratch;
        for (int k = 0; k < reflection->FieldSize(*message, field); ++k) {
          const std::string& text =
              reflection->GetRepeatedStringReference(*message, field, k, &scratch);
          if (NeedsEscapes(text, line_breaks)) {
            reflection->SetRepeatedString(message, field, k, PrintableText(text, line_breaks));
          }
        }
      } else {
        std::string scratch;
        const std::string& text = reflection->GetStringReference(*message, field, &scratch);
        if (NeedsEscapes(text, line_breaks)) {
          reflection->SetString(message, field, PrintableText(text, line_breaks));
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int k = 0; k < reflection->FieldSize(*message, field); ++k) {
          MakePrintable(reflection->MutableRepeatedMessage(message, field, k), line_breaks);
        }
      } else if (reflection->HasField(*message, field)) {
        MakePrintable(reflection->MutableMessage(message, field), line_breaks);
      }
    }
  }
}

}  // namespace govledger::cli
