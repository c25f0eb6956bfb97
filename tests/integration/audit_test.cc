// AuditService and the CLI's tree-head and prove (README, "Proofs and signed tree heads"): a
// real govledgerd signs tree heads with its key; every event's audit path leads to the root;
// a later log extends an earlier tree head; and a tampered tree head, a wrong key, a rewritten
// log and every bad request are refused, naming what is wrong.
#include <grpcpp/client_context.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "govledger/v1/audit.grpc.pb.h"
#include "ledger/crypto/ed25519.h"
#include "ledger/crypto/merkle.h"
#include "ledger/crypto/sha256.h"
#include "ledger/tree_head.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"
#include "tests/integration/daemon_harness.h"
#include "tests/testutil.h"

namespace govledger::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Cli("keys generate --out " + dir_.path() + "/ledger").code, 0);
    ASSERT_EQ(Cli("keys generate --out " + dir_.path() + "/other").code, 0);
    daemon_.set_extra_args({"--tree-head-key", dir_.path() + "/ledger.key"});
    ASSERT_OK(daemon_.Start());
    stub_ = daemon_.NewStub();
    audit_ = v1::AuditService::NewStub(daemon_.NewChannel());
  }

  void AppendEvents(int n, const std::string& stream = "programme/LPP") {
    for (int i = 0; i < n; ++i) {
      v1::AppendResponse response;
      ASSERT_THAT(Append(*stub_, MakeAppend({MakeEvent(stream, "p" + std::to_string(i))}),
                         &response),
                  GrpcOk());
    }
  }

  CliRun Run(const std::string& args) {
    return Cli(absl::StrCat("--server ", daemon_.address(), " ", args));
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
  DaemonHarness daemon_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
};

TEST_F(AuditTest, EveryEventsAuditPathLeadsToTheSignedRoot) {
  AppendEvents(35);
  v1::TreeHead head;
  ASSERT_THAT(audit_->GetTreeHead(Context().get(), v1::GetTreeHeadRequest(), &head), GrpcOk());
  EXPECT_EQ(head.format(), "govledger.tree-head.v1");
  EXPECT_EQ(head.size(), 35u);
  EXPECT_EQ(head.signature().size(), 64u);
  v1::ReadRequest read;
  read.set_from(1);
  read.set_limit(100);
  v1::ReadResponse page;
  ASSERT_THAT(stub_->Read(Context().get(), read, &page), GrpcOk());
  ASSERT_EQ(page.events_size(), 35);
  EXPECT_EQ(head.head_hash(), page.events(34).hash());
  for (const v1::Event& e : page.events()) {
    SCOPED_TRACE(e.position());
    v1::GetInclusionProofRequest request;
    request.set_position(e.position());
    request.set_tree_size(35);
    v1::GetInclusionProofResponse proof;
    ASSERT_THAT(audit_->GetInclusionProof(Context().get(), request, &proof), GrpcOk());
    const std::vector<std::string> path(proof.hashes().begin(), proof.hashes().end());
    EXPECT_TRUE(crypto::VerifyMerkleInclusion(crypto::MerkleLeafHash(e.hash()), e.position() - 1,
                                              35, path, head.root_hash()));
    EXPECT_FALSE(crypto::VerifyMerkleInclusion(crypto::MerkleLeafHash(e.prev_hash()),
                                               e.position() - 1, 35, path, head.root_hash()));
  }
  // tree_size 0 is the head; a consistency proof of every earlier size verifies.
  for (uint64_t from = 1; from <= 35; ++from) {
    v1::GetConsistencyProofRequest request;
    request.set_from_size(from);
    v1::GetConsistencyProofResponse proof;
    ASSERT_THAT(audit_->GetConsistencyProof(Context().get(), request, &proof), GrpcOk());
    EXPECT_EQ(proof.to_size(), 35u);
    EXPECT_EQ(proof.to_root_hash(), head.root_hash());
    const std::vector<std::string> path(proof.hashes().begin(), proof.hashes().end());
    EXPECT_TRUE(crypto::VerifyMerkleConsistency(from, 35, proof.from_root_hash(),
                                                head.root_hash(), path))
        << from;
  }
}

