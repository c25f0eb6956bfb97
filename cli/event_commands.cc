#include "cli/event_commands.h"

#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/client.h"
#include "cli/event_json.h"
#include "cli/export_chain.h"
#include "cli/log_pages.h"
#include "cli/printable.h"
#include "cli/progress.h"
#include "cli/query_text.h"
#include "cli/stdout_buffer.h"
#include "cli/table.h"
#include "cli/time_flags.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/common/errors.h"
#include "ledger/common/files.h"
#include "ledger/common/flags.h"
#include "ledger/common/names.h"
#include "ledger/common/numbers.h"
#include "ledger/common/text.h"
#include "ledger/common/time.h"
#include "ledger/common/uuid.h"
#include "ledger/crypto/sha256.h"
#include "ledger/envelope.h"
#include "ledger/ledger.h"
#include "ledger/stored_event.h"

namespace govledger::cli {
namespace {

namespace pb = ::google::protobuf;

// A document refused before anything is sent: exit 2 when it is malformed; 1, as the server's
// refusal would be, when deriving its stream met a governance rule (ParseEventDocument).
int FailDocument(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    return Fail(kExitRefused, absl::StrCat("FAILED_PRECONDITION: ", status.message()));
  }
  return Fail(kExitBadArgs, std::string(status.message()));
}
// The last version of `stream`, read backwards (a stream with no events: NOT_FOUND).
grpc::Status GetStreamVersion(v1::LedgerService::Stub& stub, const std::string& stream,
                              uint64_t* version) {
  v1::ReadRequest request;
  request.set_stream_id(stream);
  request.set_direction(v1::DIRECTION_BACKWARD);
  request.set_limit(1);
  v1::ReadResponse response;
  auto context = NewCallContext();
  grpc::Status status = stub.Read(context.get(), request, &response);
  if (!status.ok()) return status;
  if (response.events().empty()) {  // a server that answers an empty stream with no events
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("stream ", stream, " has no events"));
  }
  *version = response.events(0).stream_version();
  return grpc::Status::OK;
}

// --expect: "any", "no-stream" or a stream version.
absl::StatusOr<v1::ExpectedVersion> ParseExpected(const std::string& stream,
                                                  const std::string& text) {
  v1::ExpectedVersion expected;
  expected.set_stream_id(stream);
  uint64_t version = 0;
  if (text == "any") {
    expected.set_kind(v1::ExpectedVersion::KIND_ANY);
  } else if (text == "no-stream") {
    expected.set_kind(v1::ExpectedVersion::KIND_NO_STREAM);
  } else if (ParseWholeNumber(text, std::numeric_limits<uint64_t>::max(), &version)) {
    expected.set_kind(v1::ExpectedVersion::KIND_EXACT);
    expected.set_version(version);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--expect \"", text, "\": give any, no-stream or a stream version (a whole number)"));
  }
  return expected;
}

// An event's document from `path` ("-": stdin), of at most kMaxEventDocumentBytes.
absl::StatusOr<std::string> ReadAllOf(const std::string& path) {
  if (path != "-") return ReadWholeFile(path, kMaxEventDocumentBytes);
  std::string bytes;
  char buffer[65536];
  while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
    bytes.append(buffer, static_cast<size_t>(std::cin.gcount()));
    if (bytes.size() > kMaxEventDocumentBytes) {
      return absl::FailedPreconditionError(absl::StrCat(
          "stdin holds more than ", kMaxEventDocumentBytes, " bytes, more than an event's document"));
    }
  }
  return bytes;
}

// The document `append` was given by flags (`id`: "" for none, which `append` then gives it;
// `effective`: absent, or as --effective gave it; `source`: "" for none).
absl::StatusOr<std::string> DocumentFromFlags(const std::string& stream, const std::string& type,
                                              const std::string& id,
                                              const std::optional<pb::Timestamp>& effective,
                                              const std::string& source,
                                              const std::string& given_payload) {
  // A payload saved by an editor that starts UTF-8 with a byte order mark, as a document may.
  absl::string_view payload = given_payload;
  absl::ConsumePrefix(&payload, "\xEF\xBB\xBF");
  pb::Struct doc;
  auto& fields = *doc.mutable_fields();
  if (!id.empty()) fields["eventId"].set_string_value(id);
  fields["streamId"].set_string_value(stream);
  fields["eventType"].set_string_value(type);
  if (effective) fields["effectiveTime"].set_string_value(pb::util::TimeUtil::ToString(*effective));
  if (!source.empty()) {
    if (absl::Status s = ValidateSource(source); !s.ok()) {
      return absl::InvalidArgumentError(PrintableText(absl::StrCat("--source: ", s.message())));
    }
    fields["source"].set_string_value(source);
  }
  if (!payload.empty()) {
    if (absl::Status strict = CheckJsonText(payload, /*payload=*/true); !strict.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--payload: ", strict.message(),
          absl::StartsWith(strict.message(), "not JSON")
              ? ": give a JSON object (the event type's fields) or a JSON string of base64"
              : ""));
    }
  }
  std::string json;
  (void)pb::util::MessageToJsonString(doc, &json);
  if (payload.empty()) return json;
  // The payload as given, not read into a Value and written again: a Value holds numbers as
  // doubles, and would write 2000000000000000 as 2e+15. `json` is "{...}" with members.
  json.pop_back();
  absl::StrAppend(&json, ",\"payload\":", absl::StripAsciiWhitespace(payload), "}");
  return json;
}
// A Subscribe call whose events arrive as their stored bytes, as `export` reads pages, so that
// `tail --json` writes an event with fields this version does not know with those bytes
// (ExportDocument), verifiable like an export. Blocking, one operation at a time; not
// thread-safe. No deadline: it follows the log until the stream ends or Cancel.
class RawSubscription {
 public:
  // Subscribes with `request` (its from_position and filters).
  RawSubscription(const std::shared_ptr<grpc::Channel>& channel,
                  const v1::SubscribeRequest& request)
      : stub_(channel) {
    call_ = stub_.PrepareCall(&context_, kSubscribeMethod, &cq_);
    call_->StartCall(this);
    ok_ = Await();
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    if (ok_) {
      call_->Write(grpc::ByteBuffer(&slice, 1), this);
      ok_ = Await();
    }
    if (ok_) {
      call_->WritesDone(this);
      ok_ = Await();
    }
  }
  RawSubscription(const RawSubscription&) = delete;
  RawSubscription& operator=(const RawSubscription&) = delete;
  ~RawSubscription() {
    if (!finished_) {
      context_.TryCancel();
      Finish().IgnoreError();
    }
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // The next event's stored bytes; false once the stream has ended (then call Finish).
  bool Next(std::string* stored) {
    if (!ok_) return false;
    grpc::ByteBuffer buffer;
    call_->Read(&buffer, this);
    if (!(ok_ = Await())) return false;
    std::vector<grpc::Slice> slices;
    if (!buffer.Dump(&slices).ok()) return ok_ = false;
    stored->clear();
    for (const grpc::Slice& slice : slices) {
      stored->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return true;
  }

  // How the call ended. Once only.
  grpc::Status Finish() {
    grpc::Status status;
    call_->Finish(&status, this);
    Await();
    finished_ = true;
    return status;
  }

  void Cancel() { context_.TryCancel(); }

 private:
  static constexpr char kSubscribeMethod[] = "/govledger.v1.LedgerService/Subscribe";

  // Waits for the one operation in flight; false when it failed (the stream ended).
  bool Await() {
    void* tag = nullptr;
    bool ok = false;
    return cq_.Next(&tag, &ok) && ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool ok_ = false;
  bool finished_ = false;
};

// RFC 3339 to the second, for people.
std::string ShortTime(const pb::Timestamp& t) {
  return FormatRfc3339(t.seconds() * kMicrosPerSecond);
}

// The server's own checks of an event's stream and type, made before anything is sent (append,
// import); INVALID_ARGUMENT saying what to give. `flags`: append's, which may give them too.
absl::Status CheckEnvelope(const v1::Event& event, bool flags) {
  if (event.event_type().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the event has no eventType: give one, e.g. \"eventType\": "
                     "\"govledger.v1.RiskClosed\"",
                     flags ? " (or --type)" : ""));
  }
  if (event.stream_id().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the event has no streamId: ", PrintableText(event.event_type()),
        " is not a governance event type, whose stream the CLI reads from its payload; give "
        "one",
        flags ? " (--stream, or streamId)" : ""));
  }
  for (const absl::Status& s :
       {ValidateStreamId(event.stream_id()), ValidateEventType(event.event_type())}) {
    if (!s.ok()) return absl::InvalidArgumentError(PrintableText(s.message()));
  }
  return absl::OkStatus();
}

