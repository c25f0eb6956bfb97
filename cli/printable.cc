#include "cli/printable.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "ledger/common/text.h"

namespace govledger::cli {

namespace {

// A code point a reader takes for a double quote (quotation marks, primes, modifier letters,
// the fullwidth quote), or one that shows as nothing (zero-width spaces and joiners, the word
// joiner, invisible operators, the byte order mark, a soft hyphen, Hangul fillers) or breaks the
// line (U+2028, U+2029).
bool QuoteLikeOrUnseen(uint32_t cp) {
  switch (cp) {
    case 0x00AB:
    case 0x00BB:
    case 0x02BA:
    case 0x02DD:
    case 0x02EE:
    case 0x02F5:
    case 0x02F6:
    case 0x030B:
    case 0x030E:
    case 0x05F4:
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
    case 0x2033:
    case 0x2036:
    case 0x275D:
    case 0x275E:
    case 0x2E42:
    case 0x301D:
    case 0x301E:
    case 0x301F:
    case 0xFF02:
    case 0x00AD:
    case 0x034F:
    case 0x115F:
    case 0x1160:
    case 0x180E:
    case 0x200B:
    case 0x200C:
    case 0x200D:
    case 0x2028:
    case 0x2029:
    case 0x2060:
    case 0x2061:
    case 0x2062:
    case 0x2063:
    case 0x2064:
    case 0x3164:
    case 0xFEFF:
    case 0xFFA0:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string QuotedText(absl::string_view text) {
  // Before PrintableText, whose escapes start with a backslash of their own.
  const std::string shown =
      PrintableText(absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\"", "\\\""}}));
  std::string out = "\"";
  for (size_t i = 0; i < shown.size();) {
    uint32_t cp = 0;
    const size_t n = std::max<size_t>(1, Utf8Length(absl::string_view(shown).substr(i), &cp));
    if (QuoteLikeOrUnseen(cp)) {
      absl::StrAppendFormat(&out, "\\u%04x", cp);
    } else {
      out.append(shown, i, n);
    }
    i += n;
  }
  out += "\"";
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
          if (std::string shown = PrintableText(text, line_breaks); shown != text) {
            reflection->SetRepeatedString(message, field, k, std::move(shown));
          }
        }
      } else {
        std::string scratch;
        const std::string& text = reflection->GetStringReference(*message, field, &scratch);
        if (std::string shown = PrintableText(text, line_breaks); shown != text) {
          reflection->SetString(message, field, std::move(shown));
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