TEST_F(AuditTest, TheCliProvesAnEventAndThatTheLogExtendsAnEarlierTreeHead) {
  AppendEvents(10);
  CliRun saved = Run("tree-head --public-key " + Path("ledger.pub"));
  ASSERT_EQ(saved.code, 0) << saved.err;
  WriteText(Path("old.json"), saved.out);
  AppendEvents(25, "risk/LPP-R01");

  CliRun event = Run(absl::StrCat("prove event 7 --tree-head ", Path("old.json"),
                                  " --public-key ", Path("ledger.pub")));
  EXPECT_EQ(event.code, 0) << event.err;
  EXPECT_THAT(event.out, HasSubstr("event 7 (govledger.test.Happened on programme/LPP, recorded "));
  EXPECT_THAT(event.out, HasSubstr("is in the log of the tree head of 10 events, root "));
  EXPECT_THAT(event.out, HasSubstr(": verified by an audit path of 4 hashes\nsigned by the tree "
                                   "head key "));
  CliRun extends = Run(absl::StrCat("prove extends ", Path("old.json"), " --public-key ",
                                    Path("ledger.pub")));
  EXPECT_EQ(extends.code, 0) << extends.err;
  EXPECT_THAT(extends.out, HasSubstr("(tree head of 35 events, root "));
  EXPECT_THAT(extends.out, HasSubstr("its first 10 events are unchanged, verified by a "
                                     "consistency proof of "));
  // Two kept tree heads, given the wrong way round: a mistake (exit 2), not a tamper alarm.
  CliRun now = Run("tree-head --public-key " + Path("ledger.pub"));
  ASSERT_EQ(now.code, 0) << now.err;
  WriteText(Path("new.json"), now.out);
  CliRun forwards = Run(absl::StrCat("prove extends ", Path("old.json"), " --tree-head ",
                                     Path("new.json"), " --public-key ", Path("ledger.pub")));
  EXPECT_EQ(forwards.code, 0) << forwards.err;
  CliRun swapped = Run(absl::StrCat("prove extends ", Path("new.json"), " --tree-head ",
                                    Path("old.json"), " --public-key ", Path("ledger.pub")));
  EXPECT_EQ(swapped.code, 2);
  EXPECT_THAT(swapped.err, AllOf(HasSubstr(Path("old.json") + " (10 events, made "),
                                 HasSubstr(absl::StrCat("is older than ", Path("new.json"),
                                                        " (35 events, made ")),
                                 HasSubstr("give the older tree head as OLD")));
  // Without a key: verified, and it says the signature was not checked.
  CliRun unchecked = Run("prove event 10 --tree-head " + Path("old.json"));
  EXPECT_EQ(unchecked.code, 0) << unchecked.err;
  EXPECT_THAT(unchecked.out, HasSubstr("signature not checked: give --public-key"));

  // Another key: refused.
  CliRun other = Run(absl::StrCat("prove extends ", Path("old.json"), " --public-key ",
                                  Path("other.pub")));
  EXPECT_EQ(other.code, 4);
  EXPECT_THAT(other.err, HasSubstr("signed by another key"));
  EXPECT_EQ(Run("tree-head --public-key " + Path("other.pub")).code, 4);

  // A tree head changed after it was signed: its signature fails; unsigned checks, its root.
  const std::string text = ReadText(Path("old.json"));
  ASSERT_THAT(text, HasSubstr("\"size\":\"10\""));
  WriteText(Path("shrunk.json"), absl::StrReplaceAll(text, {{"\"size\":\"10\"", "\"size\":\"9\""}}));
  CliRun forged = Run(absl::StrCat("prove extends ", Path("shrunk.json"), " --public-key ",
                                   Path("ledger.pub")));
  EXPECT_EQ(forged.code, 4);
  EXPECT_THAT(forged.err, HasSubstr("signature does not verify: it was changed after it was "
                                    "signed"));
  CliRun forged_root = Run("prove extends " + Path("shrunk.json"));
  EXPECT_EQ(forged_root.code, 4);
  EXPECT_THAT(forged_root.err, HasSubstr("does not extend the log of " + Path("shrunk.json")));
  CliRun forged_event = Run("prove event 3 --tree-head " + Path("shrunk.json"));
  EXPECT_EQ(forged_event.code, 4);
  EXPECT_THAT(forged_event.err,
              AllOf(HasSubstr("is not in the log of the tree head of 9 events"),
                    HasSubstr("or the tree head was altered: its signature was not checked; "
                              "give --public-key to check it")));
  // Made a tree head of the empty log, unsigned, keeping its root: the empty log has one root.
  v1::TreeHead empty;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &empty).ok());
  empty.set_size(0);
  empty.clear_signature();
  empty.clear_public_key();
  std::string empty_json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(empty, &empty_json).ok());
  WriteText(Path("empty.json"), empty_json);
  CliRun forged_empty = Run("prove extends " + Path("empty.json"));
  EXPECT_EQ(forged_empty.code, 2) << forged_empty.out;
  EXPECT_THAT(forged_empty.err,
              HasSubstr("the tree head is of 0 events, whose root is e3b0c44298fc1c149afbf4c8996fb"
                        "92427ae41e4649b934ca495991b7852b855 (the hash of nothing)"));
  // Its time made finer than the microsecond the signature covers: refused, not shown.
  v1::TreeHead finer;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &finer).ok());
  finer.mutable_time()->set_nanos(finer.time().nanos() + 999);
  std::string finer_json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(finer, &finer_json).ok());
  WriteText(Path("finer.json"), finer_json);
  CliRun finer_event = Run(absl::StrCat("prove event 3 --tree-head ", Path("finer.json"),
                                        " --public-key ", Path("ledger.pub")));
  EXPECT_NE(finer_event.code, 0);
  EXPECT_THAT(finer_event.err, HasSubstr("not whole microseconds"));

  // An export checked offline against the tree head: its first 10 events give the root.
  ASSERT_EQ(Run("export --out " + Path("export.jsonl")).code, 0);
  // Readable by its owner alone: it holds every decision's confidential Part 2.
  EXPECT_EQ(std::filesystem::status(Path("export.jsonl")).permissions(),
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  CliRun offline = Cli(absl::StrCat("verify --file ", Path("export.jsonl"), " --tree-head ",
                                    Path("old.json"), " --public-key ", Path("ledger.pub")));
  EXPECT_EQ(offline.code, 0) << offline.err;
  EXPECT_THAT(offline.out, HasSubstr("events 1 to 10 give the Merkle root of " + Path("old.json") +
                                     " (tree head of 10 events, root "));
  CliRun offline_forged = Cli(absl::StrCat("verify --file ", Path("export.jsonl"), " --tree-head ",
                                           Path("shrunk.json")));
  EXPECT_EQ(offline_forged.code, 4);
  EXPECT_THAT(offline_forged.err, HasSubstr("its events 1 to 9 do not give the Merkle root of"));
  ASSERT_EQ(Run("export --from 2 --out " + Path("tail.jsonl")).code, 0);
  CliRun from_two = Cli(absl::StrCat("verify --file ", Path("tail.jsonl"), " --tree-head ",
                                     Path("old.json")));
  EXPECT_EQ(from_two.code, 2);
  EXPECT_THAT(from_two.err, HasSubstr("--tree-head needs the export from position 1"));
  // (An export starting past the tree head's size too.)
  ASSERT_EQ(Run("export --from 11 --out " + Path("after.jsonl")).code, 0);
  CliRun after = Cli(absl::StrCat("verify --file ", Path("after.jsonl"), " --tree-head ",
                                  Path("old.json")));
  EXPECT_EQ(after.code, 2);
  EXPECT_THAT(after.err, HasSubstr("--tree-head needs the export from position 1; "));
  ASSERT_EQ(Run("export --to 5 --out " + Path("short.jsonl")).code, 0);
  CliRun short_file = Cli(absl::StrCat("verify --file ", Path("short.jsonl"), " --tree-head ",
                                       Path("old.json")));
  EXPECT_EQ(short_file.code, 4);
  EXPECT_THAT(short_file.err,
              AllOf(HasSubstr("the export does not verify: "),
                    HasSubstr("ends at position 5, before the 10 events of"),
                    HasSubstr("positions 6 to 10 are missing")));
  CliRun online = Run("verify --tree-head " + Path("old.json"));
  EXPECT_EQ(online.code, 2);
  EXPECT_THAT(online.err, HasSubstr("use `prove extends`"));

  // Arguments it cannot use.
  CliRun past = Run("prove event 11 --tree-head " + Path("old.json"));
  EXPECT_EQ(past.code, 2);
  EXPECT_THAT(past.err, HasSubstr("position 11 is not in the log of"));
  WriteText(Path("junk.json"), "{\"events\": 3}");
  CliRun junk = Run("prove extends " + Path("junk.json"));
  EXPECT_EQ(junk.code, 2);
  EXPECT_THAT(junk.err, HasSubstr("does not hold a tree head"));
  CliRun missing = Run("prove extends " + Path("missing.json"));
  EXPECT_EQ(missing.code, 2);
  CliRun not_a_key = Run("tree-head --public-key " + Path("old.json"));
  EXPECT_EQ(not_a_key.code, 2);
  EXPECT_THAT(not_a_key.err, HasSubstr("holds no Ed25519 public key"));
}