// The plan week (0: none given) of a status report that gives no effective time, which takes
// effect when the server receives it; nullopt for any other event.
// For an event that records what a paper reported (a status report, a risk's opening,
// re-rating, closure or transfer, a scope change, a gate, a milestone, a benefit, a closure or
// re-plan) appended without its effective time, which then is when the server received it (and
// it reads as the latest of every week since): what to call it in a note, "the status report
// for plan week 86", "the RiskRerated"; nullopt for any other event. Registrations, keys,
// decisions and corrections taking effect when recorded are the usual case, not noted.
std::optional<std::string> UndatedPaperEvent(const v1::Event& event) {
  absl::string_view type = event.event_type();
  if (event.has_effective_time() || !absl::ConsumePrefix(&type, "govledger.v1.")) {
    return std::nullopt;
  }
  static const auto* const kOfPapers = new absl::flat_hash_set<absl::string_view>{
      "StatusReported",  "RiskOpened",       "RiskRerated",       "RiskClosed",
      "RiskTransferred", "ScopeItemAdded",   "ScopeItemRemoved",  "ScopeItemTransferred",
      "GatePassed",      "MilestoneReached", "BenefitForecast",   "BenefitRealised",
      "ProjectClosed",   "ProgrammeClosed",  "ProgrammeReplanned"};
  if (!kOfPapers->contains(type)) return std::nullopt;
  v1::StatusReported report;
  if (type == "StatusReported" && report.ParseFromString(event.payload())) {
    return report.plan_week() > 0
               ? absl::StrCat("the status report for plan week ", report.plan_week())
               : std::string("the status report");
  }
  return absl::StrCat("the ", type);
}

}  // namespace

EventCommands::EventCommands(CLI::App& app, std::string& server_flag) {
  head_ = app.add_subcommand("head", "Print the head position, event count and hash");
  head_->add_flag("--json", json_, "Print GetHeadResponse as JSON (the hash in base64)");
  head_->add_option("--server", server_flag, "govledgerd address");
  head_->footer("Examples:\n  govledger head\n  govledger --server 10.0.0.5:50051 head --json");

  append_ = app.add_subcommand(
      "append", "Append one event, given by flags or as a JSON document (README, \"Events as JSON\")");
  append_->footer(
      "Examples:\n"
      "  govledger append --stream programme/LPP --type govledger.v1.StatusReported \\\n"
      "    --effective 2016-12-21 --source 'JAC programme update report, week 86' --payload "
      "'{\"subject\":{\"kind\":\"WORK_KIND_PROGRAMME\",\"id\":\"LPP\"},\"rag\":\"RAG_AMBER\","
      "\"planWeek\":86}'\n"
      "  govledger append --type govledger.v1.RiskClosed --payload "
      "'{\"riskId\":\"LPP-R07\",\"reason\":\"Mitigated\"}'   # on risk/LPP-R07\n"
      "  govledger append --document \"$(cat event.json)\" --expect 4\n"
      "  govledger append --file event.json --actor 'J. Smith (PMO)'");
  append_->add_option("--stream", stream_,
                      "Stream id, e.g. risk/LPP-R07 (default for a governance event: its "
                      "entity's stream, read from the payload)");
  append_->add_option("--type", type_, "Event type, e.g. govledger.v1.RiskOpened");
  append_->add_option("--payload", payload_,
                      "Payload: a JSON object of the type's fields, or a JSON string of base64");
  append_->add_option("--id", id_, "Event id, a UUID (default: a new random one)")
      ->check([](const std::string& id) -> std::string {
        return ParseUuid(id).has_value()
                   ? ""
                   : "not a UUID: give 8-4-4-4-12 hex digits, e.g. "
                     "3f2b6c1e-8d4a-4b7e-9c1d-2a5e6f708192";
      });
  append_->add_option("--effective", effective_,
                      "Effective time, RFC 3339 or YYYY-MM-DD (the start of that day, 00:00 UTC; "
                      "default: when the server receives the append)");
  append_->add_option("--source", source_,
                      "Where the fact comes from: the paper, meeting or system, one line of at "
                      "most 500 bytes (stored with the event, shown by history)");
  append_->add_option("--document", document_, "The whole event as one JSON document");
  append_->add_option("--file", file_, "Read the JSON document from FILE (- for stdin)");
  append_->add_option("--expect", expect_,
                      "Expected version of the stream: any, no-stream or a version")
      ->capture_default_str();
  append_->add_flag("--json", json_, "Print the AppendResponse as JSON");

  import_ = app.add_subcommand(
      "import", "Append the events of JSON Lines files, in order; safe to rerun (idempotent)");
  import_->footer(
      "Batches of --batch events per call, and of at most 16 MiB. Stops at the first bad line,\n"
      "naming FILE:LINE and the\n"
      "field; the events before it are stored, and a rerun stores none of them twice.\n"
      "A file `export` wrote is checked as `verify --file` checks it (each event's hash, the\n"
      "chain from one position to the next, a last line cut short): an import stops at a\n"
      "damaged event, before storing it.\n\n"
      "Examples:\n"
      "  govledger import deploy/demo/*.jsonl\n"
      "  govledger export | govledger --server other:50051 import -");
  import_->add_option("FILE", files_, "JSON Lines files, - for stdin")->required();
  import_->add_option("--batch", batch_, "Events per append call")
      ->capture_default_str()
      ->check(WholeNumberIn(1, 10000));
  import_->add_flag("--allow-gaps", allow_gaps_,
                    "An export of one stream: its positions skip, each event then checked on "
                    "its own (as verify --file --allow-gaps)");

  for (CLI::App* sub : {append_, import_}) {
    sub->add_option("--actor", actor_,
                    "Who is appending (recorded as each event's actor); with an access token, "
                    "the token's actor (the default)");
  }

  export_ = app.add_subcommand(
      "export", "Write events as JSON Lines (every field, the server's included)");
  export_->footer(
      "`govledger import` reads the output back.\n\n"
      "Examples:\n"
      "  govledger export > ledger.jsonl\n"
      "  govledger export --from 100 --to 200 --out part.jsonl\n"
      "  govledger export --stream decision/MOPAC/PCD-72");
  // Positions and counts take a range: CLI11 alone reads "-5" into an unsigned integer as
  // 2^64 - 5.
  const CLI::Validator position_range = WholeNumberIn(uint64_t{0}, uint64_t{INT64_MAX});
  // 0 is no position and no count (from_, to_ and limit_ hold 0 for "not given").
  const CLI::Validator from_one = WholeNumberIn(uint64_t{1}, uint64_t{INT64_MAX});
  export_->add_option("--from", from_, "First position (stream version with --stream; default 1)")
      ->check(from_one);
  export_->add_option("--to", to_, "Last position (default: the head when export starts)")
      ->check(from_one);
  export_->add_option("--stream", stream_, "Only this stream");
  export_->add_option("--out", out_, "Write to FILE (new) instead of stdout ('-': stdout)");

  tail_ = app.add_subcommand("tail",
                             "Print the last events, then follow the log live (Ctrl-C stops)");
  tail_->footer(
      "Examples:\n"
      "  govledger tail\n"
      "  govledger tail -n 100 --json\n"
      "  govledger tail --from 1 --limit 50\n"
      "  govledger tail -n 0 --stream-prefix decision/ --type govledger.v1.DecisionSigned\n"
      "  govledger tail --from 1 --retry --json >> ledger.jsonl");
  CLI::Option* tail_lines =
      tail_->add_option("-n,--lines", last_, "Start this many events before the head")
          ->capture_default_str()
          ->check(position_range);
  tail_->add_option("--from", from_, "Start at this position instead (1: the first event)")
      ->check(from_one)
      ->excludes(tail_lines);
  tail_->add_option("--limit", limit_, "Stop after this many events (default: follow forever)")
      ->check(from_one);
  tail_->add_flag("--json", json_, "One JSON document per event");
  tail_->add_option("--stream-prefix", stream_prefixes_,
                    "Only events whose stream id starts with this, e.g. decision/ (repeat for "
                    "several; filtered by the server)");
  tail_->add_option("--type", event_types_,
                    "Only events of this type, e.g. govledger.v1.DecisionSigned (repeat for "
                    "several; with --stream-prefix, an event must match both)");
  tail_->add_flag("--retry", retry_,
                  "When the connection is lost or the server restarts (UNAVAILABLE, or a call "
                  "the stopping server cancels: CANCELLED), or its subscriptions are all "
                  "taken (RESOURCE_EXHAUSTED), say so on "
                  "stderr and subscribe again after the last event printed (with filters, after "
                  "the last position the server said it had read past), every few seconds "
                  "until it succeeds: no event is skipped or repeated");

  sources_ = app.add_subcommand(
      "sources", "The sources events name (the papers, meetings and systems they record), each "
                 "with its events; or the events that name one");
  sources_->add_option("--source", source_filter_,
                       "List the events that name this source (exactly as recorded) instead");
  sources_->add_flag("--json", json_,
                     "The list as one JSON object (README); with --source, one JSON document "
                     "per event, as `export` writes them");
  sources_->footer(
      "Reads the whole log. Each source is listed once, in the order first named, with how many\n"
      "events name it, how many entities (streams) they concern, the positions of the first and\n"
      "last, and the dates their effective times span; then how many events name none.\n\n"
      "Examples:\n"
      "  govledger sources\n"
      "  govledger sources --json | jq -r '.sources[].source'\n"
      "  govledger sources --source 'Record of Decision PCC/D/2017/05, Mobilising "
      "Transformational Change, ...'\n"
      "  govledger sources --source \"$PAPER\" --json > paper.jsonl");

  for (CLI::App* sub : {append_, import_, export_, tail_, sources_}) {
    sub->add_option("--server", server_flag, "govledgerd address");
  }
}

