#include "cli/printable.h"

#include <string>
#include <utility>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "ledger/common/text.h"

namespace govledger::cli {

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