TEST_F(AuditTest, AnEmptyLedgerHasNoEventToProve) {
  v1::GetInclusionProofRequest request;
  request.set_position(1);
  v1::GetInclusionProofResponse proof;
  EXPECT_THAT(audit_->GetInclusionProof(Context().get(), request, &proof),
              GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                           HasSubstr("the ledger is empty: there is no event to prove")));
  // Nor does any request about it give a range it cannot satisfy ("1 to 0").
  request.set_position(0);
  EXPECT_THAT(audit_->GetInclusionProof(Context().get(), request, &proof),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("the ledger is empty: there is no event to prove")));
  v1::GetConsistencyProofResponse consistency;
  for (uint64_t from : {0, 1}) {
    v1::GetConsistencyProofRequest c;
    c.set_from_size(from);
    const grpc::Status status = audit_->GetConsistencyProof(Context().get(), c, &consistency);
    EXPECT_THAT(status, GrpcStatusIs(from == 0 ? grpc::StatusCode::INVALID_ARGUMENT
                                               : grpc::StatusCode::OUT_OF_RANGE,
                                     HasSubstr("the ledger is empty: there is no tree to prove "
                                               "consistency with")))
        << from;
    EXPECT_THAT(status.error_message(), Not(HasSubstr("1 to 0")));
  }
}