std::optional<int> EventCommands::Run(const std::string& server) {
  if (head_->parsed()) return Head(server);
  if (append_->parsed()) return Append(server);
  if (import_->parsed()) return Import(server);
  if (export_->parsed()) return Export(server);
  if (tail_->parsed()) return Tail(server);
  if (sources_->parsed()) return Sources(server);
  return std::nullopt;
}

int EventCommands::Head(const std::string& server) {
  auto stub = v1::LedgerService::NewStub(Connect(server));
  v1::GetHeadResponse response;
  if (grpc::Status s = GetHead(*stub, &response); !s.ok()) return FailCall(server, s);
  if (json_) return PrintJson(response);  // an empty ledger's zeros too
  std::cout << "position " << response.position() << "\nevents   " << response.event_count()
            << "\nhash     " << crypto::ToHex(response.hash()) << "\n";
  return kExitOk;
}

int EventCommands::Append(const std::string& server) {
  const bool by_flags = !stream_.empty() || !type_.empty();
  const int sources = !document_.empty() + !file_.empty() + by_flags;
  if (sources == 0) {
    return Fail(kExitBadArgs,
                "append: give the event by flags (--type, and --stream unless the type is a "
                "governance event's), or --document, or --file");
  }
  if (sources > 1) {
    std::vector<std::string> given;
    if (by_flags) given.push_back(!type_.empty() ? "--type" : "--stream");
    if (!document_.empty()) given.push_back("--document");
    if (!file_.empty()) given.push_back("--file");
    return Fail(kExitBadArgs,
                absl::StrCat("append: ", absl::StrJoin(given, " and "),
                             " each give the event: use one of them (a document names its own "
                             "streamId and eventType)"));
  }
  std::string document;
  if (by_flags) {
    if (type_.empty()) return Fail(kExitBadArgs, "append: --type is required with --stream");
    std::optional<pb::Timestamp> effective;
    if (!effective_.empty()) {
      absl::StatusOr<pb::Timestamp> t = ParseEffectiveFlag("--effective", effective_);
      if (!t.ok()) return Fail(kExitBadArgs, absl::StrCat("append: ", t.status().message()));
      effective = *t;
    }
    absl::StatusOr<std::string> built =
        DocumentFromFlags(stream_, type_, id_, effective, source_, payload_);
    if (!built.ok()) return Fail(kExitBadArgs, std::string(built.status().message()));
    document = *std::move(built);
  } else if (!type_.empty() || !payload_.empty() || !id_.empty() || !effective_.empty() ||
             !source_.empty()) {
    return Fail(kExitBadArgs,
                "append: --payload, --id, --effective and --source go with --type, not with a "
                "document (a document gives its own \"source\")");
  } else if (!file_.empty()) {
    absl::StatusOr<std::string> text = ReadAllOf(file_);
    if (!text.ok()) return Fail(kExitBadArgs, std::string(text.status().message()));
    document = *std::move(text);
  } else {
    document = document_;
  }

  const absl::string_view text = absl::StripAsciiWhitespace(document);
  // JSON Lines (an export, a file for import) given to append: said so, not as bad JSON or an
  // edited export's line. (A document on several lines has no whole one on its first.)
  if (const absl::string_view first_line = text.substr(0, text.find('\n'));
      first_line.size() < text.size() &&
      (ParseExportedEvent(first_line).ok() || ParseEventDocument(first_line).ok())) {
    return Fail(
        kExitBadArgs,
        absl::StrCat("append: ", file_.empty() ? "--document" : file_,
                     " holds an event on each line (JSON Lines): `govledger import ",
                     file_.empty() ? "FILE" : file_, "` appends them; append takes one event"));
  }
  // An export's line (with its position and hashes) is checked against its own hash, as
  // `import` checks it: an edited line had been stored without a word.
  const absl::StatusOr<ExportedEvent> exported = ParseExportedEvent(text);
  if (exported.ok() && exported->event.position() != 0 && !exported->event.hash().empty() &&
      !exported->event.prev_hash().empty()) {
    if (absl::StatusOr<crypto::Hash> h = ExportChain(/*allow_gaps=*/true).Add(*exported); !h.ok()) {
      return Fail(kExitChainBroken,
                  absl::StrCat("append: the document is an export's line (position ",
                               exported->event.position(), "), and it does not verify: ",
                               h.status().message(), "; nothing is stored"));
    }
  }
  absl::StatusOr<v1::Event> event = ParseEventDocument(text);
  if (!event.ok() && !exported.ok() && CountExportFields(text) == 3) {
    return Fail(
        kExitChainBroken,
        absl::StrCat("append: the document carries an export's position and hashes but "
                     "is not an event `export` wrote (",
                     event.status().message(), "): an edited export's line; nothing is stored"));
  }
  if (!event.ok()) return FailDocument(event.status());
  // An id the CLI makes up is said when the call fails without an answer (below): a retry
  // must send the same one, or the event may be stored twice.
  const bool id_made_here = event->event_id().empty();
  if (id_made_here && NamesAnEmptyEventId(text)) {
    return Fail(kExitBadArgs,
                "append: the document's eventId is empty: give the event's UUID (a retry sends "
                "the same one), or leave eventId out and one is made here");
  }
  if (id_made_here) event->set_event_id(NewUuid());
  if (absl::Status s = CheckEnvelope(*event, /*flags=*/true); !s.ok()) {
    return Fail(kExitBadArgs, absl::StrCat("append: ", s.message()));
  }

  v1::AppendRequest request;
  absl::StatusOr<v1::ExpectedVersion> expected = ParseExpected(event->stream_id(), expect_);
  if (!expected.ok()) return Fail(kExitBadArgs, std::string(expected.status().message()));
  if (expected->kind() != v1::ExpectedVersion::KIND_ANY) {
    *request.add_expected_versions() = *std::move(expected);
  }
  *request.add_events() = *std::move(event);

  auto stub = v1::LedgerService::NewStub(Connect(server));
  auto context = NewCallContext(actor_);
  v1::AppendResponse response;
  grpc::Status status = stub->Append(context.get(), request, &response);
  if (!status.ok()) {
    const int code = FailCall(server, status);
    if (id_made_here && OutcomeUnknown(status)) {
      const std::string& id = request.events(0).event_id();
      std::cerr << "govledger: the event may have been stored all the same; retry with the "
                   "event id this call gave it, "
                << (by_flags ? absl::StrCat("--id ", id)
                             : absl::StrCat("\"eventId\": \"", id, "\" in the document"))
                << ", so that it is stored once (a retry of a stored event is answered "
                   "\"already stored\")\n";
    }
    return code;
  }
  // A paper's status report recorded without its date takes effect now, and reads as the
  // latest report of every week since: say so, once it is stored.
  if (std::optional<std::string> what = UndatedPaperEvent(request.events(0));
      what.has_value() && !response.events(0).duplicate()) {
    std::cerr << "govledger: note: " << *what
              << " was given no --effective, so it took effect when the server received it: "
                 "what an earlier paper reported is recorded with --effective DATE (correct "
                 "this one with a CorrectionRecorded and record it again)\n";
  }
  if (json_) return PrintJson(response);
  const v1::AppendedEvent& appended = response.events(0);
  std::cout << (appended.duplicate() ? "already stored (same event id): position "
                                     : "appended: position ")
            << appended.position() << ", " << request.events(0).stream_id() << " version "
            << appended.stream_version() << ", event id " << appended.event_id() << "\n";
  return kExitOk;
}