TEST_F(AuditTest, BadRequestsAreRefusedAndChangeNothing) {
  AppendEvents(5);
  auto inclusion = [&](uint64_t position, uint64_t size) {
    v1::GetInclusionProofRequest request;
    request.set_position(position);
    request.set_tree_size(size);
    v1::GetInclusionProofResponse proof;
    return audit_->GetInclusionProof(Context().get(), request, &proof);
  };
  auto consistency = [&](uint64_t from, uint64_t to) {
    v1::GetConsistencyProofRequest request;
    request.set_from_size(from);
    request.set_to_size(to);
    v1::GetConsistencyProofResponse proof;
    return audit_->GetConsistencyProof(Context().get(), request, &proof);
  };
  EXPECT_THAT(inclusion(0, 5), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                            HasSubstr("position 0 is not in the tree: give 1 "
                                                      "to its size, 5")));
  EXPECT_THAT(inclusion(4, 3), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                            HasSubstr("position 4 is not in the tree")));
  EXPECT_THAT(inclusion(6, 0), GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                                            HasSubstr("position 6 is past the head (5); give 1 "
                                                      "to 5")));
  // Past the tree named as well as the head: never valid, so INVALID_ARGUMENT, not the
  // OUT_OF_RANGE of what the log's growth may make valid (a contract checker's finding).
  EXPECT_THAT(inclusion(9, 5), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                            HasSubstr("position 9 is not in the tree: give 1 to "
                                                      "its size, 5")));
  EXPECT_THAT(inclusion(UINT64_MAX, 3),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("is not in the tree")));
  EXPECT_THAT(consistency(UINT64_MAX, 3),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("is past to_size 3")));
  // The tree named past the head as well (a reviewer's trial: OUT_OF_RANGE still).
  EXPECT_THAT(inclusion(20, 10), GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                                              HasSubstr("position 20 is not in the tree")));
  EXPECT_THAT(consistency(20, 10),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("is past to_size 10")));
  EXPECT_THAT(inclusion(1, 6), GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                                            HasSubstr("tree_size 6 is past the head (5)")));
  EXPECT_THAT(consistency(0, 5),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("from_size 0: every log extends the empty one, so there is "
                                     "nothing to prove; give 1 to to_size (5)")));
  EXPECT_THAT(consistency(4, 3),
              GrpcStatusIs(grpc::StatusCode::INVALID_ARGUMENT,
                           HasSubstr("from_size 4 is past to_size 3: a consistency proof goes "
                                     "from an earlier tree to a later one; give from_size 1 to "
                                     "3")));
  EXPECT_THAT(consistency(6, 0), GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                                              HasSubstr("from_size 6 is past the head (5)")));
  EXPECT_THAT(consistency(1, 9), GrpcStatusIs(grpc::StatusCode::OUT_OF_RANGE,
                                              HasSubstr("to_size 9 is past the head (5)")));
  EXPECT_THAT(inclusion(5, 0), GrpcOk());
  v1::GetHeadResponse head;
  ASSERT_THAT(stub_->GetHead(Context().get(), v1::GetHeadRequest(), &head), GrpcOk());
  EXPECT_EQ(head.position(), 5u);
}