int EventCommands::Import(const std::string& server) {
  auto stub = v1::LedgerService::NewStub(Connect(server));
  struct Pending {
    v1::Event event;
    std::string where;  // "FILE:LINE"
  };
  std::vector<Pending> pending;
  // A batch is also cut at this many bytes of events, half the server's default limit on an
  // Append (AppendLimits), so that no batch of large events is refused for its size (or goes
  // over gRPC's own limit on a message sent, 64 MiB), whatever --batch says.
  constexpr size_t kBatchBytes = 16 << 20;
  size_t pending_bytes = 0;
  uint64_t added = 0, duplicates = 0, head = 0;
  // Events of papers stored without an effectiveTime (append's note), and the first's line.
  uint64_t undated = 0;
  std::string first_undated;
  std::string first_undated_what;  // "the status report for plan week 75"
  // Said however the import ends: a run stopped by a refused line has stored them too.
  absl::Cleanup note_undated = [&] {
    if (undated == 0) return;
    std::cerr << "govledger: note: " << undated
              << (undated == 1 ? " event of a paper (" : " events of papers (the first ") << "at "
              << first_undated << ", " << first_undated_what << ") had no effectiveTime, so "
              << (undated == 1 ? "it" : "they") << " took effect when the server received "
              << (undated == 1 ? "it" : "them")
              << ": what an earlier paper reported gives its date (correct "
              << (undated == 1 ? "it" : "each") << " with a CorrectionRecorded and record it "
              << "again)\n";
  };
  // "the 5 events before it are stored", for a message about the line an import stopped at;
  // "(3 of them were already)" when a ledger held some before, which this run did not add.
  auto stored_before = [&] {
    const uint64_t n = added + duplicates;
    return absl::StrCat(
        "the ", n, n == 1 ? " event before it is stored" : " events before it are stored",
        duplicates == 0   ? ""
        : duplicates == n ? (n == 1 ? " (it was already)" : " (all of them were already)")
                          : absl::StrCat(" (", duplicates, " of them were already)"));
  };

  // Appends `batch` in one call; if the server refuses it, one event at a time, so that the
  // events before the refused one are stored and the refusal names its line.
  std::function<int(std::vector<Pending>&)> send = [&](std::vector<Pending>& batch) -> int {
    if (batch.empty()) return kExitOk;
    v1::AppendRequest request;
    for (const Pending& p : batch) *request.add_events() = p.event;
    auto context = NewCallContext(actor_);
    v1::AppendResponse response;
    grpc::Status status = stub->Append(context.get(), request, &response);
    if (status.ok()) {
      for (int i = 0; i < response.events_size(); ++i) {
        if (response.events(i).duplicate()) {
          ++duplicates;
          continue;
        }
        ++added;
        if (std::optional<std::string> what = UndatedPaperEvent(batch[i].event);
            what.has_value() && undated++ == 0) {
          first_undated = batch[i].where;
          first_undated_what = *what;
        }
      }
      head = response.head_position();
      batch.clear();
      return kExitOk;
    }
    const grpc::StatusCode code = status.error_code();
    const bool refused = code == grpc::StatusCode::INVALID_ARGUMENT ||
                         code == grpc::StatusCode::FAILED_PRECONDITION ||
                         code == grpc::StatusCode::ALREADY_EXISTS ||
                         code == grpc::StatusCode::ABORTED;
    if (refused && batch.size() > 1) {
      for (Pending& p : batch) {
        std::vector<Pending> one;
        one.push_back(std::move(p));
        if (int rc = send(one); rc != kExitOk) return rc;
      }
      batch.clear();
      return kExitOk;
    }
    if (refused) {
      return Fail(kExitRefused, absl::StrCat(batch.front().where, ": event ",
                                             batch.front().event.event_id(), " refused: ",
                                             DescribeError(server, status), "; ",
                                             stored_before()));
    }
    return Fail(ExitCodeOf(status),
                absl::StrCat(DescribeError(server, status), " (at ", batch.front().where,
                             "); rerunning the import is safe: ", stored_before(),
                             " or will be stored once"));
  };

  if (const auto dashes = std::count(files_.begin(), files_.end(), "-"); dashes > 1) {
    return Fail(kExitBadArgs, absl::StrCat("import: - (stdin) is given ", dashes,
                                           " times; stdin is read once: give it once"));
  }
  uint64_t total_bytes = 0;
  for (const std::string& path : files_) {
    struct stat st;
    if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total_bytes += static_cast<uint64_t>(st.st_size);
    }
  }
  Progress progress("importing", total_bytes, "bytes");
  uint64_t bytes_done = 0;
  for (const std::string& path : files_) {
    std::ifstream file;
    if (path != "-") {
      if (absl::Status s = OpenForReading(path, &file); !s.ok()) {
        return Fail(kExitBadArgs, std::string(s.message()));
      }
    }
    std::istream& in = path == "-" ? std::cin : file;
    const std::string name = path == "-" ? "stdin" : path;
    std::string line;
    bool too_long = false;
    uint64_t number = 1;
    // The lines that carry the server's fields (an export's) are checked in order, as `verify
    // --file` checks them, so that an edited, reordered, deleted or cut-short line is refused
    // rather than stored as if it were the ledger's (hand-written lines carry none).
    ExportChain chain(allow_gaps_);
    bool exported_line_cut = false;  // an export's line that ended the file without a newline
    std::string cut_where;
    // The lines without the server's fields this file began with, and how many of them wait
    // in `pending`: an export's first lines stripped of their fields, before the rest of it,
    // are an edited export too, and none of them is stored.
    uint64_t bare_lines = 0;
    size_t bare_pending = 0;
    for (; GetBoundedLine(in, kMaxEventDocumentBytes, &line, &too_long); ++number) {
      bytes_done += line.size() + 1;
      progress.Update(bytes_done);
      // A byte order mark starts a file an editor saved (Windows' Notepad), a blank one too.
      if (number == 1 && absl::StartsWith(line, "\xEF\xBB\xBF")) line.erase(0, 3);
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      const std::string where = absl::StrCat(name, ":", number);
      // JSON holds no raw carriage return but at a line's end (CRLF): one inside is a file
      // whose lines end in CR alone, read as one line.
      if (const size_t cr = line.find('\r'); cr != std::string::npos && cr + 1 < line.size()) {
        if (int rc = send(pending); rc != kExitOk) return rc;
        return Fail(kExitBadArgs,
                    absl::StrCat(where,
                                 ": the line holds a carriage return before its end: a "
                                 "file whose lines end in CR alone (a classic Mac file) "
                                 "is not JSON Lines; end them with LF (tr '\\r' '\\n' "
                                 "< FILE), then rerun: none is stored twice (",
                                 stored_before(), ")"));
      }
      absl::StatusOr<ExportedEvent> exported = ParseExportedEvent(line);
      // An export's line carries its position and hashes; one that has lost some of them, or a
      // bare line among an export's, is an edited export, not a hand-written file.
      const bool server_fields =
          exported.ok() && (exported->event.position() != 0 || !exported->event.hash().empty() ||
                            !exported->event.prev_hash().empty());
      // Refused before any of its export lines checked out, a file's first lines that lack the
      // server's fields may be an export's stripped of them: not stored (a reviewer's trial:
      // stored when the export line after them was damaged too).
      const auto drop_bare_lines = [&] {
        if (chain.events() == 0) pending.resize(pending.size() - bare_pending);
      };
      if (exported.ok() && (server_fields || chain.events() > 0) &&
          (exported->event.position() == 0 || exported->event.hash().empty() ||
           exported->event.prev_hash().empty())) {
        drop_bare_lines();
        if (int rc = send(pending); rc != kExitOk) return rc;
        return Fail(kExitChainBroken,
                    absl::StrCat(where, ": ",
                                 server_fields ? "the line carries some of the server's fields "
                                                 "(position, prevHash, hash) and not all"
                                               : "a line without the server's fields among an "
                                                 "export's",
                                 ": an edited export; the event is not stored (", stored_before(),
                                 "): import an undamaged copy of the export"));
      }
      // An export from position 1 after them stripped nothing: hand-written lines, then an
      // export, in one file.
      if (server_fields && chain.events() == 0 && bare_lines > 0 &&
          exported->event.position() != 1) {
        drop_bare_lines();
        const uint64_t sent = bare_lines - bare_pending;
        if (int rc = send(pending); rc != kExitOk) return rc;
        return Fail(kExitChainBroken,
                    absl::StrCat(where, ": an export's line (position ", exported->event.position(),
                                 ") after ", bare_lines, bare_lines == 1 ? " line" : " lines",
                                 " without the server's fields at the start of ", name,
                                 ": an edited export (its first lines stripped of their "
                                 "position and hashes, so that nothing checks them); ",
                                 sent == 0 ? "none of those lines is stored"
                                           : absl::StrCat(sent,
                                                          " of those lines were stored "
                                                          "before this line was read "
                                                          "(correct them)"),
                                 ": import an undamaged copy of the export, or the hand-written "
                                 "lines from a file of their own"));
      }
      if (server_fields) {
        if (!in.eof()) {
          if (absl::StatusOr<crypto::Hash> h = chain.Add(*exported); !h.ok()) {
            if (absl::IsInvalidArgument(h.status())) {  // the option, not the file: nothing sent
              return Fail(kExitBadArgs, absl::StrCat(where, ": ", h.status().message(), " (",
                                                     added + duplicates == 0 ? "nothing is stored"
                                                                             : stored_before(),
                                                     ")"));
            }
            drop_bare_lines();
            if (int rc = send(pending); rc != kExitOk) return rc;
            return Fail(kExitChainBroken,
                        absl::StrCat(where, ": the export does not verify at position ",
                                     exported->event.position(), ": ", h.status().message(),
                                     "; the event is not stored (", stored_before(),
                                     "): import an undamaged copy of the export"));
          }
        } else {
          exported_line_cut = true;  // said after the loop, before it is sent
          cut_where = where;
          break;
        }
      }
      // One parse: the document read with the server's fields gives the event to send.
      absl::StatusOr<v1::Event> event =
          exported.ok() ? ClientEvent(*std::move(exported)) : ParseEventDocument(line);
      if (event.ok() && event->event_id().empty()) {
        event = absl::InvalidArgumentError(
            "eventId: required in an import, so that a rerun stores the event only once");
      }
      if (event.ok()) {
        if (absl::Status s = CheckEnvelope(*event, /*flags=*/false); !s.ok()) event = s;
      }
      const int export_fields = exported.ok() ? 0 : CountExportFields(line);
      if (!event.ok() && !exported.ok() && in.eof() && (chain.events() > 0 || export_fields > 0)) {
        exported_line_cut = true;  // an export's last line cut short, said after the loop
        cut_where = where;
        drop_bare_lines();
        break;
      }
      if (!event.ok() && export_fields == 3) {
        drop_bare_lines();
        if (int rc = send(pending); rc != kExitOk) return rc;
        return Fail(
            kExitChainBroken,
            absl::StrCat(where,
                         ": the line carries an export's position and hashes "
                         "but is not an event `export` wrote (",
                         event.status().message(), "): an edited export; the event is not stored (",
                         stored_before(), "): import an undamaged copy of the export"));
      }
      // Naming some of an export's fields, or among its lines, a line that does not parse is an
      // edited export's (a reviewer's trial: "posiion" on line 4 stored the stripped lines 1-3).
      if (!event.ok() && !exported.ok() && (export_fields > 0 || chain.events() > 0)) {
        drop_bare_lines();
        if (int rc = send(pending); rc != kExitOk) return rc;
        return Fail(kExitChainBroken,
                    absl::StrCat(where, ": the line is not an event `export` wrote (",
                                 event.status().message(),
                                 export_fields > 0 ? "), though it names some of an export's fields"
                                                   : "), among an export's lines",
                                 ": an edited export; the event is not stored (", stored_before(),
                                 "): import an undamaged copy of the export"));
      }
      if (!event.ok()) {
        if (int rc = send(pending); rc != kExitOk) return rc;
        return FailDocument(absl::Status(
            event.status().code(),
            absl::StrCat(where, ": ", event.status().message(), "; ", stored_before(),
                         " (fix the line and rerun: none is stored twice)")));
      }
      const size_t bytes = event->ByteSizeLong();
      if (!pending.empty() && pending_bytes + bytes > kBatchBytes) {
        if (int rc = send(pending); rc != kExitOk) return rc;
        pending_bytes = 0;
        bare_pending = 0;
      }
      pending.push_back({*std::move(event), where});
      pending_bytes += bytes;
      if (!server_fields && chain.events() == 0) ++bare_lines, ++bare_pending;
      if (pending.size() >= batch_) {
        if (int rc = send(pending); rc != kExitOk) return rc;
        pending_bytes = 0;
        bare_pending = 0;
      }
    }
    if (exported_line_cut) {
      if (int rc = send(pending); rc != kExitOk) return rc;
      return Fail(kExitChainBroken,
                  absl::StrCat(cut_where,
                               ": the export ends inside this line, with no newline "
                               "after it: the file was cut short (an export that was stopped, "
                               "or a copy in part); the event is not stored (",
                               stored_before(), "): export again, and import that"));
    }
    if (too_long) {
      if (int rc = send(pending); rc != kExitOk) return rc;
      return Fail(kExitBadArgs,
                  absl::StrCat(name, ":", number, ": the line is longer than ",
                               kMaxEventDocumentBytes, " bytes, more than any event's document; ",
                               stored_before(), " (fix the line and rerun: none is stored twice)"));
    }
    if (in.bad()) return Fail(kExitBadArgs, absl::StrCat("cannot read ", path));
  }
  if (int rc = send(pending); rc != kExitOk) return rc;
  progress.Finish();
  std::cout << "imported " << added + duplicates << (added + duplicates == 1 ? " event" : " events")
            << " from " << files_.size()
            << (files_.size() == 1 ? " file" : " files") << ": " << added << " new, "
            << duplicates << " already stored";
  if (head != 0) std::cout << "; head position " << head;
  std::cout << "\n";
  return kExitOk;
}

int EventCommands::Export(const std::string& server) {
  if (out_ == "-") out_.clear();  // stdout, as '-' is stdin for append, import and verify
  // An empty --stream (an unset variable in a script) would export the whole log.
  if (export_->count("--stream") != 0) {
    if (absl::Status bad = CheckStreamFlag("export: --stream", stream_); !bad.ok()) {
      return Fail(kExitBadArgs, std::string(bad.message()));
    }
  }
  // Said before any call: the file is the user's to mend, whatever the server's state.
  if (struct stat st; !out_.empty() && ::lstat(out_.c_str(), &st) == 0) {
    return Fail(kExitBadArgs, absl::StrCat("export: ", out_, " already exists; give another "
                                           "--out, or remove it first"));
  }
  if (to_ != 0 && from_ > to_) {
    return Fail(kExitBadArgs, absl::StrCat("export: --from ", from_, " is after --to ", to_));
  }
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto stub = v1::LedgerService::NewStub(channel);
  v1::GetHeadResponse head;
  if (grpc::Status s = GetHead(*stub, &head); !s.ok()) return FailCall(server, s);
  const bool by_stream = !stream_.empty();
  uint64_t end = head.position();  // of the log, or the stream's last version
  if (by_stream) {
    if (grpc::Status s = GetStreamVersion(*stub, stream_, &end); !s.ok()) {
      return FailCall(server, s);
    }
  }
  if (from_ > end) {
    return Fail(kExitBadArgs,
                absl::StrCat("export: --from ", from_, " is after ",
                             by_stream ? absl::StrCat("stream ", stream_, "'s last version ")
                                       : "the head ",
                             end));
  }
  const bool to_given = to_ != 0;
  // An auditor who asks for events up to N is told when there are fewer, not handed them silently.
  if (to_ > end) {
    return Fail(kExitBadArgs,
                absl::StrCat("export: --to ", to_, " is after ",
                             by_stream ? absl::StrCat("stream ", stream_, "'s last version ")
                                       : "the head ",
                             end, "; give --to ", end, " or less, or leave it out"));
  }
  const uint64_t last = to_given ? to_ : end;

  std::ofstream file;
  // Written as OUT.partial-XXXXXX beside OUT (a name of this run's own), synced, then given its
  // name: FILE is the whole export or nothing, even when the export is killed or the machine
  // stops part of the way (a file cut short under the final name would verify and import as
  // far as it goes).
  std::string partial;
  if (!out_.empty()) {
    // Readable by its owner alone (mkstemp's 0600), as the data directory is: it holds
    // decisions' confidential Part 2.
    partial = out_ + ".partial-XXXXXX";
    int fd = ::mkostemp(partial.data(), O_CLOEXEC);
    if (fd < 0 && errno == ENAMETOOLONG) {  // a FILE whose name leaves no room for the suffix
      const std::string directory = std::filesystem::path(out_).parent_path().string();
      partial = (directory.empty() ? "" : directory + "/") + ".govledger-export.partial-XXXXXX";
      fd = ::mkostemp(partial.data(), O_CLOEXEC);
    }
    if (fd < 0) {
      return Fail(kExitBadArgs, absl::StrCat("cannot create ", out_, ": ", std::strerror(errno)));
    }
    ::close(fd);
    file.open(partial, std::ios::binary);
  }
  // A failed export leaves no partial file behind.
  bool complete = false;
  absl::Cleanup remove_partial = [&] {
    if (!out_.empty() && !complete) {
      file.close();
      std::remove(partial.c_str());
    }
  };
  if (!out_.empty() && !file) return Fail(kExitBadArgs, absl::StrCat("cannot create ", out_));
  std::ostream& out = out_.empty() ? std::cout : file;
  // A write that failed (a full disk, say): `error` is its errno, 0 if unknown.
  auto cannot_write = [&](int error) {
    return Fail(kExitBadArgs,
                absl::StrCat("cannot write ", out_.empty() ? "stdout" : out_,
                             error != 0 ? absl::StrCat(": ", std::strerror(error)) : "",
                             out_.empty() ? ": the output is incomplete"
                                          : " (removed: an export is written whole or not at all)"));
  };
  Progress progress("exporting", by_stream ? 0 : last - (from_ == 0 ? 1 : from_) + 1);
  uint64_t written = 0;
  uint64_t last_position = 0, last_version = 0;
  std::string last_hash;  // of the last event written, for `verify --file --head-hash`
  v1::ReadRequest request;
  request.set_stream_id(stream_);
  const uint64_t request_from = from_ == 0 ? 1 : from_;
  request.set_from(request_from);
  // Pages as stored bytes, so that an event with fields this version does not know is exported
  // with those bytes (ExportDocument).
  grpc::GenericStub raw(channel);
  std::string wire;
  // Once a page cannot be read, events are read one at a time from its start, as verify reads
  // them, so that the one that cannot be read is named (an operator's drill: only the table
  // file and its offset were).
  bool one_by_one = false;
  while (request.from() <= last) {
    // Never past `last`: an export up to just before damage is what saves the rest (an
    // operator's drill: `--to` read the damaged event after it, and wrote nothing).
    request.set_limit(one_by_one ? 1
                                 : static_cast<uint32_t>(std::min<uint64_t>(
                                       kMaxReadLimit, last - request.from() + 1)));
    if (grpc::Status status = RawRead(raw, request, &wire); !status.ok()) {
      if (status.error_code() == grpc::StatusCode::DATA_LOSS && !one_by_one) {
        one_by_one = true;
        continue;
      }
      if (status.error_code() == grpc::StatusCode::DATA_LOSS) {
        return Fail(kExitChainBroken,
                    absl::StrCat(
                        "export: the server cannot read ",
                        by_stream ? absl::StrCat("version ", request.from(), " of stream ", stream_)
                                  : absl::StrCat("the event at position ", request.from()),
                        " (", PrintableText(status.error_message()),
                        "): the ledger is damaged there, and the export stopped after ", written,
                        written == 1 ? " event" : " events",
                        out_.empty() ? " (the output is incomplete)"
                                     : absl::StrCat(" (", out_, " not written)"),
                        DamageAdvice(status.error_message())));
      }
      if (written == 0) return FailCall(server, status);
      // Not "cannot reach": the server answered, then the call failed part of the way.
      return Fail(ExitCodeOf(status),
                  absl::StrCat("export stopped after ", written, " events",
                               out_.empty() ? "" : absl::StrCat(" (", out_, " not written)"),
                               ": ", DescribeError(server, status)));
    }
    absl::StatusOr<RawPage> page = ParseRawPage(wire);
    if (!page.ok()) return Fail(kExitRefused, std::string(page.status().message()));
    bool done = page->next == 0;
    for (const std::string& stored : page->events) {
      absl::StatusOr<v1::Event> e = DecodeStoredEvent(0, stored);
      if (!e.ok()) {
        return Fail(kExitRefused, absl::StrCat("export: the event after the ", written,
                                               " written does not parse as a stored event"));
      }
      const uint64_t at = by_stream ? e->stream_version() : e->position();
      if (at > last) {
        done = true;
        break;
      }
      // Each event is checked as it is written: its hash over its stored bytes, the position
      // it holds (in an export of the log, the next one: an event moved or copied to another
      // position names its own), position 1's link to the genesis hash, and its link to the
      // event before it when that one is in the export too. An export of a damaged log fails
      // here, not first in the auditor's `verify --file` (found by an operator's trial).
      const uint64_t position = by_stream      ? e->position()
                                : written == 0 ? request_from
                                               : last_position + 1;
      crypto::Hash prev = crypto::kGenesisHash;
      if (position != 1) {
        const bool linked = written > 0 && position == last_position + 1;
        const std::string& link = linked ? last_hash : e->prev_hash();
        if (link.size() == prev.size()) std::copy(link.begin(), link.end(), prev.begin());
      }
      // Stops the export at a damaged event, saying `what` of it.
      auto damaged = [&](absl::string_view what) {
        return Fail(kExitChainBroken,
                    absl::StrCat("export: ", what,
                                 ": the ledger is damaged there, and the export stopped",
                                 out_.empty() ? " (the output is incomplete)"
                                              : absl::StrCat(" (", out_, " not written)"),
                                 "; run govledger verify, and restore from a backup"));
      };
      // In an export of a stream, each event must be the stream's, at the next version (the
      // server reads the stream's index, which an event moved or copied into it would not
      // match).
      const uint64_t version = written == 0 ? request_from : last_version + 1;
      if (by_stream && (e->stream_id() != stream_ || e->stream_version() != version)) {
        return damaged(absl::StrCat("version ", version, " of stream ", stream_,
                                    " is the event at position ", e->position(), ", version ",
                                    e->stream_version(), " of stream ", e->stream_id()));
      }
      if (absl::StatusOr<crypto::Hash> h = VerifyStoredEvent(position, stored, prev); !h.ok()) {
        return damaged(absl::StrCat("the event at position ", position, " does not verify (",
                                    h.status().message(), ")"));
      }
      out << ExportDocument(*e, stored) << "\n";
      ++written;
      last_position = e->position();
      last_version = e->stream_version();
      last_hash = e->hash();
    }
    if (!out) return cannot_write(out_.empty() ? StdoutWriteError() : errno);
    if (!out_.empty()) progress.Update(written);
    if (done) break;
    request.set_from(page->next);
  }
  errno = 0;
  out.flush();
  if (!out) return cannot_write(out_.empty() ? StdoutWriteError() : errno);
  progress.Finish();
  if (!out_.empty()) {
    errno = 0;
    file.close();
    if (!file) return cannot_write(errno);
    // On disk before it has its name; named without overwriting (link fails if OUT exists,
    // where rename would replace it); then the name itself on disk.
    const int fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC);
    if (absl::Status synced =
            fd < 0 ? FileError("open", partial, errno) : FsyncAndClose(fd, partial);
        !synced.ok()) {
      return Fail(kExitBadArgs,
                  absl::StrCat("export: ", synced.message(), " (", out_, " not written)"));
    }
    // Renamed only where nothing is; a file system without that gets a hard link, as
    // exclusive (WriteFileAtomically does the same).
    int named = ::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE);
    if (named != 0 && (errno == EINVAL || errno == ENOSYS)) {
      named = ::link(partial.c_str(), out_.c_str());
    }
    if (named != 0) {
      const int error = errno;
      return Fail(kExitBadArgs,
                  error == EEXIST
                      ? absl::StrCat("export: ", out_,
                                     " was created while the export ran; "
                                     "give another --out, or remove it first")
                      : absl::StrCat("cannot create ", out_, ": ", std::strerror(error)));
    }
    std::remove(partial.c_str());  // the link's other name; after a rename, gone already
    complete = true;
    std::cerr << "exported " << written << (written == 1 ? " event" : " events") << " to " << out_;
    if (written > 0) {
      std::cerr << "; the last, position " << last_position << ", has the hash "
                << crypto::ToHex(last_hash) << " (for verify --file --head-hash)";
    }
    std::cerr << "\n";
    const std::string directory = std::filesystem::path(out_).parent_path().string();
    if (absl::Status synced = FsyncDirectory(directory.empty() ? "." : directory); !synced.ok()) {
      // The file is whole and synced; only its name may not survive a power loss. It is kept
      // (a directory others may write but not read, or a file system that cannot sync
      // directories, would otherwise never hold an export), and the failure said.
      return Fail(kExitBadArgs,
                  absl::StrCat("export: wrote ", out_, " whole, but ", synced.message(),
                               ": its name may not survive a power loss (copy it elsewhere, or "
                               "export into a directory you may read)"));
    }
  }
  return kExitOk;
}