// A flood of audit calls costs the server a bounded backlog: past 64 waiting, a call is refused
// at once (RESOURCE_EXHAUSTED, CALLS_BACKLOGGED) rather than queued without end, and once the
// flood has passed, calls are answered again.
TEST_F(AuditTest, AFloodOfCallsIsRefusedPastABoundedBacklog) {
  // Each tree head reads the events of the unfinished chunk of 1,024: 1,000 events of 20 KB
  // make every call take milliseconds, so 2,000 sent at once pile up.
  for (int call = 0; call < 20; ++call) {
    std::vector<v1::Event> events;
    for (int i = 0; i < 50; ++i) {
      events.push_back(MakeEvent("audit/flood", std::string(20000, static_cast<char>('a' + i % 26))));
    }
    v1::AppendResponse response;
    ASSERT_THAT(Append(*stub_, MakeAppend(std::move(events)), &response), GrpcOk());
  }
  constexpr int kCalls = 2000;
  grpc::CompletionQueue cq;
  struct Call {
    grpc::ClientContext context;
    v1::TreeHead response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::TreeHead>> reader;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kCalls; ++i) {
    auto call = std::make_unique<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    call->reader = audit_->AsyncGetTreeHead(&call->context, v1::GetTreeHeadRequest(), &cq);
    call->reader->Finish(&call->response, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  int answered = 0, refused = 0;
  for (int i = 0; i < kCalls; ++i) {
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    const Call& call = *static_cast<Call*>(tag);
    if (call.status.ok()) {
      EXPECT_EQ(call.response.size(), 1000u);
      ++answered;
    } else {
      EXPECT_THAT(call.status,
                  AllOf(GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     HasSubstr("64 calls of this kind are already waiting")),
                        HasErrorInfo("CALLS_BACKLOGGED", ElementsAre(Pair("waiting", "64")))));
      ++refused;
    }
  }
  EXPECT_GT(answered, 0);
  EXPECT_GT(refused, 0);
  v1::TreeHead tree_head;
  EXPECT_THAT(audit_->GetTreeHead(Context().get(), v1::GetTreeHeadRequest(), &tree_head),
              GrpcOk());
}

TEST_F(AuditTest, AWitnessKeepsTreeHeadsEachCheckedAgainstTheLast) {
  const std::string dir = Path("witness");
  const std::string witness = absl::StrCat("witness ", dir, " --public-key ", Path("ledger.pub"));
  AppendEvents(5);
  CliRun first = Run(witness);
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("kept the tree head of 5 events, root "));
  EXPECT_THAT(first.out, HasSubstr(dir + "/tree-head-00000000000000000005.json\n"));
  // A new history is said on stderr (a mistyped directory in a cron line starts one too).
  EXPECT_THAT(first.err, HasSubstr("held no tree head, so this one is its first and nothing was "
                                   "proved against an earlier one"));
  CliRun again = Run(witness);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr("held no tree head")));
  EXPECT_THAT(again.out, HasSubstr("the log has not grown since"));
  AppendEvents(7);
  CliRun grown = Run(witness);
  ASSERT_EQ(grown.code, 0) << grown.err;
  EXPECT_THAT(grown.out, HasSubstr("its first 5 events are unchanged, verified by a consistency "
                                   "proof of "));
  EXPECT_THAT(grown.out, HasSubstr("tree-head-00000000000000000012.json"));
  // What it kept is a tree head like any other: prove an event against it.
  CliRun event = Run(absl::StrCat("prove event 3 --tree-head ", dir,
                                  "/tree-head-00000000000000000005.json"));
  EXPECT_EQ(event.code, 0) << event.err;

  // The database replaced by another log, signed with the same key: found, nothing kept.
  daemon_.Stop();
  std::filesystem::remove_all(daemon_.data_dir());
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  AppendEvents(15, "programme/OCP");
  CliRun rewritten = Run(witness);
  EXPECT_EQ(rewritten.code, 4) << rewritten.out;
  EXPECT_THAT(rewritten.err, HasSubstr("does not extend the log of " + dir +
                                       "/tree-head-00000000000000000012.json"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/tree-head-00000000000000000015.json"));
  // Another key, and a DIR that is a file.
  CliRun other = Run(absl::StrCat("witness ", dir, " --public-key ", Path("other.pub")));
  EXPECT_EQ(other.code, 4);
  EXPECT_THAT(other.err, HasSubstr("signed by another key"));
  CliRun file = Run("witness " + Path("ledger.pub"));
  EXPECT_EQ(file.code, 2);
  EXPECT_THAT(file.err, HasSubstr("is not a directory it can create or use"));
  // The tree head it kept last, damaged: an integrity finding (exit 4), as a bad signature is,
  // not a mistake in the command (it had been exit 2, which a monitor alerting on 4 missed).
  const std::string kept = dir + "/tree-head-00000000000000000012.json";
  std::ofstream(kept, std::ios::trunc) << "{\"treeSize\":\"12\",";
  CliRun damaged = Run(witness);
  EXPECT_EQ(damaged.code, 4) << damaged.err;
  EXPECT_THAT(damaged.err, HasSubstr(kept + " does not hold a tree head"));
  EXPECT_THAT(damaged.err, HasSubstr("the tree head it kept last is damaged"));
}

// The ledger's tree head key is replaced (README, "As a system service"): tree heads from
// before and after are checked together, each with the key that signed it, and the log's
// continuity across the change is proved as before.
// A first run against an empty ledger keeps the empty log's tree head, which every log extends:
// the next run, against whatever log, proves nothing and says so (it had said nothing, exit 0).
TEST_F(AuditTest, AWitnessWhoseOnlyTreeHeadIsOfAnEmptyLogSaysNothingWasProved) {
  const std::string dir = Path("witness");
  const std::string witness = absl::StrCat("witness ", dir, " --public-key ", Path("ledger.pub"));
  CliRun empty = Run(witness);
  ASSERT_EQ(empty.code, 0) << empty.err;
  EXPECT_THAT(empty.err, HasSubstr("held no tree head"));
  AppendEvents(5);
  CliRun grown = Run(witness);
  ASSERT_EQ(grown.code, 0) << grown.err;
  EXPECT_THAT(grown.out, HasSubstr("tree-head-00000000000000000005.json"));
  EXPECT_THAT(grown.err,
              HasSubstr(absl::StrCat("held only the tree head of an empty log (", dir,
                                     "/tree-head-00000000000000000000.json), which every log "
                                     "extends, so nothing was proved against an earlier one")));
  AppendEvents(2);
  CliRun proved = Run(witness);
  ASSERT_EQ(proved.code, 0) << proved.err;
  EXPECT_THAT(proved.err, Not(HasSubstr("nothing was proved")));
}

TEST_F(AuditTest, TreeHeadsFromBeforeAndAfterTheTreeHeadKeyIsReplacedAreCheckedWithBothKeys) {
  const std::string dir = Path("witness");
  const std::string old_key = " --public-key " + Path("ledger.pub");
  const std::string new_key = " --public-key " + Path("other.pub");
  AppendEvents(3);
  ASSERT_EQ(Run("witness " + dir + old_key).code, 0);
  CliRun saved = Run("tree-head" + old_key);
  ASSERT_EQ(saved.code, 0) << saved.err;
  WriteText(Path("old.json"), saved.out);
  daemon_.Stop();
  daemon_.set_extra_args({"--tree-head-key", Path("other.key")});
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  AppendEvents(2);

  // The new key alone does not check the tree head kept under the old one, and says why.
  CliRun new_only = Run("witness " + dir + new_key);
  EXPECT_EQ(new_only.code, 4) << new_only.out;
  EXPECT_THAT(new_only.err, HasSubstr("tree-head-00000000000000000003.json: the tree head is "
                                      "signed by another key"));
  EXPECT_THAT(new_only.err, HasSubstr("if the ledger's tree head key was replaced, give the "
                                      "public keys of before and after"));
  CliRun old_only = Run("prove extends " + Path("old.json") + old_key);
  EXPECT_EQ(old_only.code, 4) << old_only.out;
  EXPECT_THAT(old_only.err, HasSubstr("the server's tree head: the tree head is signed by "
                                      "another key"));

  // Both keys: the log of 5 events extends the one of 3, signed by one key and then the other.
  CliRun both = Run("witness " + dir + new_key + old_key);
  ASSERT_EQ(both.code, 0) << both.err;
  EXPECT_THAT(both.out, HasSubstr("its first 3 events are unchanged"));
  EXPECT_THAT(both.out, HasSubstr("kept the tree head of 5 events"));
  EXPECT_THAT(both.out, HasSubstr("(the ledger's key was replaced between them): verified"));
  CliRun extends = Run("prove extends " + Path("old.json") + old_key + new_key);
  EXPECT_EQ(extends.code, 0) << extends.err;
  EXPECT_THAT(extends.out, HasSubstr("signed by the tree head keys "));
  // Once a tree head under the new key is kept, the witness needs only the new key.
  AppendEvents(1);
  CliRun later = Run("witness " + dir + new_key);
  ASSERT_EQ(later.code, 0) << later.err;
  EXPECT_THAT(later.out, HasSubstr("kept the tree head of 6 events"));
  EXPECT_THAT(later.out, HasSubstr("signed by the tree head key "));
  EXPECT_THAT(later.out, Not(HasSubstr("replaced")));
  // One of several keys that is not a key: exit 2, naming it.
  CliRun bad = Run("prove extends " + Path("old.json") + old_key + " --public-key " +
                   Path("old.json"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--public-key " + Path("old.json") + " holds no Ed25519"));
}

// The ledger's operator replaces the database with a log whose early events differ, under the
// same key: a tree head an auditor kept from before shows it.
TEST_F(AuditTest, ARewrittenLogDoesNotExtendTheTreeHeadAnAuditorKept) {
  AppendEvents(6);
  CliRun saved = Run("tree-head");
  ASSERT_EQ(saved.code, 0) << saved.err;
  WriteText(Path("kept.json"), saved.out);
  daemon_.Stop();
  std::filesystem::remove_all(daemon_.data_dir());
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  AppendEvents(3, "programme/LPP");
  AppendEvents(9, "programme/OCP");
  CliRun rewritten = Run(absl::StrCat("prove extends ", Path("kept.json"), " --public-key ",
                                      Path("ledger.pub")));
  EXPECT_EQ(rewritten.code, 4) << rewritten.out;
  EXPECT_THAT(rewritten.err, HasSubstr("(tree head of 12 events, root "));
  EXPECT_THAT(rewritten.err, HasSubstr("does not extend the log of " + Path("kept.json")));
  EXPECT_THAT(rewritten.err, HasSubstr("some of its first 6 events have changed"));
  // Its export, though every event chains to the one before, does not give the kept root.
  ASSERT_EQ(Run("export --out " + Path("rewritten.jsonl")).code, 0);
  CliRun offline = Cli(absl::StrCat("verify --file ", Path("rewritten.jsonl"), " --tree-head ",
                                    Path("kept.json"), " --public-key ", Path("ledger.pub")));
  EXPECT_EQ(offline.code, 4);
  EXPECT_THAT(offline.err, HasSubstr("its events 1 to 6 do not give the Merkle root of"));
}

// A log cut back below a tree head its server signed (a restore from an older backup): neither
// an event of it nor the log extends the kept tree head, exit 4 (a proof that fails), not a
// refusal of the call.
TEST_F(AuditTest, ALogCutBackBelowAKeptTreeHeadIsAProofThatFails) {
  AppendEvents(4);
  daemon_.Stop();
  const std::string older = Path("older-copy");
  std::filesystem::copy(daemon_.data_dir(), older, std::filesystem::copy_options::recursive);
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  CliRun early = Run("tree-head");
  ASSERT_EQ(early.code, 0) << early.err;
  WriteText(Path("early.json"), early.out);
  AppendEvents(3);
  CliRun saved = Run("tree-head");
  ASSERT_EQ(saved.code, 0) << saved.err;
  WriteText(Path("kept.json"), saved.out);
  daemon_.Stop();
  std::filesystem::remove_all(daemon_.data_dir());
  std::filesystem::rename(older, daemon_.data_dir());
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  for (const char* position : {"2", "6"}) {
    CliRun event = Run(absl::StrCat("prove event ", position, " --tree-head ", Path("kept.json"),
                                    " --public-key ", Path("ledger.pub")));
    EXPECT_EQ(event.code, 4) << position << ": " << event.err;
    EXPECT_THAT(event.err, HasSubstr("the server's log holds 4 events, fewer than the 7 of " +
                                     Path("kept.json") + ": a log only grows"));
  }
  CliRun extends = Run(absl::StrCat("prove extends ", Path("kept.json"), " --public-key ",
                                    Path("ledger.pub")));
  EXPECT_EQ(extends.code, 4) << extends.err;
  EXPECT_THAT(extends.err, HasSubstr("a log only grows"));
  // Two kept tree heads, the newer past the server's log: so too.
  CliRun kept = Run(absl::StrCat("prove extends ", Path("early.json"), " --tree-head ",
                                 Path("kept.json"), " --public-key ", Path("ledger.pub")));
  EXPECT_EQ(kept.code, 4) << kept.err;
  EXPECT_THAT(kept.err, HasSubstr("the server's log holds 4 events, fewer than the 7 of " +
                                  Path("kept.json") + ": a log only grows"));
}

TEST(AuditStartTest, ABadTreeHeadKeyStopsTheStart) {
  TempDir dir;
  ASSERT_EQ(Cli("keys generate --out " + dir.path() + "/ledger").code, 0);
  // A public key where the private one should be (a file only its owner may read).
  WriteText(dir.path() + "/public.key", ReadText(dir.path() + "/ledger.pub"));
  std::filesystem::permissions(dir.path() + "/public.key",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ExpectStartFails({"--tree-head-key", dir.path() + "/public.key"},
                   "holds no Ed25519 private key but a public key: give the private key");
  // The .pub file itself, which every user may read: the fix named is the other file.
  ExpectStartFails({"--tree-head-key", dir.path() + "/ledger.pub"}, "not PREFIX.pub");
  // Neither key.
  WriteText(dir.path() + "/garbage.key", "not a key");
  std::filesystem::permissions(dir.path() + "/garbage.key",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ExpectStartFails({"--tree-head-key", dir.path() + "/garbage.key"},
                   "holds no Ed25519 private key (make one with `govledger keys generate`)");
  std::filesystem::permissions(dir.path() + "/ledger.key", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  ExpectStartFails({"--tree-head-key", dir.path() + "/ledger.key"}, "chmod o-rwx");
  ExpectStartFails({"--tree-head-key", dir.path() + "/none.key"}, "--tree-head-key");
}

// The tree heads govledgerd writes to its log (--tree-head-seconds), one JSON line each (whole
// lines only: the text after the last line break may be a line still being written).
std::vector<v1::TreeHead> PublishedTreeHeads(const std::string& stderr_text) {
  std::vector<v1::TreeHead> out;
  const size_t end = stderr_text.rfind('\n');
  if (end == std::string::npos) return out;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view(stderr_text).substr(0, end), '\n')) {
    if (!absl::ConsumePrefix(&line, "govledgerd: tree head ")) continue;
    v1::TreeHead head;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &head).ok())
        << line;
    out.push_back(head);
  }
  return out;
}

TEST_F(AuditTest, TheDaemonPublishesATreeHeadWhenTheLogHasGrownAndAtShutdown) {
  daemon_.Stop();
  daemon_.set_extra_args(
      {"--tree-head-key", Path("ledger.key"), "--tree-head-seconds", "1"});
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  // Four events in one commit, so that every tree head published has size 0 or 4 whenever the
  // publisher's one-second tick falls.
  v1::AppendResponse appended;
  ASSERT_THAT(Append(*stub_,
                     MakeAppend({MakeEvent("programme/LPP", "p0"), MakeEvent("programme/LPP", "p1"),
                                 MakeEvent("programme/LPP", "p2"), MakeEvent("programme/LPP", "p3")}),
                     &appended),
              GrpcOk());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (PublishedTreeHeads(daemon_.Stderr()).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<v1::TreeHead> heads = PublishedTreeHeads(daemon_.Stderr());
  ASSERT_FALSE(heads.empty()) << daemon_.Stderr();
  const v1::TreeHead first = heads.back();
  EXPECT_EQ(first.size(), 4u);
  absl::StatusOr<std::string> key = crypto::Ed25519PublicKeyFromPem(ReadText(Path("ledger.pub")));
  ASSERT_OK(key);
  EXPECT_OK(VerifyTreeHead(first, {*key}));
  // Nothing appended: no new tree head.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(PublishedTreeHeads(daemon_.Stderr()).size(), heads.size());

  // A published tree head is one to prove against, like one asked for.
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(first, &json).ok());
  WriteText(Path("published.json"), json);
  AppendEvents(3);
  CliRun extends = Run(absl::StrCat("prove extends ", Path("published.json"), " --public-key ",
                                    Path("ledger.pub")));
  EXPECT_EQ(extends.code, 0) << extends.err;
  // At shutdown, one for the head then.
  ASSERT_TRUE(daemon_.Stop().Success());
  heads = PublishedTreeHeads(daemon_.Stderr());
  ASSERT_FALSE(heads.empty());
  EXPECT_EQ(heads.back().size(), 7u);
  EXPECT_OK(VerifyTreeHead(heads.back(), {*key}));
}

TEST(AuditUnsignedTest, WithoutAKeyTreeHeadsAreUnsignedAndSaySo) {
  TempDir dir;
  ASSERT_EQ(Cli("keys generate --out " + dir.path() + "/ledger").code, 0);
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  const std::string server = absl::StrCat("--server ", daemon.address(), " ");
  CliRun empty = Cli(server + "tree-head");
  ASSERT_EQ(empty.code, 0) << empty.err;
  EXPECT_THAT(empty.out, HasSubstr("\"size\":\"0\""));
  EXPECT_THAT(empty.out, HasSubstr("\"signature\":\"\""));
  CliRun checked = Cli(server + "tree-head --public-key " + dir.path() + "/ledger.pub");
  EXPECT_EQ(checked.code, 4);
  EXPECT_THAT(checked.err, HasSubstr("is not signed"));
  // An empty log's tree head is extended by every later log.
  WriteText(dir.path() + "/empty.json", empty.out);
  CliRun extends = Cli(server + "prove extends " + dir.path() + "/empty.json");
  EXPECT_EQ(extends.code, 0) << extends.err;
  EXPECT_THAT(extends.out, HasSubstr("its first 0 events are unchanged"));
  // An empty log's tree head proves no event.
  CliRun nothing = Cli(server + "prove event 1 --tree-head " + dir.path() + "/empty.json");
  EXPECT_EQ(nothing.code, 2);
  EXPECT_THAT(nothing.err, HasSubstr("which holds no events"));
}

}  // namespace
}  // namespace govledger::testing