namespace {

// One source's events, for `sources`.
struct SourceEvents {
  std::string source;
  uint64_t events = 0;
  uint64_t first = 0, last = 0;  // positions
  std::set<std::string> streams;
  int64_t earliest = 0, latest = 0;  // effective times, microseconds; when `dated`
  bool dated = false;
};

// "2015-05-04 to 2016-12-21", or one date when they are the same day.
std::string DateSpanText(int64_t earliest, int64_t latest) {
  const std::string from = FormatRfc3339(earliest).substr(0, 10);
  const std::string to = FormatRfc3339(latest).substr(0, 10);
  return from == to ? from : absl::StrCat(from, " to ", to);
}

// `sources --json`: one object, 64-bit counts and positions as strings (as protobuf's JSON
// mapping writes them everywhere else): {"events", "named", "unsourced", "sources": [{"source",
// "events", "entities", "firstPosition", "lastPosition", "earliestEffective",
// "latestEffective"}]}, the effective times RFC 3339 and left out when no event gives one.
std::string SourcesJson(const std::vector<SourceEvents>& sources, uint64_t events,
                        uint64_t unsourced) {
  // Written in this order, every run: a Struct's fields come out in the order of a hash map.
  const auto text = [](const std::string& value) {  // a JSON string, escaped by protobuf
    pb::Value v;
    v.set_string_value(value);
    std::string json;
    (void)pb::util::MessageToJsonString(v, &json);
    return json;
  };
  const auto object = [&text](const std::vector<std::pair<const char*, std::string>>& fields) {
    std::vector<std::string> members;
    for (const auto& [name, value] : fields) {
      members.push_back(absl::StrCat("\"", name, "\":", text(value)));
    }
    return absl::StrCat("{", absl::StrJoin(members, ","), "}");
  };
  std::vector<std::string> list;
  for (const SourceEvents& s : sources) {
    std::vector<std::pair<const char*, std::string>> fields = {
        {"source", s.source},
        {"events", absl::StrCat(s.events)},
        {"entities", absl::StrCat(s.streams.size())},
        {"firstPosition", absl::StrCat(s.first)},
        {"lastPosition", absl::StrCat(s.last)}};
    if (s.dated) {
      fields.emplace_back("earliestEffective", FormatRfc3339(s.earliest));
      fields.emplace_back("latestEffective", FormatRfc3339(s.latest));
    }
    list.push_back(object(fields));
  }
  std::string out = object({{"events", absl::StrCat(events)},
                            {"named", absl::StrCat(events - unsourced)},
                            {"unsourced", absl::StrCat(unsourced)}});
  out.pop_back();  // the sources go on inside it
  return absl::StrCat(out, ",\"sources\":[", absl::StrJoin(list, ","), "]}");
}

}  // namespace

int EventCommands::Sources(const std::string& server) {
  if (sources_->count("--source") != 0) {
    // Any text a log may hold: older logs' sources were held to other rules than today's.
    if (source_filter_.empty() || source_filter_.size() > kMaxSourceLength) {
      return Fail(kExitBadArgs, absl::StrCat("sources: --source is no source an event could name: ",
                                             source_filter_.empty()
                                                 ? std::string("it is empty")
                                                 : absl::StrCat("it has ", source_filter_.size(),
                                                                " bytes, and a source at most ",
                                                                kMaxSourceLength)));
    }
  }
  const bool listing = sources_->count("--source") == 0;
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto stub = v1::LedgerService::NewStub(channel);
  v1::GetHeadResponse head;
  if (grpc::Status s = GetHead(*stub, &head); !s.ok()) return FailCall(server, s);
  std::vector<SourceEvents> sources;    // in the order first named
  std::map<std::string, size_t> index;  // source -> its place in `sources`
  uint64_t unsourced = 0;
  Table events({"POSITION", "RECORDED", "EFFECTIVE", "ACTOR", "EVENT", "STREAM"});
  events.AlignRight(0);
  std::string json_lines;
  Progress progress("reading", head.position());
  grpc::GenericStub raw(channel);
  v1::ReadRequest request;
  request.set_from(1);
  request.set_limit(kMaxReadLimit);
  std::string wire;
  uint64_t read = 0;
  while (read < head.position()) {
    if (grpc::Status status = RawRead(raw, request, &wire); !status.ok()) {
      return FailCall(server, status);
    }
    absl::StatusOr<RawPage> page = ParseRawPage(wire);
    if (!page.ok()) return Fail(kExitRefused, std::string(page.status().message()));
    for (const std::string& stored : page->events) {
      absl::StatusOr<v1::Event> e = DecodeStoredEvent(0, stored);
      if (!e.ok()) {
        return Fail(kExitRefused, absl::StrCat("sources: the event after position ", read,
                                               " does not parse as a stored event"));
      }
      read = e->position();
      if (read > head.position()) break;
      if (!listing && e->source() == source_filter_) {
        if (json_) {
          absl::StrAppend(&json_lines, ExportDocument(*e, stored), "\n");
        } else {
          events.AddRow({absl::StrCat(e->position()), FormatRfc3339(ToMicros(e->recorded_time())),
                         e->has_effective_time() ? FormatRfc3339(ToMicros(e->effective_time()))
                                                 : "",
                         e->actor(), ShortType(e->event_type()), e->stream_id()});
        }
      }
      if (e->source().empty()) {
        ++unsourced;
        continue;
      }
      auto [it, added] = index.try_emplace(e->source(), sources.size());
      if (added) {
        sources.emplace_back();
        sources.back().source = e->source();
        sources.back().first = e->position();
      }
      SourceEvents& named = sources[it->second];
      ++named.events;
      named.last = e->position();
      named.streams.insert(e->stream_id());
      if (e->has_effective_time()) {
        const int64_t at = ToMicros(e->effective_time());
        named.earliest = named.dated ? std::min(named.earliest, at) : at;
        named.latest = named.dated ? std::max(named.latest, at) : at;
        named.dated = true;
      }
    }
    progress.Update(read);
    if (page->next == 0 || page->events.empty()) break;
    request.set_from(page->next);
  }
  progress.Finish();
  if (!listing) {
    if (events.rows() == 0 && json_lines.empty()) {
      // The sources that contain it, ignoring the case of ASCII letters (not of é or Ж): what may
      // have been meant.
      const std::string wanted = absl::AsciiStrToLower(source_filter_);
      std::vector<std::string> near;
      for (const SourceEvents& named : sources) {
        if (absl::StrContains(absl::AsciiStrToLower(named.source), wanted)) {
          near.push_back(absl::StrCat("'", named.source, "'"));
        }
      }
      return Fail(kExitRefused,
                  absl::StrCat("sources: no event of the ", head.position(),
                               " in the log names the source '", PrintableText(source_filter_),
                               "' (exactly as recorded); ",
                               near.empty() ? "`govledger sources` lists those they name"
                                            : absl::StrCat("did you mean ",
                                                           absl::StrJoin(near, " or "), "?")));
    }
    std::cout << (json_ ? json_lines : events.Render(false));
    return kExitOk;
  }
  if (json_) {
    std::cout << SourcesJson(sources, head.position(), unsourced) << "\n";
    return kExitOk;
  }
  Table table({"EVENTS", "ENTITIES", "FIRST", "LAST", "EFFECTIVE", "SOURCE"});
  for (size_t column : {0, 1, 2, 3}) table.AlignRight(column);
  uint64_t named = 0;
  for (const SourceEvents& s : sources) {
    named += s.events;
    table.AddRow({absl::StrCat(s.events), absl::StrCat(s.streams.size()), absl::StrCat(s.first),
                  absl::StrCat(s.last), s.dated ? DateSpanText(s.earliest, s.latest) : "",
                  s.source});
  }
  std::cout << sources.size() << (sources.size() == 1 ? " source" : " sources") << " named by "
            << named << " of the " << head.position() << " events in the log; " << unsourced
            << (unsourced == 1 ? " names" : " name") << " none.\n";
  if (table.rows() > 0) std::cout << "\n" << table.Render(false);
  return kExitOk;
}

// What --retry resubscribes after: the connection lost or the server restarting
// (UNAVAILABLE), or a call the stopping server cancelled (CANCELLED: this client cancels only
// when it stops itself).
// Lost, stopped, or full for now (every subscription slot, or the token's share, taken):
// worth subscribing again after a pause.
static bool Resubscribable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::CANCELLED ||
         status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

namespace {

// With filters, `tail` asks for a checkpoint after this many events skipped in a row, so that
// --retry does not make the server skip them again.
constexpr uint32_t kTailCheckpointInterval = 10'000;

// The position of a subscription's checkpoint (SubscribeRequest.checkpoint_interval: an Event
// without an event_id), or nothing for an event.
// A checkpoint's position, with its hash when the server gave one ("" otherwise); none for an
// event.
std::optional<std::pair<uint64_t, std::string>> Checkpoint(const std::string& message) {
  v1::Event event;
  if (!event.ParseFromString(message) || !event.event_id().empty() || event.position() == 0) {
    return std::nullopt;
  }
  return std::pair{event.position(),
                   event.hash().size() == crypto::kHashSize ? event.hash() : std::string()};
}

}  // namespace

int EventCommands::Tail(const std::string& server) {
  std::shared_ptr<grpc::Channel> channel = Connect(server);
  auto stub = v1::LedgerService::NewStub(channel);
  uint64_t from = from_;
  // Waits before another attempt with --retry: 1 s, doubling to at most 16 s; back to 1 s once
  // an event has arrived, or a subscription has lasted a while (an idle ledger's restarts had
  // each waited longer, though every subscription in between served).
  std::chrono::seconds backoff(1);
  // The latest position whose hash the server followed gave (position 0: none yet): the event
  // printed last, a checkpoint, the position before the one a stopping server names, the head
  // `-n` counted back from, the event before --from's. A resubscription first checks that the
  // server still holds it, the same: another ledger on the address (a wrong --data-dir, another
  // deployment), or this one restored from an older backup, would otherwise have its events printed
  // as if they followed (the hash chain makes the log up to it the same when it is).
  uint64_t anchor_position = 0;
  std::string anchor_hash;
  const auto anchor = [&](uint64_t position, const std::string& hash) {
    if (position > anchor_position && hash.size() == crypto::kHashSize) {
      anchor_position = position;
      anchor_hash = hash;
    }
  };
  bool check_anchor = false;  // set by a lost subscription, cleared once checked
  // The event at `position` (a page of at most that one).
  const auto read_at = [&](uint64_t position, v1::ReadResponse* page) {
    v1::ReadRequest read;
    read.set_from(position);
    read.set_limit(1);
    auto context = NewCallContext();
    return stub->Read(context.get(), read, page);
  };
  auto lost = [&](const grpc::Status& status) {
    check_anchor = true;
    std::cerr << "govledger tail: " << DescribeError(server, status) << "; subscribing again "
              << (from == 0 ? std::string("at the head") : absl::StrCat("from position ", from))
              << " in " << backoff.count() << " s" << std::endl;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::seconds(16));
    // A new channel: one whose connection failed waits out gRPC's own reconnect backoff (to
    // minutes), failing calls meanwhile, though the server is back (a restarted daemon's
    // events had reached tail 12 s late).
    channel = Connect(server);
    stub = v1::LedgerService::NewStub(channel);
  };
  uint64_t shown = 0;
  for (;;) {
    if (check_anchor && anchor_position != 0) {
      v1::ReadResponse page;
      if (grpc::Status s = read_at(anchor_position, &page); !s.ok()) {
        if (Resubscribable(s)) {
          lost(s);
          continue;
        }
        // A log shorter than what was printed: another ledger, or one restored from an older
        // backup.
        if (s.error_code() != grpc::StatusCode::OUT_OF_RANGE) return FailCall(server, s);
        page.clear_events();
      }
      if (page.events_size() == 0 || page.events(0).position() != anchor_position ||
          page.events(0).hash() != anchor_hash) {
        return Fail(
            kExitChainBroken,
            absl::StrCat("tail: the server at ", server,
                         " no longer holds the event it had at "
                         "position ",
                         anchor_position,
                         page.events_size() == 0 ? " (its log is shorter)"
                                                 : " (its event there has another hash)",
                         ": another ledger now answers there, or this one was restored from an "
                         "older backup or from elsewhere; nothing of it is printed after the "
                         "events above"));
      }
      check_anchor = false;
    }
    if (from == 0) {
      v1::GetHeadResponse head;
      if (grpc::Status s = GetHead(*stub, &head); !s.ok()) {
        if (retry_ && Resubscribable(s)) {
          lost(s);
          continue;
        }
        return FailCall(server, s);
      }
      from = head.position() >= last_ ? head.position() - last_ + 1 : 1;
      anchor(head.position(), head.hash());
    } else if (retry_ && anchor_position == 0 && from > 1) {
      // --from N: the event before N, so that a resubscription before anything is printed
      // checks something too. Past the head, the subscription says so in its own words.
      v1::ReadResponse page;
      if (grpc::Status s = read_at(from - 1, &page); !s.ok()) {
        if (Resubscribable(s)) {
          lost(s);
          continue;
        }
      } else if (page.events_size() == 1 && page.events(0).position() == from - 1) {
        anchor(from - 1, page.events(0).hash());
      }
    }
    v1::SubscribeRequest request;
    request.set_from_position(from);
    for (const std::string& prefix : stream_prefixes_) request.add_stream_prefixes(prefix);
    for (const std::string& type : event_types_) request.add_event_types(type);
    const bool filtered = !stream_prefixes_.empty() || !event_types_.empty();
    if (filtered) request.set_checkpoint_interval(kTailCheckpointInterval);
    const auto subscribed_at = std::chrono::steady_clock::now();
    RawSubscription subscription(channel, request);
    std::string stored;
    while ((limit_ == 0 || shown < limit_) && subscription.Next(&stored)) {
      if (filtered) {
        if (const auto checkpoint = Checkpoint(stored)) {
          from = checkpoint->first + 1;  // nothing to print: where --retry resubscribes from
          anchor(checkpoint->first, checkpoint->second);
          continue;
        }
      }
      absl::StatusOr<v1::Event> decoded = DecodeStoredEvent(0, stored);
      if (!decoded.ok()) {
        return Fail(kExitRefused, absl::StrCat("tail: the event at position ", from,
                                               " does not parse as a stored event"));
      }
      const v1::Event& event = *decoded;
      if (json_) {
        std::cout << ExportDocument(event, stored) << "\n";
      } else {
        std::cout << absl::StrFormat("%8d  %s  %-32s  %s  %s\n", event.position(),
                                     ShortTime(event.recorded_time()),
                                     PrintableText(event.stream_id()),
                                     PrintableText(event.event_type()),
                                     PrintableText(event.actor()));
      }
      if (!std::cout.flush()) {
        subscription.Cancel();
        return Fail(kExitBadArgs,
                    absl::StrCat("tail: cannot write stdout",
                                 StdoutWriteError() != 0
                                     ? absl::StrCat(": ", std::strerror(StdoutWriteError()))
                                     : "",
                                 ": the event at position ", event.position(),
                                 " and those after it are not written"));
      }
      ++shown;
      from = event.position() + 1;
      anchor(event.position(), event.hash());
      backoff = std::chrono::seconds(1);
    }
    if (limit_ != 0 && shown >= limit_) {
      subscription.Cancel();
      return kExitOk;
    }
    grpc::Status status = subscription.Finish();
    if (status.ok()) return kExitOk;
    if (!retry_ || !Resubscribable(status)) {
      // The server names the request's fields; the user gave the options.
      const std::string message =
          absl::StrReplaceAll(status.error_message(), {{"from_position", "--from"},
                                                       {"stream_prefixes", "--stream-prefix"},
                                                       {"event_types", "--type"}});
      return FailCall(server,
                      grpc::Status(status.error_code(), message, status.error_details()));
    }
    if (std::chrono::steady_clock::now() - subscribed_at >= std::chrono::seconds(30)) {
      backoff = std::chrono::seconds(1);
    }
    // A stopping server says where it stopped: nothing before that position is left unsent for
    // this subscription, events or skipped ones (with filters, a checkpoint may lie far back).
    if (const std::optional<google::rpc::ErrorInfo> info =
            errors::ErrorInfoOfDetails(status.error_details());
        info && info->reason() == errors::reason::kShuttingDown) {
      const auto next = info->metadata().find("next_position");
      uint64_t position = 0;
      if (next != info->metadata().end() &&
          ParseWholeNumber(std::string_view(next->second), UINT64_MAX, &position) &&
          position > from) {
        from = position;
        if (const auto previous = info->metadata().find("previous_hash");
            previous != info->metadata().end()) {
          if (absl::StatusOr<std::string> hash = crypto::FromHex(previous->second); hash.ok()) {
            anchor(position - 1, *hash);
          }
        }
      }
    }
    lost(status);
  }
}
}  // namespace govledger::cli
