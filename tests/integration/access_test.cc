// Access control and TLS against the real govledgerd and CLI (README, "Access control"):
// tokens made by `govledger admin token`, a daemon started with --tokens, and every service's
// calls with no token, an unknown one, and tokens of each role; the actor a token records; a
// refused append stores nothing; SIGHUP reloads the tokens file. Then TLS: a daemon started
// with --tls-cert/--tls-key serves the CLI and a stub that trust its certificate, and no
// plaintext client. Bad tokens files and TLS flags stop the start with a message naming what
// to fix.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"
#include "govledger/v1/admin.grpc.pb.h"
#include "govledger/v1/query.grpc.pb.h"
#include "projections/publication.h"
#include "tests/governance_events.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/client_util.h"

namespace govledger::testing {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

struct Token {
  std::string secret;  // what the caller sends
  std::string line;    // its line in the tokens file
};

// `text` as one shell word.
std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

// A token made the way an administrator makes one: `govledger admin token`.
Token MakeToken(const std::string& role, const std::string& actor) {
  CliRun run = Cli(absl::StrCat("admin token --role ", role, " --actor ", ShellQuote(actor)));
  EXPECT_EQ(run.code, 0) << run.err;
  Token token;
  for (absl::string_view line : absl::StrSplit(run.out, '\n')) {
    if (absl::ConsumePrefix(&line, "token ")) token.secret = std::string(line);
    if (absl::ConsumePrefix(&line, "tokens-file-line ")) token.line = std::string(line);
  }
  EXPECT_FALSE(token.secret.empty()) << run.out;
  EXPECT_FALSE(token.line.empty()) << run.out;
  return token;
}

// Writes `contents` to `path`, mode 0644 whatever the umask (govledgerd refuses a tokens file
// others may write).
void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  namespace fs = std::filesystem;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
}

// A context carrying `token` (if any) and `actor` (if any), with the tests' deadline.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token,
                                             const std::string& actor = "") {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  if (!token.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  if (!actor.empty()) context->AddMetadata("govledger-actor", actor);
  return context;
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writer_ = MakeToken("writer", "PMO (Mayor's office)");
    reader_ = MakeToken("reader", "Internal audit");
    admin_ = MakeToken("admin", "Operations");
    tokens_file_ = dir_.path() + "/tokens";
    WriteFile(tokens_file_, absl::StrCat("# govledgerd access tokens\n", writer_.line, "\n",
                                         reader_.line, "\n\n", admin_.line, "\n"));
    daemon_.set_extra_args({"--tokens", tokens_file_});
    ASSERT_OK(daemon_.Start());
    stub_ = daemon_.NewStub();
  }

  grpc::Status AppendAs(const std::string& token, const std::string& actor,
                        v1::AppendResponse* response) {
    auto context = Context(token, actor);
    return stub_->Append(context.get(), MakeAppend({MakeEvent("programme/LPP", "p")}), response);
  }

  grpc::Status GetHeadAs(const std::string& token, v1::GetHeadResponse* response) {
    auto context = Context(token);
    return stub_->GetHead(context.get(), v1::GetHeadRequest(), response);
  }

  // `n` events of 512 KiB on bulk/1, which do not compress, appended by the writer.
  void AppendBulk(int n) {
    std::mt19937_64 random(7);
    std::string payload(512 << 10, '\0');
    for (int i = 0; i < n; ++i) {
      for (char& c : payload) c = static_cast<char>(random());
      auto context = Context(writer_.secret);
      v1::AppendResponse appended;
      ASSERT_THAT(stub_->Append(context.get(), MakeAppend({MakeEvent("bulk/1", payload)}),
                                &appended),
                  GrpcOk());
    }
  }

  // Makes `tokens` the tokens file's, reloads it (SIGHUP), and waits until `fresh` is accepted.
  void ReloadTokens(const std::vector<Token>& tokens, const Token& fresh) {
    std::string file;
    for (const Token& t : tokens) absl::StrAppend(&file, t.line, "\n");
    WriteFile(tokens_file_, file);
    ASSERT_EQ(kill(daemon_.pid(), SIGHUP), 0);
    v1::GetHeadResponse head;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!GetHeadAs(fresh.secret, &head).ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_THAT(GetHeadAs(fresh.secret, &head), GrpcOk());
  }

  TempDir dir_;
  std::string tokens_file_;
  Token writer_, reader_, admin_;
  DaemonHarness daemon_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
};

TEST_F(AccessTest, ACallWithoutAKnownTokenIsUnauthenticatedAndStoresNothing) {
  v1::AppendResponse appended;
  EXPECT_THAT(AppendAs("", "", &appended),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, HasSubstr("Bearer <token>")));
  EXPECT_THAT(AppendAs("glt_not-a-token-anyone-was-given", "", &appended),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, HasSubstr("not one this server")));
  {
    auto context = Context("");
    context->AddMetadata("authorization", absl::StrCat("Basic ", writer_.secret));
    EXPECT_THAT(stub_->Append(context.get(), MakeAppend({MakeEvent("programme/LPP", "p")}),
                              &appended),
                GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, HasSubstr("'Bearer <token>'")));
  }
  // The scheme's name in any case, and more than one space after it (RFC 6750), are accepted;
  // so is white space after the token, as before it (a security review found a trailing space
  // refused).
  for (const char* scheme : {"bearer ", "BEARER ", "Bearer   "}) {
    auto context = Context("");
    context->AddMetadata("authorization", absl::StrCat(scheme, reader_.secret, " "));
    v1::GetHeadResponse head;
    EXPECT_TRUE(stub_->GetHead(context.get(), v1::GetHeadRequest(), &head).ok()) << scheme;
  }
  // Two tokens: which would count is nobody's guess, so neither does (whatever their order).
  for (const bool admin_first : {true, false}) {
    auto context = Context("");
    const std::string first = admin_first ? admin_.secret : reader_.secret;
    const std::string second = admin_first ? reader_.secret : admin_.secret;
    context->AddMetadata("authorization", absl::StrCat("Bearer ", first));
    context->AddMetadata("authorization", absl::StrCat("Bearer ", second));
    v1::GetHeadResponse head;
    EXPECT_THAT(stub_->GetHead(context.get(), v1::GetHeadRequest(), &head),
                GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED,
                             HasSubstr("sends authorization 2 times; send one token")));
  }
  // The token file's line is not a token: it holds only the digest.
  EXPECT_THAT(AppendAs(writer_.line.substr(0, 64), "", &appended),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));

  v1::GetHeadResponse head;
  EXPECT_THAT(GetHeadAs("", &head), GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  {
    auto context = Context("");
    v1::ReadResponse page;
    EXPECT_THAT(stub_->Read(context.get(), v1::ReadRequest(), &page),
                GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  }
  {
    auto context = Context("");
    auto subscription = stub_->Subscribe(context.get(), v1::SubscribeRequest());
    v1::Event event;
    EXPECT_FALSE(subscription->Read(&event));
    EXPECT_THAT(subscription->Finish(),
                GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  }
  {
    auto query = v1::QueryService::NewStub(daemon_.NewChannel());
    auto context = Context("");
    v1::GetProgrammeStatusRequest request;
    request.set_programme_id("LPP");
    v1::GetProgrammeStatusResponse status;
    EXPECT_THAT(query->GetProgrammeStatus(context.get(), request, &status),
                GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
    auto list_context = Context("");
    v1::ListProgrammesResponse programmes;
    EXPECT_THAT(query->ListProgrammes(list_context.get(), v1::ListProgrammesRequest(), &programmes),
                GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  }
  {
    auto admin = v1::AdminService::NewStub(daemon_.NewChannel());
    auto context = Context("");
    auto backup = admin->Backup(context.get(), v1::BackupRequest());
    v1::BackupChunk chunk;
    EXPECT_FALSE(backup->Read(&chunk));
    EXPECT_THAT(backup->Finish(), GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  }
  // Health checks stay open, for probes.
  std::string health;
  EXPECT_THAT(GenericUnaryCall(daemon_.NewChannel(), kHealthCheck, "", &health), GrpcOk());

  ASSERT_THAT(GetHeadAs(reader_.secret, &head), GrpcOk());
  EXPECT_EQ(head.position(), 0u);
  // The daemon's log says who was turned away, and why, at most 10 lines a minute.
  const std::string log = daemon_.Stderr();
  EXPECT_THAT(log, HasSubstr("refused a call from ipv"));
  EXPECT_THAT(log, HasSubstr(": UNAUTHENTICATED: the access token is not one this server "
                             "accepts"));
  size_t refusals = 0;
  for (size_t at = log.find("refused a call from"); at != std::string::npos;
       at = log.find("refused a call from", at + 1)) {
    ++refusals;
  }
  EXPECT_EQ(refusals, 10u);  // of 13 or so: the first 10 of the minute
}

TEST_F(AccessTest, TheTokenNamesTheActorAndItsRoleBoundsWhatItMayCall) {
  v1::AppendResponse appended;
  ASSERT_THAT(AppendAs(writer_.secret, "", &appended), GrpcOk());
  // The same actor named explicitly is fine; anyone else is refused.
  ASSERT_THAT(AppendAs(writer_.secret, "PMO (Mayor's office)", &appended), GrpcOk());
  EXPECT_THAT(AppendAs(writer_.secret, "Chief Constable", &appended),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           HasSubstr("govledger-actor 'Chief Constable' is not the token's actor "
                                     "'PMO (Mayor's office)'; leave govledger-actor (")));
  {  // The refusal names the key that carried the actor.
    auto context = Context(writer_.secret);
    context->AddMetadata("govledger-actor-bin", "Zoë");
    EXPECT_THAT(
        stub_->Append(context.get(), MakeAppend({MakeEvent("programme/LPP", "p")}), &appended),
        GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                     HasSubstr("govledger-actor-bin 'Zoë' is not the token's actor 'PMO (Mayor's "
                               "office)'; leave govledger-actor-bin (")));
  }
  // An actor whose bytes a terminal would act on is refused as an actor, before it is compared
  // with the token's, and not echoed raw (a fuzzer had found them so).
  {
    auto context = Context(writer_.secret);
    context->AddMetadata("govledger-actor-bin", "\x1b[31mRED\x1b[0m\xff");
    EXPECT_THAT(
        stub_->Append(context.get(), MakeAppend({MakeEvent("programme/LPP", "p")}), &appended),
        GrpcStatusIs(
            grpc::StatusCode::INVALID_ARGUMENT,
            AllOf(HasSubstr("control character U+001B at byte 0"), Not(HasSubstr("\x1b[31m")))));
  }
  // A reader reads but does not append; told too what the streams that decide who approves
  // spending need (a reader registering a key had been told only of writer).
  EXPECT_THAT(AppendAs(reader_.secret, "", &appended),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           HasSubstr("'Internal audit' has the role reader; this call needs "
                                     "writer (admin for events on organisation/, key/ and "
                                     "delegation/ streams)")));
  // An admin may do all a writer may.
  ASSERT_THAT(AppendAs(admin_.secret, "", &appended), GrpcOk());

  auto context = Context(reader_.secret);
  v1::ReadResponse page;
  ASSERT_THAT(stub_->Read(context.get(), v1::ReadRequest(), &page), GrpcOk());
  ASSERT_EQ(page.events_size(), 3);  // nothing of the refused appends was stored
  EXPECT_EQ(page.events(0).actor(), "PMO (Mayor's office)");
  EXPECT_EQ(page.events(1).actor(), "PMO (Mayor's office)");
  EXPECT_EQ(page.events(2).actor(), "Operations");

  // Backups need an admin.
  auto admin = v1::AdminService::NewStub(daemon_.NewChannel());
  auto backup_context = Context(writer_.secret);
  auto backup = admin->Backup(backup_context.get(), v1::BackupRequest());
  v1::BackupChunk chunk;
  EXPECT_FALSE(backup->Read(&chunk));
  EXPECT_THAT(backup->Finish(),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("needs admin")));
}

// Organisations, signing keys and delegation rules decide who may approve spending: a writer may
// not register a key in a signatory's name, revoke one, set a rule, register an organisation
// (one overseeing another would have its decisions, held to none of the other's rules, approve
// the other's scope changes), or correct any of those; an admin may.
TEST_F(AccessTest, OrganisationsSigningKeysAndDelegationRulesNeedAnAdmin) {
  using namespace testing::gov;  // NOLINT: builders
  const Signer dmpc = NewSigner("mopac-dmpc", "Deputy Mayor for Policing and Crime");
  const v1::Event registration = Ev(dmpc.Registration("Sophie Linden"));
  auto append = [&](const std::string& token, std::vector<v1::Event> events) {
    auto context = Context(token);
    v1::AppendResponse response;
    return stub_->Append(context.get(), MakeAppend(events), &response);
  };
  v1::AppendResponse appended;
  ASSERT_THAT(AppendAs(writer_.secret, "", &appended), GrpcOk());
  const uint64_t head = appended.head_position();
  // Alone, or beside an event a writer may append: the whole append is refused.
  for (const std::vector<v1::Event>& events :
       {std::vector<v1::Event>{registration},
        std::vector<v1::Event>{MakeEvent("programme/LPP", "p"), Ev(Revoke("mopac-dmpc"))},
        std::vector<v1::Event>{Ev(Delegation("MOPAC", "DMPC-500K", 50000000,
                                             "Deputy Mayor for Policing and Crime"))},
        std::vector<v1::Event>{Ev(Organisation("OVERSEER"))}}) {
    EXPECT_THAT(append(writer_.secret, events),
                GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                             AllOf(HasSubstr("decide who may approve spending, so they need "
                                             "an admin token; the token of 'PMO (Mayor's "
                                             "office)' has the role writer"),
                                   ::testing::AnyOf(
                                       HasSubstr(" is on key/mopac-dmpc"),
                                       HasSubstr(" is on delegation/MOPAC/DMPC-500K"),
                                       HasSubstr(" is on organisation/OVERSEER")))));
  }
  ASSERT_THAT(append(admin_.secret, {registration}), GrpcOk());
  EXPECT_THAT(append(writer_.secret, {Correction(registration, "registered in error")}),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           HasSubstr("events[0] is on key/mopac-dmpc")));
  v1::GetHeadResponse now;
  ASSERT_THAT(GetHeadAs(reader_.secret, &now), GrpcOk());
  EXPECT_EQ(now.position(), head + 1);  // the admin's registration only
  // Each refusal is counted among the appends refused, with one made without a token (a
  // monitor watching the count saw none of these).
  EXPECT_THAT(append("", {MakeEvent("programme/LPP", "p")}),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  auto admin = v1::AdminService::NewStub(daemon_.NewChannel());
  auto context = Context(reader_.secret);
  v1::GetStatsResponse stats;
  ASSERT_THAT(admin->GetStats(context.get(), v1::GetStatsRequest(), &stats), GrpcOk());
  EXPECT_EQ(stats.appends_refused(), 6u);
  EXPECT_EQ(stats.appends_accepted(), 2u);
}

// Voiding a signature takes a decision's approval away: a writer may not correct one (a writer
// who could would un-approve PCD 72 alone, then withdraw it), whatever the decision's stream
// allows them otherwise; an admin may. A writer still corrects a decision's other events.
TEST_F(AccessTest, OnlyAnAdminCorrectsASignature) {
  using namespace testing::gov;  // NOLINT: builders
  const Signer dmpc = NewSigner("mopac-dmpc", "Deputy Mayor for Policing and Crime");
  auto append = [&](const std::string& token, std::vector<v1::Event> events) {
    auto context = Context(token);
    v1::AppendResponse response;
    return stub_->Append(context.get(), MakeAppend(events), &response);
  };
  const v1::DecisionProposed pcd72 = Decision("MOPAC", "PCD 72", {dmpc.role});
  const v1::DecisionProposed pcd73 = Decision("MOPAC", "PCD 73", {dmpc.role});
  const v1::Event signature = Ev(dmpc.Sign(pcd72));
  const v1::Event unsigned_proposal = Ev(pcd73);
  ASSERT_THAT(append(admin_.secret, {Ev(Organisation("MOPAC")), Ev(dmpc.Registration("S. Linden")),
                                     Ev(pcd72), signature, unsigned_proposal}),
              GrpcOk());
  v1::GetHeadResponse before;
  ASSERT_THAT(GetHeadAs(reader_.secret, &before), GrpcOk());
  // Alone, or after a correction a writer may make: the whole append is refused.
  for (const std::vector<v1::Event>& events :
       {std::vector<v1::Event>{Correction(signature, "voided by a writer")},
        std::vector<v1::Event>{Correction(unsigned_proposal, "a typo"),
                               Correction(signature, "voided by a writer")}}) {
    EXPECT_THAT(append(writer_.secret, events),
                GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                             AllOf(HasSubstr(absl::StrCat("event ", signature.event_id(),
                                                          " signs a decision on "
                                                          "decision/MOPAC/PCD-72")),
                                   HasSubstr("a signature is corrected only with an admin "
                                             "token"))));
  }
  v1::GetHeadResponse after;
  ASSERT_THAT(GetHeadAs(reader_.secret, &after), GrpcOk());
  EXPECT_EQ(after.position(), before.position());
  EXPECT_EQ(after.hash(), before.hash());
  // A writer corrects the unsigned proposal; an admin the signature.
  EXPECT_THAT(append(writer_.secret, {Correction(unsigned_proposal, "a typo")}), GrpcOk());
  EXPECT_THAT(append(admin_.secret, {Correction(signature, "signed the wrong paper")}), GrpcOk());
  // Nor does a writer void the withdrawal of a signed decision: its signature would count
  // again, and approve it once every role has signed (a security review restored a withdrawn
  // consent so). A withdrawal of a decision no one signed is a writer's to correct.
  const Signer cfo = NewSigner("mopac-cfo", "Chief Finance Officer");
  const v1::DecisionProposed pcd74 = Decision("MOPAC", "PCD 74", {dmpc.role, cfo.role});
  const v1::DecisionProposed pcd75 = Decision("MOPAC", "PCD 75", {dmpc.role});
  auto withdrawn = [](const v1::DecisionProposed& d) {
    v1::DecisionWithdrawn m;
    m.set_organisation_id(d.organisation_id());
    m.set_reference(d.reference());
    m.set_reason("consent withdrawn");
    return Ev(m);
  };
  const v1::Event withdrawal = withdrawn(pcd74), unsigned_withdrawal = withdrawn(pcd75);
  ASSERT_THAT(
      append(admin_.secret, {Ev(cfo.Registration("C. F. Officer")), Ev(pcd74), Ev(dmpc.Sign(pcd74)),
                             withdrawal, Ev(pcd75), unsigned_withdrawal}),
      GrpcOk());
  EXPECT_THAT(append(writer_.secret, {Correction(withdrawal, "withdrawn in error")}),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           AllOf(HasSubstr(absl::StrCat("event ", withdrawal.event_id(),
                                                        " withdraws decision MOPAC/PCD 74, which "
                                                        "holds 1 signature")),
                                 HasSubstr("corrected only with an admin token"))));
  // Dated before the withdrawal as well: told first that it is an admin's to record, not
  // sent to mend the date only to be refused for the token.
  EXPECT_THAT(append(writer_.secret,
                     {At(Correction(withdrawal, "withdrawn in error"), MakeDate(2016, 1, 1))}),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           HasSubstr("corrected only with an admin token")));
  EXPECT_THAT(append(writer_.secret, {Correction(unsigned_withdrawal, "withdrawn in error")}),
              GrpcOk());
  EXPECT_THAT(append(admin_.secret, {Correction(withdrawal, "withdrawn in error")}), GrpcOk());
}

// A viewer has the queries and the head, which hold no payload, and not the whole events, which
// carry decisions' confidential Part 2.
TEST_F(AccessTest, AViewerQueriesButReadsNoEvents) {
  const Token viewer = MakeToken("viewer", "Police and Crime Panel");
  ASSERT_NO_FATAL_FAILURE(ReloadTokens({writer_, viewer}, viewer));
  v1::AppendResponse appended;
  ASSERT_THAT(AppendAs(writer_.secret, "", &appended), GrpcOk());

  const std::string refused = "'Police and Crime Panel' has the role viewer; this call needs ";
  {
    auto context = Context(viewer.secret);
    v1::ReadResponse page;
    EXPECT_THAT(stub_->Read(context.get(), v1::ReadRequest(), &page),
                GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                             AllOf(HasSubstr(refused + "reader"),
                                   HasSubstr("a viewer has the queries, the head, tree heads "
                                             "and proofs of them, and the daemon's figures"),
                                   HasSubstr("Part 2"))));
  }
  {
    auto context = Context(viewer.secret);
    auto subscription = stub_->Subscribe(context.get(), v1::SubscribeRequest());
    v1::Event event;
    EXPECT_FALSE(subscription->Read(&event));
    EXPECT_THAT(subscription->Finish(),
                GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr(refused + "reader")));
  }
  // A write is refused as such: the payloads a viewer may not read are no reason for it.
  EXPECT_THAT(AppendAs(viewer.secret, "", &appended),
              GrpcStatusIs(grpc::StatusCode::PERMISSION_DENIED,
                           AllOf(HasSubstr(refused + "writer"), Not(HasSubstr("payloads")))));
  {
    // Queries are answered (here NOT_FOUND: the log holds no programme, an answer all the same).
    auto query = v1::QueryService::NewStub(daemon_.NewChannel());
    auto context = Context(viewer.secret);
    v1::GetProgrammeStatusRequest request;
    request.set_programme_id("LPP");
    request.mutable_as_at()->set_position(1);
    request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
    v1::GetProgrammeStatusResponse status;
    EXPECT_THAT(query->GetProgrammeStatus(context.get(), request, &status),
                GrpcStatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("LPP")));
  }
  // The CLI: head and the queries work; tail (whole events) is refused.
  const std::string as_viewer = absl::StrCat("--server ", daemon_.address(), " --token ",
                                             viewer.secret, " ");
  CliRun cli_head = Cli(as_viewer + "head");
  EXPECT_EQ(cli_head.code, 0) << cli_head.err;
  CliRun stats = Cli(as_viewer + "admin stats");
  EXPECT_EQ(stats.code, 0) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("1 append accepted"));
  CliRun no_token = Cli(absl::StrCat("--server ", daemon_.address(), " admin stats"));
  EXPECT_EQ(no_token.code, 1);
  EXPECT_THAT(no_token.err, HasSubstr("UNAUTHENTICATED"));
  CliRun status = Cli(as_viewer + "status --programme LPP");
  EXPECT_THAT(status.err, HasSubstr("LPP"));
  EXPECT_THAT(status.err, ::testing::Not(HasSubstr("PERMISSION_DENIED")));
  CliRun tree_head = Cli(as_viewer + "tree-head");  // hashes only
  EXPECT_EQ(tree_head.code, 0) << tree_head.err;
  EXPECT_THAT(tree_head.out, HasSubstr("\"size\":\"1\""));
  CliRun tail = Cli(as_viewer + "tail");
  EXPECT_EQ(tail.code, 1);
  EXPECT_THAT(tail.err, AllOf(HasSubstr("PERMISSION_DENIED"), HasSubstr("Part 2")));
}

// Part 1 deferred to a date still to come: a viewer sees that the decision exists, its status
// and signatories, and none of its content, until then; a reader sees it whole.
TEST_F(AccessTest, AViewerSeesNothingOfADecisionWhosePublicationIsDeferred) {
  const Token viewer = MakeToken("viewer", "Police and Crime Panel");
  ASSERT_NO_FATAL_FAILURE(ReloadTokens({writer_, reader_, admin_, viewer}, viewer));

  using gov::Amount;
  using gov::Decision;
  using gov::Ev;
  using gov::MakeDate;
  const gov::Signer dmpc =
      gov::NewSigner("dmpc-1", "Deputy Mayor for Policing and Crime");
  // Deferred to a date to come, deferred to a date gone by, not deferred.
  v1::DecisionProposed secret = Decision("MOPAC", "PCD 90", {dmpc.role},
                                         {Amount(v1::AMOUNT_KIND_CAPITAL, 40000000, "Reserve"),
                                          Amount(v1::AMOUNT_KIND_REVENUE, 7000000, "Reserve")});
  *secret.mutable_part1_deferred_until() = MakeDate(2199, 1, 1);
  v1::OfficerStatement* officer = secret.add_officer_approvals();
  officer->set_role("Chief Finance Officer");
  officer->set_statement("Financial advice has been taken on this proposal.");
  v1::DecisionProposed published = Decision(
      "MOPAC", "PCD 91", {dmpc.role}, {Amount(v1::AMOUNT_KIND_CAPITAL, 5000000, "Reserve")});
  *published.mutable_part1_deferred_until() = MakeDate(2017, 1, 1);
  v1::DecisionProposed open = Decision("MOPAC", "PCD 92", {dmpc.role},
                                       {Amount(v1::AMOUNT_KIND_REVENUE, 100000, "Grant")});
  secret.set_programme_id("LPP");
  published.set_programme_id("LPP");
  // Sources that name the record of decision, title and all.
  auto sourced = [](v1::Event e, const std::string& source) {
    e.set_source(source);
    return e;
  };
  v1::AppendResponse appended;
  {
    auto context = Context(admin_.secret);  // it registers a key
    ASSERT_THAT(
        stub_->Append(
            context.get(),
            gov::Request({gov::At(Ev(gov::Organisation("MOPAC")), MakeDate(2016, 1, 1)),
                          gov::At(Ev(gov::Programme("LPP", "MOPAC")), MakeDate(2016, 1, 1)),
                          gov::At(Ev(dmpc.Registration("Sophie Linden")), MakeDate(2016, 1, 1)),
                          sourced(Ev(secret), "Record of Decision PCD 90, PCD 90 title"),
                          sourced(Ev(dmpc.SignDeclaring(secret, "a sister on the board")),
                                  "Record of Decision PCD 90, PCD 90 title, as signed"),
                          // Proposed before the date its publication was deferred to.
                          sourced(gov::At(Ev(published), MakeDate(2016, 12, 1)),
                                  "Record of Decision PCD 91, PCD 91 title"),
                          Ev(dmpc.SignDeclaring(published)), Ev(open), Ev(dmpc.Sign(open))}),
            &appended),
        GrpcOk());
  }

  auto query = v1::QueryService::NewStub(daemon_.NewChannel());
  v1::GetDecisionRegisterRequest request;
  request.set_organisation_id("MOPAC");
  request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  request.mutable_as_at()->set_position(appended.head_position());
  auto register_as = [&](const std::string& token, v1::GetDecisionRegisterResponse* r) {
    auto context = Context(token);
    return query->GetDecisionRegister(context.get(), request, r);
  };
  v1::GetDecisionRegisterResponse as_viewer, as_reader;
  ASSERT_THAT(register_as(viewer.secret, &as_viewer), GrpcOk());
  ASSERT_THAT(register_as(reader_.secret, &as_reader), GrpcOk());
  ASSERT_EQ(as_viewer.decisions_size(), 3);
  ASSERT_EQ(as_reader.decisions_size(), 3);

  const v1::DecisionEntry& hidden = as_viewer.decisions(0);
  EXPECT_EQ(hidden.reference(), "PCD 90");
  EXPECT_TRUE(hidden.withheld());
  EXPECT_EQ(hidden.status(), v1::DECISION_STATUS_APPROVED);
  EXPECT_EQ(hidden.part1_deferred_until().year(), 2199);
  EXPECT_EQ(hidden.title(), "");
  EXPECT_EQ(hidden.amounts_size(), 0);
  EXPECT_EQ(hidden.officer_approvals_size(), 0);
  ASSERT_EQ(hidden.signatures_size(), 1);
  EXPECT_EQ(hidden.signatures(0).holder(), "Sophie Linden");
  EXPECT_FALSE(hidden.signatures(0).has_declaration());
  EXPECT_EQ(as_viewer.withheld(), 1);
  EXPECT_EQ(as_viewer.approved(), 3);
  // The date has passed, and the other was never deferred: both whole.
  EXPECT_FALSE(as_viewer.decisions(1).withheld());
  EXPECT_EQ(as_viewer.decisions(1).title(), "PCD 91 title");
  EXPECT_TRUE(as_viewer.decisions(1).signatures(0).has_declaration());
  EXPECT_EQ(as_viewer.decisions(2).amounts_size(), 1);
  // The spend totals leave the withheld decision's amounts out: its revenue total goes.
  ASSERT_EQ(as_viewer.approved_spend_size(), 2);
  EXPECT_EQ(as_viewer.approved_spend(0).funding_source(), "Grant");
  EXPECT_EQ(as_viewer.approved_spend(1).funding_source(), "Reserve");
  EXPECT_EQ(as_viewer.approved_spend(1).kind(), v1::AMOUNT_KIND_CAPITAL);
  EXPECT_EQ(as_viewer.approved_spend(1).pence(), 5000000);

  // A reader sees everything, and when Part 1 may be published.
  const v1::DecisionEntry& whole = as_reader.decisions(0);
  EXPECT_FALSE(whole.withheld());
  EXPECT_EQ(whole.title(), "PCD 90 title");
  EXPECT_EQ(whole.amounts_size(), 2);
  EXPECT_EQ(whole.officer_approvals_size(), 1);
  EXPECT_EQ(whole.signatures(0).declaration().interests(), "a sister on the board");
  EXPECT_EQ(whole.part1_deferred_until().year(), 2199);
  EXPECT_EQ(as_reader.withheld(), 0);
  EXPECT_EQ(as_reader.approved_spend_size(), 3);
  // A reader asking for the published register sees what a viewer sees; a viewer asking for it
  // sees nothing more.
  request.set_published_only(true);
  v1::GetDecisionRegisterResponse published_for_reader, published_for_viewer;
  ASSERT_THAT(register_as(reader_.secret, &published_for_reader), GrpcOk());
  ASSERT_THAT(register_as(viewer.secret, &published_for_viewer), GrpcOk());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(published_for_reader, as_viewer))
      << published_for_reader.DebugString();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(published_for_viewer, as_viewer));
  request.set_published_only(false);

  // The decision's history: a viewer does not see the interests declared.
  v1::GetEntityHistoryRequest history_request;
  history_request.set_stream_id(gov::StreamOf(secret));
  history_request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  history_request.mutable_as_at()->set_position(request.as_at().position());
  auto history_as = [&](const std::string& token) {
    auto context = Context(token);
    v1::GetEntityHistoryResponse r;
    EXPECT_THAT(query->GetEntityHistory(context.get(), history_request, &r), GrpcOk());
    std::string aspects;
    for (const v1::EntityChange& c : r.changes()) {
      for (const v1::Aspect& a : c.after()) absl::StrAppend(&aspects, a.name(), "=", a.value(), ";");
    }
    return aspects;
  };
  const std::string viewer_history = history_as(viewer.secret);
  EXPECT_THAT(viewer_history, HasSubstr("part 1 deferred until=2199-01-01;"));
  EXPECT_THAT(viewer_history, HasSubstr("status=approved;"));
  EXPECT_THAT(viewer_history, Not(HasSubstr("interests declared")));
  EXPECT_THAT(history_as(reader_.secret),
              HasSubstr("interests declared=Deputy Mayor for Policing and Crime: a sister on the "
                        "board;"));
  // Nor the sources of its events, which name its title; a reader does.
  auto history_sources = [&](const std::string& token) {
    auto context = Context(token);
    v1::GetEntityHistoryResponse r;
    EXPECT_THAT(query->GetEntityHistory(context.get(), history_request, &r), GrpcOk());
    std::vector<std::string> sources;
    for (const v1::EntityChange& c : r.changes()) sources.push_back(c.event().source());
    return sources;
  };
  EXPECT_THAT(history_sources(viewer.secret),
              ElementsAre(projections::kWithheldSource, projections::kWithheldSource));
  EXPECT_THAT(history_sources(reader_.secret),
              ElementsAre("Record of Decision PCD 90, PCD 90 title",
                          "Record of Decision PCD 90, PCD 90 title, as signed"));
  // A comparison lists the withheld decision's events without their sources, the published
  // one's with them; a reader sees all, and with published_only what a viewer sees.
  v1::CompareRequest compare_request;
  compare_request.set_programme_id("LPP");
  for (v1::AsAt* cut : {compare_request.mutable_from(), compare_request.mutable_to()}) {
    cut->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  }
  compare_request.mutable_from()->set_position(2);
  compare_request.mutable_to()->set_position(appended.head_position());
  auto compare_sources = [&](const std::string& token) {
    auto context = Context(token);
    v1::CompareResponse r;
    EXPECT_THAT(query->Compare(context.get(), compare_request, &r), GrpcOk());
    std::vector<std::string> sources;
    for (const v1::EventRef& e : r.events()) {
      if (!e.source().empty()) sources.push_back(e.source());
    }
    for (const v1::Difference& d : r.differences()) {
      for (const v1::EventRef& e : d.events()) {
        if (!e.source().empty()) sources.push_back(e.source());
      }
    }
    return sources;
  };
  const std::vector<std::string> for_viewer = compare_sources(viewer.secret);
  EXPECT_THAT(for_viewer, Contains("Record of Decision PCD 91, PCD 91 title"));
  EXPECT_THAT(for_viewer, Each(Not(HasSubstr("PCD 90"))));
  EXPECT_THAT(compare_sources(reader_.secret),
              Contains("Record of Decision PCD 90, PCD 90 title, as signed"));
  compare_request.set_published_only(true);
  EXPECT_EQ(compare_sources(reader_.secret), for_viewer);

  // The CLI says what is withheld and why, and shows none of it.
  const std::string server = absl::StrCat("--server ", daemon_.address(), " --token ");
  CliRun viewer_cli = Cli(server + viewer.secret + " decisions --organisation MOPAC");
  ASSERT_EQ(viewer_cli.code, 0) << viewer_cli.err;
  EXPECT_THAT(viewer_cli.out, HasSubstr("3 approved, 0 rejected, 0 withdrawn (1 withheld: Part 1 "
                                        "not yet published)"));
  EXPECT_THAT(viewer_cli.out, HasSubstr("withheld until 2199-01-01 (Part 1 deferred)"));
  EXPECT_THAT(viewer_cli.out, HasSubstr("Publication of Part 1 deferred until 2199-01-01: its "
                                        "title, amounts and statements are withheld"));
  EXPECT_THAT(viewer_cli.out, Not(HasSubstr("PCD 90 title")));
  EXPECT_THAT(viewer_cli.out, Not(HasSubstr("sister")));
  EXPECT_THAT(viewer_cli.out, Not(HasSubstr("Financial advice")));
  CliRun reader_cli = Cli(server + reader_.secret + " decisions --organisation MOPAC");
  ASSERT_EQ(reader_cli.code, 0) << reader_cli.err;
  EXPECT_THAT(reader_cli.out, HasSubstr("PCD 90 title"));
  EXPECT_THAT(reader_cli.out, HasSubstr("a sister on the board"));
  EXPECT_THAT(reader_cli.out, HasSubstr("Financial advice"));
  EXPECT_THAT(reader_cli.out, HasSubstr("Publication of Part 1 deferred until 2199-01-01 "
                                        "(viewers see its content from then)"));
}

// A decision recorded without a deferral, then voided by a correction and proposed again with
// Part 1 deferred: a viewer is withheld its content at every cut, the cuts before the
// correction included (as its sources and history are), in the register, the spend totals and
// a comparison; a reader sees it whole there.
TEST_F(AccessTest, ADeferralRecordedByACorrectionWithholdsTheDecisionAtEarlierCutsToo) {
  const Token viewer = MakeToken("viewer", "Police and Crime Panel");
  ASSERT_NO_FATAL_FAILURE(ReloadTokens({writer_, reader_, admin_, viewer}, viewer));
  const gov::Signer dmpc = gov::NewSigner("dmpc-1", "Deputy Mayor for Policing and Crime");
  v1::DecisionProposed first = gov::Decision(
      "MOPAC", "TEST 2", {dmpc.role}, {gov::Amount(v1::AMOUNT_KIND_REVENUE, 9990000, "Covert")});
  first.set_title("Operation Kestrel informant payments");
  first.set_programme_id("LPP");
  first.mutable_part2()->set_text("The informants' names and the sums paid to each.");
  first.mutable_part2()->set_reason("Exempt: law enforcement");
  v1::DecisionProposed deferred = first;
  *deferred.mutable_part1_deferred_until() = gov::MakeDate(2199, 1, 1);
  const v1::Event proposed = gov::At(gov::Ev(first), gov::MakeDate(2016, 3, 1));
  const v1::Event signed_first = gov::At(gov::Ev(dmpc.Sign(first)), gov::MakeDate(2016, 3, 2));
  v1::AppendResponse before, after;
  {
    auto context = Context(admin_.secret);
    ASSERT_THAT(
        stub_->Append(
            context.get(),
            gov::Request(
                {gov::At(gov::Ev(gov::Organisation("MOPAC")), gov::MakeDate(2016, 1, 1)),
                 gov::At(gov::Ev(gov::Programme("LPP", "MOPAC")), gov::MakeDate(2016, 1, 1)),
                 gov::At(gov::Ev(dmpc.Registration("Sophie Linden")), gov::MakeDate(2016, 1, 1)),
                 proposed, signed_first}),
            &before),
        GrpcOk());
  }
  {
    auto context = Context(admin_.secret);
    ASSERT_THAT(stub_->Append(context.get(),
                              gov::Request({gov::Correction(signed_first, "should be deferred"),
                                            gov::Correction(proposed, "should be deferred"),
                                            gov::At(gov::Ev(deferred), gov::MakeDate(2016, 3, 1))}),
                              &after),
                GrpcOk());
  }
  auto query = v1::QueryService::NewStub(daemon_.NewChannel());
  v1::GetDecisionRegisterRequest request;
  request.set_organisation_id("MOPAC");
  request.mutable_as_at()->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  request.mutable_as_at()->set_position(before.head_position());
  v1::GetDecisionRegisterResponse as_viewer, as_reader;
  {
    auto context = Context(viewer.secret);
    ASSERT_THAT(query->GetDecisionRegister(context.get(), request, &as_viewer), GrpcOk());
  }
  {
    auto context = Context(reader_.secret);
    ASSERT_THAT(query->GetDecisionRegister(context.get(), request, &as_reader), GrpcOk());
  }
  ASSERT_EQ(as_viewer.decisions_size(), 1);
  const v1::DecisionEntry& hidden = as_viewer.decisions(0);
  EXPECT_EQ(hidden.status(), v1::DECISION_STATUS_APPROVED);
  EXPECT_TRUE(hidden.withheld());
  EXPECT_EQ(hidden.part1_deferred_until().year(), 2199);  // the date the head gives
  EXPECT_EQ(hidden.title(), "");
  EXPECT_EQ(hidden.amounts_size(), 0);
  EXPECT_FALSE(hidden.has_part2());
  EXPECT_EQ(as_viewer.approved_spend_size(), 0);
  ASSERT_EQ(as_reader.decisions_size(), 1);
  EXPECT_FALSE(as_reader.decisions(0).withheld());
  EXPECT_EQ(as_reader.decisions(0).title(), "Operation Kestrel informant payments");
  EXPECT_FALSE(as_reader.decisions(0).has_part1_deferred_until());  // as recorded then
  // A comparison across the decision's approval shows a viewer none of its amounts.
  v1::CompareRequest compare;
  compare.set_programme_id("LPP");
  for (v1::AsAt* cut : {compare.mutable_from(), compare.mutable_to()}) {
    cut->set_mode(v1::AS_AT_MODE_AS_RECORDED);
  }
  compare.mutable_from()->set_position(3);
  compare.mutable_to()->set_position(before.head_position());
  auto amounts_shown = [&](const std::string& token) {
    auto context = Context(token);
    v1::CompareResponse r;
    EXPECT_THAT(query->Compare(context.get(), compare, &r), GrpcOk());
    int shown = 0;
    for (const v1::Difference& d : r.differences()) shown += d.aspect() == "amount";
    return shown;
  };
  EXPECT_EQ(amounts_shown(viewer.secret), 0);
  EXPECT_GT(amounts_shown(reader_.secret), 0);
  // The CLI, as a viewer, at the earlier position.
  CliRun cli =
      Cli(absl::StrCat("--server ", daemon_.address(), " --token ", viewer.secret,
                       " decisions --organisation MOPAC --position ", before.head_position()));
  ASSERT_EQ(cli.code, 0) << cli.err;
  EXPECT_THAT(cli.out, HasSubstr("withheld until 2199-01-01"));
  EXPECT_THAT(cli.out, Not(HasSubstr("Kestrel")));
  EXPECT_THAT(cli.out, Not(HasSubstr("law enforcement")));
}

// `e` citing `source`, the paper it comes from.
v1::Event Cites(v1::Event e, const std::string& source) {
  e.set_source(source);
  return e;
}

// Other entities' events may cite the withheld decision's record too (the scope change it
// approved, the report that announced it, a risk it opened): a viewer sees none of them cite
// it, in any answer, while the papers of published decisions and other papers stay cited. A
// reader sees every source, and with published_only what a viewer sees.
TEST_F(AccessTest, NoEventCitesTheRecordOfADecisionNotYetPublishedToAViewer) {
  const Token viewer = MakeToken("viewer", "Police and Crime Panel");
  ASSERT_NO_FATAL_FAILURE(ReloadTokens({writer_, reader_, admin_, viewer}, viewer));

  const gov::Signer dmpc = gov::NewSigner("dmpc-1", "Deputy Mayor for Policing and Crime");
  v1::DecisionProposed secret = gov::Decision("MOPAC", "PCD 90", {dmpc.role});
  *secret.mutable_part1_deferred_until() = gov::MakeDate(2199, 1, 1);
  secret.set_programme_id("LPP");
  v1::DecisionProposed published = gov::Decision("MOPAC", "PCD 91", {dmpc.role});
  published.set_programme_id("LPP");
  const std::string record = "Record of Decision PCD 90, Let the secret contract";
  const std::string published_record = "Record of Decision PCD 91, Open the new front counter";
  const std::string update = "LPP update report, week 86";
  v1::ScopeItemAdded counter = gov::AddScope("LPP-SVC-CONTRACT", gov::ProjectRef("LPP-INV"));
  counter.mutable_approval()->clear_board();
  counter.mutable_approval()->set_decision_stream(gov::StreamOf(secret));
  v1::ScopeItemAdded front = gov::AddScope("LPP-SVC-FRONT", gov::ProjectRef("LPP-INV"));
  front.mutable_approval()->clear_board();
  front.mutable_approval()->set_decision_stream(gov::StreamOf(published));
  v1::AppendResponse appended;
  {
    auto context = Context(admin_.secret);  // it registers a key
    ASSERT_THAT(
        stub_->Append(
            context.get(),
            gov::Request(
                {gov::Ev(gov::Organisation("MOPAC")), gov::Ev(gov::Programme("LPP", "MOPAC")),
                 gov::Ev(gov::Project("LPP-INV", "LPP")), gov::Ev(dmpc.Registration("Sophie Linden")),
                 Cites(gov::Ev(secret), record), Cites(gov::Ev(dmpc.Sign(secret)), record),
                 Cites(gov::Ev(published), published_record),
                 Cites(gov::Ev(dmpc.Sign(published)), published_record),
                 Cites(gov::Ev(counter), record), Cites(gov::Ev(front), published_record),
                 Cites(gov::Ev(gov::Status(gov::ProgrammeRef("LPP"), v1::RAG_AMBER, 86)), record),
                 Cites(gov::Ev(gov::Status(gov::ProjectRef("LPP-INV"), v1::RAG_GREEN, 86)),
                       update),
                 Cites(gov::Ev(gov::Risk("LPP-R01", gov::ProgrammeRef("LPP"))), record),
                 Cites(gov::Ev(gov::Risk("LPP-R02", gov::ProjectRef("LPP-INV"))), update)}),
            &appended),
        GrpcOk());
  }

  auto query = v1::QueryService::NewStub(daemon_.NewChannel());
  v1::AsAt head;
  head.set_mode(v1::AS_AT_MODE_AS_RECORDED);
  head.set_position(appended.head_position());
  // Every answer about the programme, as one text: the comparison and the decision register
  // last, from `published_only_at` (`published_only`: theirs as the public sees them).
  size_t published_only_at = 0;
  auto answers = [&](const std::string& token, bool published_only) {
    std::string all;
    auto call = [&](auto method, auto request, auto response) {
      auto context = Context(token);
      EXPECT_THAT(((*query).*method)(context.get(), request, &response), GrpcOk());
      absl::StrAppend(&all, response.DebugString());
    };
    v1::GetProgrammeStatusRequest status;
    status.set_programme_id("LPP");
    *status.mutable_as_at() = head;
    call(&v1::QueryService::Stub::GetProgrammeStatus, status, v1::GetProgrammeStatusResponse());
    v1::GetRiskRegisterRequest risks;
    risks.set_programme_id("LPP");
    *risks.mutable_as_at() = head;
    call(&v1::QueryService::Stub::GetRiskRegister, risks, v1::GetRiskRegisterResponse());
    v1::GetScopeMapRequest scope;
    scope.set_programme_id("LPP");
    *scope.mutable_as_at() = head;
    call(&v1::QueryService::Stub::GetScopeMap, scope, v1::GetScopeMapResponse());
    for (const std::string stream : {"scope/LPP-SVC-CONTRACT", "risk/LPP-R01", "programme/LPP"}) {
      v1::GetEntityHistoryRequest history;
      history.set_stream_id(stream);
      *history.mutable_as_at() = head;
      call(&v1::QueryService::Stub::GetEntityHistory, history, v1::GetEntityHistoryResponse());
    }
    v1::ListProgrammesRequest programmes;
    *programmes.mutable_as_at() = head;
    call(&v1::QueryService::Stub::ListProgrammes, programmes, v1::ListProgrammesResponse());
    published_only_at = all.size();
    v1::CompareRequest compare;
    compare.set_programme_id("LPP");
    *compare.mutable_from() = head;
    compare.mutable_from()->set_position(2);
    *compare.mutable_to() = head;
    compare.set_published_only(published_only);
    call(&v1::QueryService::Stub::Compare, compare, v1::CompareResponse());
    v1::GetDecisionRegisterRequest decisions;
    decisions.set_programme_id("LPP");
    *decisions.mutable_as_at() = head;
    decisions.set_published_only(published_only);
    call(&v1::QueryService::Stub::GetDecisionRegister, decisions,
         v1::GetDecisionRegisterResponse());
    return all;
  };
  const std::string for_reader = answers(reader_.secret, false);
  EXPECT_THAT(for_reader, HasSubstr("secret contract"));
  EXPECT_THAT(for_reader, HasSubstr("new front counter"));
  EXPECT_THAT(for_reader, HasSubstr(update));
  // The scope item approved by the withheld decision still says so: that PCD 90 exists and
  // approved it is public, as in the register.
  const std::string for_viewer = answers(viewer.secret, false);
  EXPECT_THAT(for_viewer, Not(HasSubstr("secret contract")));
  EXPECT_THAT(for_viewer, HasSubstr("decision/MOPAC/PCD-90"));
  EXPECT_THAT(for_viewer, HasSubstr("new front counter"));
  EXPECT_THAT(for_viewer, HasSubstr(update));
  // A reader asking for the published comparison and register sees what a viewer sees.
  const std::string published_for_viewer = answers(viewer.secret, true).substr(published_only_at);
  const std::string published_for_reader = answers(reader_.secret, true).substr(published_only_at);
  EXPECT_EQ(published_for_reader, published_for_viewer);
  EXPECT_THAT(published_for_reader, Not(HasSubstr("secret contract")));
  EXPECT_THAT(published_for_reader, HasSubstr("new front counter"));


  // The CLI's status and report cite what the answers cite.
  const std::string server = absl::StrCat("--server ", daemon_.address(), " --token ");
  for (const std::string command : {" status --programme LPP", " report --programme LPP --since-position 2"}) {
    CliRun as_viewer = Cli(server + viewer.secret + command);
    ASSERT_EQ(as_viewer.code, 0) << command << ": " << as_viewer.err;
    EXPECT_THAT(as_viewer.out, Not(HasSubstr("secret contract"))) << command;
    EXPECT_THAT(as_viewer.out, HasSubstr(update)) << command;
    // The withheld paper reads as withheld, not as none named.
    EXPECT_THAT(as_viewer.out, HasSubstr(absl::StrCat(": ", projections::kWithheldSource, "\n")))
        << command;
    CliRun as_reader = Cli(server + reader_.secret + command);
    ASSERT_EQ(as_reader.code, 0) << command << ": " << as_reader.err;
    EXPECT_THAT(as_reader.out, HasSubstr("secret contract")) << command;
  }

  // A decision deferred after the viewer's last answer: its paper is withheld from the next.
  v1::DecisionProposed later = gov::Decision("MOPAC", "PCD 93", {dmpc.role});
  *later.mutable_part1_deferred_until() = gov::MakeDate(2199, 1, 1);
  const std::string later_record = "Record of Decision PCD 93, Buy the secret helicopter";
  {
    auto context = Context(writer_.secret);
    ASSERT_THAT(
        stub_->Append(context.get(),
                      gov::Request({Cites(gov::Ev(later), later_record),
                                    Cites(gov::Ev(gov::Status(gov::ProjectRef("LPP-INV"),
                                                              v1::RAG_RED, 87)),
                                          later_record)}),
                      &appended),
        GrpcOk());
  }
  head.set_position(appended.head_position());
  EXPECT_THAT(answers(reader_.secret, false), HasSubstr("secret helicopter"));
  const std::string later_for_viewer = answers(viewer.secret, false);
  EXPECT_THAT(later_for_viewer, Not(HasSubstr("secret helicopter")));
  EXPECT_THAT(later_for_viewer, Not(HasSubstr("secret contract")));
  EXPECT_THAT(later_for_viewer, HasSubstr("new front counter"));
}

// What corrections do to a withheld decision: voiding its signature does not publish the paper
// the signature cited, nor does voiding its only proposal publish the proposal's paper or make
// the correction's reason public; and a comparison does not give a viewer its amount.
TEST_F(AccessTest, CorrectionsAndComparisonsGiveAViewerNothingOfADecisionNotYetPublished) {
  const Token viewer = MakeToken("viewer", "Police and Crime Panel");
  ASSERT_NO_FATAL_FAILURE(ReloadTokens({writer_, reader_, admin_, viewer}, viewer));
  const gov::Signer dmpc = gov::NewSigner("dmpc-1", "Deputy Mayor for Policing and Crime");
  v1::DecisionProposed priced =
      gov::Decision("MOPAC", "PCD 94", {dmpc.role},
                    {gov::Amount(v1::AMOUNT_KIND_CAPITAL, 61234500, "Major Change Reserve")});
  *priced.mutable_part1_deferred_until() = gov::MakeDate(2199, 1, 1);
  priced.set_programme_id("LPP");
  v1::DecisionProposed struck = gov::Decision("MOPAC", "PCD 95", {dmpc.role});
  *struck.mutable_part1_deferred_until() = gov::MakeDate(2199, 1, 1);
  struck.set_programme_id("LPP");
  const v1::Event signature = Cites(gov::Ev(dmpc.Sign(priced)), "PCD 94 as signed, secret price");
  const v1::Event proposal = Cites(gov::Ev(struck), "Record PCD 95, secret helipad");
  v1::AppendResponse appended;
  {
    auto context = Context(admin_.secret);  // it registers a key
    ASSERT_THAT(
        stub_->Append(
            context.get(),
            gov::Request(
                {gov::Ev(gov::Organisation("MOPAC")), gov::Ev(gov::Programme("LPP", "MOPAC")),
                 gov::Ev(gov::Project("LPP-INV", "LPP")),
                 gov::Ev(dmpc.Registration("Sophie Linden")), gov::Ev(priced), signature, proposal,
                 // Other events citing the same papers.
                 Cites(gov::Ev(gov::Status(gov::ProgrammeRef("LPP"), v1::RAG_AMBER, 86)),
                       "PCD 94 as signed, secret price"),
                 Cites(gov::Ev(gov::Status(gov::ProjectRef("LPP-INV"), v1::RAG_GREEN, 86)),
                       "Record PCD 95, secret helipad"),
                 gov::Correction(signature, "signed before the board met"),
                 gov::Correction(proposal, "entered in error: the secret helipad")}),
            &appended),
        GrpcOk());
  }
  const std::string server = absl::StrCat("--server ", daemon_.address(), " --token ");
  // Each command, and what a reader sees in its answer that a viewer must not.
  for (const auto& [command, withheld] : std::vector<std::pair<std::string, std::string>>{
           {" status --programme LPP", "secret price"},
           {" status --programme LPP", "secret helipad"},
           {" history decision/MOPAC/PCD-95", "secret helipad"},
           {" history decision/MOPAC/PCD-94", "signed before the board met"},
           {" history programme/LPP", "secret price"},
           {" compare --programme LPP --since-position 2 --json", "612,345.00"},
           {" report --programme LPP --since-position 2 --json", "612,345.00"}}) {
    CliRun as_viewer = Cli(server + viewer.secret + command);
    ASSERT_EQ(as_viewer.code, 0) << command << ": " << as_viewer.err;
    EXPECT_THAT(as_viewer.out, Not(HasSubstr("secret"))) << command;
    EXPECT_THAT(as_viewer.out, Not(HasSubstr(withheld))) << command;
    CliRun as_reader = Cli(server + reader_.secret + command);
    ASSERT_EQ(as_reader.code, 0) << command << ": " << as_reader.err;
    EXPECT_THAT(as_reader.out, HasSubstr(withheld)) << command;
  }
  // The comparison a viewer gets still says the decision came (its status), not its amount.
  CliRun compare = Cli(server + viewer.secret + " compare --programme LPP --since-position 2");
  EXPECT_THAT(compare.out, HasSubstr("decision/MOPAC/PCD-94"));
  CliRun reader_compare = Cli(server + reader_.secret + " compare --programme LPP --since-position 2");
  EXPECT_THAT(reader_compare.out, HasSubstr("612,345.00"));
}

TEST_F(AccessTest, TheCliSendsItsTokenFromTheFlagOrTheEnvironment) {
  const std::string server = absl::StrCat("--server ", daemon_.address());
  CliRun run = Cli(absl::StrCat(server, " head"));
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(run.err, HasSubstr("--token or GOVLEDGER_TOKEN"));

  run = Cli(absl::StrCat(server, " --token ", writer_.secret,
                         " append --stream programme/LPP --type govledger.test.Happened "
                         "--payload '\"aGk=\"'"));
  ASSERT_EQ(run.code, 0) << run.err;
  run = Cli(absl::StrCat(server, " append --stream programme/LPP --type govledger.test.Happened "
                                 "--payload '\"aGk=\"' --actor Someone"),
            absl::StrCat("GOVLEDGER_TOKEN=", writer_.secret));
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("PERMISSION_DENIED"));
  run = Cli(absl::StrCat(server, " export"), absl::StrCat("GOVLEDGER_TOKEN=", reader_.secret));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"actor\":\"PMO (Mayor's office)\""));
  EXPECT_THAT(run.err, Not(HasSubstr("plaintext")));  // to 127.0.0.1
  // A token sent in plaintext to an address that may be on another machine (0.0.0.0 reaches
  // this one; an address of the machine's network would do the same) is warned of, once.
  const std::string port = daemon_.address().substr(daemon_.address().rfind(':') + 1);
  run = Cli(absl::StrCat("--server 0.0.0.0:", port, " --token ", reader_.secret, " head"));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("warning: sending the access token to 0.0.0.0:", port,
                                              " in plaintext (no --tls-ca or --tls)")));
  // Subscribe, through tail, with a reader's token.
  run = Cli(absl::StrCat(server, " --token ", reader_.secret, " tail --from 1 --limit 1"));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("PMO (Mayor's office)"));

  // A backup with an admin's token, through the CLI.
  const std::string backup_dir = dir_.path() + "/backup";
  run = Cli(absl::StrCat(server, " --token ", reader_.secret, " admin backup ", backup_dir));
  EXPECT_EQ(run.code, 1);
  EXPECT_FALSE(std::filesystem::exists(backup_dir));
  run = Cli(absl::StrCat(server, " --token ", admin_.secret, " admin backup ", backup_dir));
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(std::filesystem::exists(backup_dir + "/govledger-backup.json"));
  // A copy of everything: the log says who took it, and the reader's refusal.
  const std::string log = daemon_.Stderr();
  EXPECT_THAT(log, HasSubstr("backup for 'Operations' at ipv"));
  EXPECT_THAT(log, HasSubstr(" started\n"));
  EXPECT_THAT(log, HasSubstr(" sent, to head position "));
  EXPECT_THAT(log, HasSubstr("PERMISSION_DENIED: the token of '"));
}

TEST_F(AccessTest, SighupReloadsTheTokensFileKeepsTheOldTokensIfTheNewFileIsBadAndAnEmptyOneRevokesAll) {
  const Token newcomer = MakeToken("writer", "Finance (PCC office)");
  v1::AppendResponse appended;
  EXPECT_THAT(AppendAs(newcomer.secret, "", &appended),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));

  // The writer's token is revoked and the newcomer's added, without a restart.
  WriteFile(tokens_file_, absl::StrCat(reader_.line, "\n", newcomer.line, "\n"));
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon_.WaitForStderr("tokens file reloaded: 2 tokens")) << daemon_.Stderr();
  ASSERT_THAT(AppendAs(newcomer.secret, "", &appended), GrpcOk());
  EXPECT_THAT(AppendAs(writer_.secret, "", &appended),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));

  // A bad file is refused, naming the line, and the tokens stay as they were.
  WriteFile(tokens_file_, absl::StrCat(newcomer.line, "\nnonsense\n"));
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  // Waits for the end of the message (the line it names), not its start: the daemon may be
  // part way through writing it.
  ASSERT_TRUE(daemon_.WaitForStderr(absl::StrCat(tokens_file_, " line 2"))) << daemon_.Stderr();
  EXPECT_THAT(daemon_.Stderr(), HasSubstr("tokens file not reloaded"));
  EXPECT_THAT(AppendAs(newcomer.secret, "", &appended), GrpcOk());
  v1::GetHeadResponse head;
  EXPECT_THAT(GetHeadAs(reader_.secret, &head), GrpcOk());
  EXPECT_EQ(head.position(), 2u);

  // A file emptied of tokens revokes them all: every caller is shut out, nothing is stored.
  WriteFile(tokens_file_, "# all access revoked\n");
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon_.WaitForStderr("tokens file reloaded: 0 tokens (every token revoked"))
      << daemon_.Stderr();
  EXPECT_THAT(AppendAs(newcomer.secret, "", &appended),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  EXPECT_THAT(GetHeadAs(reader_.secret, &head),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED, ::testing::_));
  // Adding a line back lets its caller in again; the log is as it was.
  WriteFile(tokens_file_, absl::StrCat(reader_.line, "\n"));
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon_.WaitForStderr("tokens file reloaded: 1 token")) << daemon_.Stderr();
  EXPECT_THAT(GetHeadAs(reader_.secret, &head), GrpcOk());
  EXPECT_EQ(head.position(), 2u);
}

// One token holds at most --max-subscriptions-per-token subscriptions open: a reader cannot take
// every slot from the rest. Another token still subscribes, and an ended one frees its slot.
TEST_F(AccessTest, OneTokenHoldsAtMostItsShareOfTheSubscriptions) {
  daemon_.Stop();
  daemon_.set_extra_args({"--tokens", tokens_file_, "--max-subscriptions-per-token", "2"});
  ASSERT_OK(daemon_.Start());
  stub_ = daemon_.NewStub();
  v1::AppendResponse appended;
  ASSERT_THAT(AppendAs(writer_.secret, "", &appended), GrpcOk());
  struct Open {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader;
  };
  auto subscribe = [&](const std::string& token) {
    Open open{Context(token), nullptr};
    open.context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    open.reader = stub_->Subscribe(open.context.get(), v1::SubscribeRequest());
    return open;
  };
  std::vector<Open> reader_subscriptions;
  for (int i = 0; i < 2; ++i) {
    reader_subscriptions.push_back(subscribe(reader_.secret));
    v1::Event event;
    ASSERT_TRUE(reader_subscriptions.back().reader->Read(&event)) << i;
  }
  Open third = subscribe(reader_.secret);
  v1::Event event;
  EXPECT_FALSE(third.reader->Read(&event));
  EXPECT_THAT(third.reader->Finish(),
              GrpcStatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                           HasSubstr("the tokens of 'Internal audit' hold 2 subscriptions open, "
                                     "the most one actor's tokens may (govledgerd "
                                     "--max-subscriptions-per-token; tokens of the same actor "
                                     "share them)")));
  // `bench subscribe` says why it was refused (it had said CANCELLED, exit 3: its own cancel).
  const CliRun bench = Cli(absl::StrCat("--server ", daemon_.address(), " --token ", reader_.secret,
                                        " bench subscribe"));
  EXPECT_EQ(bench.code, 1) << bench.err;
  EXPECT_THAT(bench.err, AllOf(HasSubstr("govledger: bench subscribe: the subscription ended at "
                                         "position 1: the tokens of 'Internal audit' hold 2 "
                                         "subscriptions open"),
                               Not(HasSubstr("CANCELLED"))));
  Open admins = subscribe(admin_.secret);
  ASSERT_TRUE(admins.reader->Read(&event));
  // `tail --retry` with the reader's token waits for a slot rather than give up (an archiving
  // job had died on a server whose slots were taken for the moment).
  std::future<CliRun> waiting = std::async(std::launch::async, [&] {
    return Cli(absl::StrCat("--server ", daemon_.address(), " --token ", reader_.secret,
                            " tail --retry --from 1 --limit 1"),
               "timeout 60");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // refused at least once
  // One ends: the reader subscribes again (its slot is given back once the call is done).
  reader_subscriptions.front().context->TryCancel();
  (void)reader_subscriptions.front().reader->Finish();
  const CliRun tail = waiting.get();
  EXPECT_EQ(tail.code, 0) << tail.err;
  EXPECT_THAT(tail.err, AllOf(HasSubstr("RESOURCE_EXHAUSTED"), HasSubstr("subscribing again")));
  EXPECT_THAT(tail.out, HasSubstr("PMO (Mayor's office)"));
  bool again = false;
  for (int i = 0; i < 50 && !again; ++i) {
    Open retry = subscribe(reader_.secret);
    again = retry.reader->Read(&event);
    if (!again) {
      (void)retry.reader->Finish();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } else {
      retry.context->TryCancel();
      (void)retry.reader->Finish();
    }
  }
  EXPECT_TRUE(again);
  for (Open* open : {&reader_subscriptions.back(), &admins}) {
    open->context->TryCancel();
    (void)open->reader->Finish();
  }
}

// A reload that revokes a token ends the calls it holds open, not only its next ones: a
// backup stops at its next chunk, and a subscription waiting for new events ends within the
// waiting thread's poll; a subscription whose token is still in the file goes on.
TEST_F(AccessTest, ARevokedTokenEndsTheSubscriptionAndTheBackupItHoldsOpen) {
  // 24 MiB in the store, that do not compress: a backup that is not read stops under flow
  // control after its first chunks (of 1 MiB).
  ASSERT_NO_FATAL_FAILURE(AppendBulk(48));
  auto open_subscription = [&](const std::string& token) {
    auto context = Context(token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::SubscribeRequest request;
    request.set_from_position(49);  // the next event: it waits
    auto reader = stub_->Subscribe(context.get(), request);
    return std::make_pair(std::move(context), std::move(reader));
  };
  auto [reader_context, reader_sub] = open_subscription(reader_.secret);
  auto [admin_context, admin_sub] = open_subscription(admin_.secret);
  v1::AppendResponse appended;
  ASSERT_THAT(AppendAs(writer_.secret, "", &appended), GrpcOk());
  v1::Event event;
  ASSERT_TRUE(reader_sub->Read(&event));
  ASSERT_TRUE(admin_sub->Read(&event));
  EXPECT_EQ(event.position(), 49u);  // both admitted, and now waiting for position 50

  auto admin = v1::AdminService::NewStub(daemon_.NewSmallWindowChannel());
  auto backup_context = Context(admin_.secret);
  auto backup = admin->Backup(backup_context.get(), v1::BackupRequest());
  v1::BackupChunk chunk;
  ASSERT_TRUE(backup->Read(&chunk));
  ASSERT_TRUE(chunk.has_file());

  // The admin's token is revoked; the reader's stays.
  WriteFile(tokens_file_, absl::StrCat(writer_.line, "\n", reader_.line, "\n"));
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon_.WaitForStderr("tokens file reloaded: 2 tokens")) << daemon_.Stderr();

  // The admin's subscription ends without another event.
  const auto revoked = std::chrono::steady_clock::now();
  EXPECT_FALSE(admin_sub->Read(&event));
  // Well below the call's 60 s deadline, which a subscription the revocation missed would reach.
  EXPECT_LT(std::chrono::steady_clock::now() - revoked, std::chrono::seconds(20));
  EXPECT_THAT(admin_sub->Finish(),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED,
                           HasSubstr("access withdrawn while the call was open")));
  // The backup ends before its manifest: what was already sent, then the refusal.
  bool manifest = false;
  while (backup->Read(&chunk)) manifest = manifest || chunk.has_manifest();
  EXPECT_FALSE(manifest);
  EXPECT_THAT(backup->Finish(),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED,
                           HasSubstr("access withdrawn while the call was open")));
  // The reader's goes on.
  ASSERT_THAT(AppendAs(writer_.secret, "", &appended), GrpcOk());
  ASSERT_TRUE(reader_sub->Read(&event));
  EXPECT_EQ(event.position(), 50u);

  // Now the reader's is revoked too.
  WriteFile(tokens_file_, absl::StrCat(writer_.line, "\n"));
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon_.WaitForStderr("tokens file reloaded: 1 token")) << daemon_.Stderr();
  EXPECT_FALSE(reader_sub->Read(&event));
  EXPECT_THAT(reader_sub->Finish(),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED,
                           HasSubstr("access withdrawn while the call was open")));
}

// A subscription catching up is sent the events of a page (up to 16 MiB) one by one: a
// revocation ends it at its next event, not at the page's end.
TEST_F(AccessTest, ARevokedTokenEndsASubscriptionCatchingUpAtItsNextEvent) {
  ASSERT_NO_FATAL_FAILURE(AppendBulk(48));  // a page holds 32 of these
  // A client whose flow-control window holds one event at most, so that what the transport
  // holds does not hide what the server sends after the revocation.
  auto small_window = v1::LedgerService::NewStub(daemon_.NewSmallWindowChannel());
  auto context = Context(reader_.secret);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::SubscribeRequest request;
  request.set_from_position(1);
  auto subscription = small_window->Subscribe(context.get(), request);
  v1::Event event;
  ASSERT_TRUE(subscription->Read(&event));
  ASSERT_TRUE(subscription->Read(&event));
  EXPECT_EQ(event.position(), 2u);

  WriteFile(tokens_file_, absl::StrCat(writer_.line, "\n"));
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon_.WaitForStderr("tokens file reloaded: 1 token")) << daemon_.Stderr();
  // What the transport already holds (an event of 512 KiB, or two) still arrives; the rest
  // of the page (30 events) does not.
  int after = 0;
  while (subscription->Read(&event)) ++after;
  EXPECT_LE(after, 3) << "events sent after the revocation";
  EXPECT_THAT(subscription->Finish(),
              GrpcStatusIs(grpc::StatusCode::UNAUTHENTICATED,
                           HasSubstr("access withdrawn while the call was open")));
}

TEST(AccessOpenTest, SighupWithoutATokensFileChangesNothing) {
  DaemonHarness daemon;
  ASSERT_OK(daemon.Start());
  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon.WaitForStderr("SIGHUP ignored: govledgerd was started without --tokens"))
      << daemon.Stderr();
  auto stub = daemon.NewStub();
  EXPECT_OK(AppendOne(*stub, "programme/LPP", "still open"));
}

TEST(AccessTokenCommandTest, RefusesAnIllegalActorOrRole) {
  CliRun run = Cli("admin token --role writer --actor ''");
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("--actor"));
  run = Cli("admin token --role owner --actor Someone");
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("owner"));
}

TEST(AccessStartTest, ABadTokensFileStopsTheStartNamingTheLine) {
  TempDir dir;
  const std::string path = dir.path() + "/tokens";
  WriteFile(path, absl::StrCat(std::string(64, 'a'), " writer Finance\nnot a line\n"));
  ExpectStartFails({"--tokens", path}, absl::StrCat(path, " line 2"));
  WriteFile(path, "# nobody yet\n");
  ExpectStartFails({"--tokens", path}, "names no token");
  ExpectStartFails({"--tokens", dir.path() + "/missing"}, "--tokens");
  // A good file that other users may write.
  WriteFile(path, absl::StrCat(std::string(64, 'a'), " writer Finance\n"));
  std::filesystem::permissions(path, std::filesystem::perms::group_write,
                               std::filesystem::perm_options::add);
  ExpectStartFails({"--tokens", path}, "chmod go-w");
  std::filesystem::permissions(path, std::filesystem::perms::group_write,
                               std::filesystem::perm_options::remove);
  // In a directory others may write (who could put another file in its place).
  std::filesystem::permissions(dir.path(), std::filesystem::perms::others_write,
                               std::filesystem::perm_options::add);
  ExpectStartFails({"--tokens", path}, "the tokens file's directory");
  // Or further up (who could rename the directory holding it and put another in its place),
  // and further up the path a symbolic link on the way leads to; a sticky one (/tmp) is safe.
  const std::string deeper = dir.path() + "/etc/govledger";
  std::filesystem::create_directories(deeper);
  const std::string deep_path = deeper + "/tokens";
  WriteFile(deep_path, absl::StrCat(std::string(64, 'a'), " writer Finance\n"));
  ExpectStartFails({"--tokens", deep_path},
                   absl::StrCat("the tokens file's directory ", dir.path(), " may be written"));
  std::filesystem::permissions(dir.path(), std::filesystem::perms::others_write,
                               std::filesystem::perm_options::remove);
  TempDir elsewhere;
  std::filesystem::create_symlink(dir.path() + "/etc", elsewhere.path() + "/etc");
  std::filesystem::permissions(dir.path() + "/etc", std::filesystem::perms::others_write,
                               std::filesystem::perm_options::add);
  ExpectStartFails({"--tokens", elsewhere.path() + "/etc/govledger/tokens"},
                   absl::StrCat("the tokens file's directory ", dir.path(), "/etc may be"));
  std::filesystem::permissions(dir.path() + "/etc", std::filesystem::perms::others_write,
                               std::filesystem::perm_options::remove);
  std::filesystem::create_symlink(deep_path, elsewhere.path() + "/tokens");
  std::filesystem::permissions(deeper, std::filesystem::perms::others_write,
                               std::filesystem::perm_options::add);
  ExpectStartFails({"--tokens", elsewhere.path() + "/tokens"},
                   absl::StrCat("the tokens file's directory ", deeper, " may be"));
  std::filesystem::permissions(deeper, std::filesystem::perms::others_write,
                               std::filesystem::perm_options::remove);
  // A directory or a symbolic link on the way that another user owns: they may rename what the
  // directory holds, sticky bit or not, or point the link elsewhere (tests run as root in CI).
  if (::geteuid() == 0) {
    const std::string sticky = elsewhere.path() + "/sticky";
    std::filesystem::create_directory(sticky);
    std::filesystem::permissions(sticky, std::filesystem::perms::sticky_bit,
                                 std::filesystem::perm_options::add);
    WriteFile(sticky + "/tokens", absl::StrCat(std::string(64, 'a'), " writer Finance\n"));
    ASSERT_EQ(::chown(sticky.c_str(), 65534, 65534), 0);
    ExpectStartFails(
        {"--tokens", sticky + "/tokens"},
        absl::StrCat("the tokens file's directory ", sticky, " belongs to user 65534"));
    const std::string link = elsewhere.path() + "/link";
    std::filesystem::create_directory_symlink(deeper, link);
    ASSERT_EQ(::lchown(link.c_str(), 65534, 65534), 0);
    ExpectStartFails(
        {"--tokens", link + "/tokens"},
        absl::StrCat("the tokens file's symbolic link ", link, " belongs to user 65534"));
    ASSERT_EQ(::lchown(link.c_str(), 0, 0), 0);
    DaemonHarness through_link({"--tokens", link + "/tokens"});
    EXPECT_OK(through_link.Start());
  }
  // Another user's file (tests run as root in CI: nobody's, who could append an admin line).
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
    ExpectStartFails({"--tokens", path}, "belongs to user 65534");
    ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
  }
  DaemonHarness daemon({"--tokens", path});
  EXPECT_OK(daemon.Start());
}

// A self-signed certificate for the names `alt_names` (by default 127.0.0.1 and localhost),
// made with the openssl tool into `dir`.
void MakeCertificate(const std::string& dir,
                     const std::string& alt_names = "IP:127.0.0.1,DNS:localhost") {
  CliRun run = RunProgram(
      "openssl",
      absl::StrCat("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ",
                   dir, "/key.pem -out ", dir,
                   "/cert.pem -days 2 -subj /CN=govledger-test -addext subjectAltName=",
                   alt_names));
  ASSERT_EQ(run.code, 0) << run.err;
  std::filesystem::permissions(
      absl::StrCat(dir, "/key.pem"),
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(TlsTest, ATlsDaemonServesClientsThatTrustItsCertificateAndNoPlaintextOne) {
  TempDir dir;
  MakeCertificate(dir.path());
  const std::string cert = dir.path() + "/cert.pem";
  DaemonHarness daemon({"--tls-cert", cert, "--tls-key", dir.path() + "/key.pem"});
  ASSERT_OK(daemon.Start());
  EXPECT_THAT(daemon.Stderr(),
              HasSubstr(absl::StrCat("govledgerd: TLS with ", cert,
                                     "; open to every caller (no --tokens); tree heads")));
  // The certificate made for two days: the start warns of it (CertificateWarningTest).
  EXPECT_THAT(daemon.Stderr(),
              HasSubstr(absl::StrCat("govledgerd: warning: the TLS certificate ", cert,
                                     " expires on ")));

  grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = ReadFile(cert);
  std::shared_ptr<grpc::Channel> tls =
      grpc::CreateChannel(daemon.address(), grpc::SslCredentials(trust));
  ASSERT_TRUE(AwaitConnection(*tls));
  auto stub = v1::LedgerService::NewStub(tls);
  ASSERT_OK(AppendOne(*stub, "programme/LPP", "over TLS"));

  const std::string server = absl::StrCat("--server ", daemon.address());
  CliRun run = Cli(absl::StrCat(server, " --tls-ca ", cert, " head"));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("events   1"));
  run = Cli(absl::StrCat(server, " head"), absl::StrCat("GOVLEDGER_TLS_CA=", cert));
  ASSERT_EQ(run.code, 0) << run.err;

  // Plaintext does not reach it; the CLI says to add TLS.
  run = Cli(absl::StrCat(server, " head"));
  EXPECT_EQ(run.code, 3);
  EXPECT_THAT(run.err, HasSubstr("--tls-ca"));
  // Nor does TLS that does not trust the certificate (the system's roots): one line, without
  // gRPC's own log of the failed handshake.
  run = Cli(absl::StrCat(server, " --tls head"));
  EXPECT_EQ(run.code, 3);
  EXPECT_THAT(run.err,
              AllOf(StartsWith("govledger: cannot reach govledgerd"),
                    HasSubstr("its TLS certificate is not signed by a CA this call trusts, "
                              "or is out of date: give its CA with --tls-ca FILE; without it, "
                              "TLS trusts only the system's CAs; govledgerd's log says at start "
                              "if its certificate has expired)")));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  // --tls asks for the system's roots even where GOVLEDGER_TLS_CA names a file: the variable is
  // only the default of --tls-ca.
  run = Cli(absl::StrCat(server, " --tls head"), absl::StrCat("GOVLEDGER_TLS_CA=", cert));
  EXPECT_EQ(run.code, 3);
  EXPECT_THAT(run.err, HasSubstr("its TLS certificate is not signed by a CA this call trusts"));
  // TLS to a plaintext daemon: the hint is to drop it.
  DaemonHarness plain;
  ASSERT_OK(plain.Start());
  run = Cli(absl::StrCat("--server ", plain.address(), " --tls-ca ", cert, " head"));
  EXPECT_EQ(run.code, 3);
  EXPECT_THAT(run.err, HasSubstr("if it serves plaintext, drop --tls, --tls-ca"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  // A CA file that is not one is a bad argument.
  run = Cli(absl::StrCat(server, " --tls-ca ", dir.path(), "/key.pem head"));
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("holds no PEM certificate"));
  run = Cli(absl::StrCat(server, " head"), absl::StrCat("GOVLEDGER_TLS_CA=", dir.path(), "/none.pem"));
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("the TLS CA file"));
  // Commands that never connect do not use the setting, so a bad one does not stop them.
  const std::string bad_ca = absl::StrCat("GOVLEDGER_TLS_CA=", dir.path(), "/none.pem");
  run = Cli(absl::StrCat("keys generate --out ", dir.path(), "/signer"), bad_ca);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/signer.pub"));
  run = Cli("admin token --role reader --actor auditor", bad_ca);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("glt_"));
}

// README's example certificate names a host, not the address the CLI dials: the CLI says so,
// naming that address and --tls-server-name, which checks the certificate for another name.
TEST(TlsTest, ACertificateForAnotherNameIsCheckedForTheNameGivenWithTlsServerName) {
  TempDir dir;
  MakeCertificate(dir.path(), "DNS:ledger.example");
  const std::string cert = dir.path() + "/cert.pem";
  DaemonHarness daemon({"--tls-cert", cert, "--tls-key", dir.path() + "/key.pem"});
  ASSERT_OK(daemon.Start());
  const std::string flags = absl::StrCat("--server ", daemon.address(), " --tls-ca ", cert);

  CliRun run = Cli(absl::StrCat(flags, " head"));
  EXPECT_EQ(run.code, 3);
  EXPECT_THAT(run.err, HasSubstr("its TLS certificate does not name 127.0.0.1: dial a name the "
                                 "certificate carries, or give one with --tls-server-name"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  run = Cli(absl::StrCat(flags, " --tls-server-name ledger.example head"));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("events   0"));
  run = Cli(absl::StrCat(flags, " head"), "GOVLEDGER_TLS_SERVER_NAME=ledger.example");
  ASSERT_EQ(run.code, 0) << run.err;
  // The name alone implies TLS; trusting the system's CAs, this certificate is not trusted.
  run = Cli(absl::StrCat("--server ", daemon.address(), " --tls-server-name ledger.example head"));
  EXPECT_EQ(run.code, 3);
  EXPECT_THAT(run.err, HasSubstr("not signed by a CA this call trusts"));
  // A name the certificate does not carry is refused, and named.
  run = Cli(absl::StrCat(flags, " --tls-server-name other.example head"));
  EXPECT_EQ(run.code, 3);
  EXPECT_THAT(run.err, HasSubstr("its TLS certificate does not name other.example"));
}

TEST(TlsTest, BadTlsFlagsStopTheStart) {
  TempDir dir;
  MakeCertificate(dir.path());
  ExpectStartFails({"--tls-cert", dir.path() + "/cert.pem"}, "both --tls-cert and --tls-key");
  WriteFile(dir.path() + "/empty.pem", "not PEM\n");
  ExpectStartFails({"--tls-cert", dir.path() + "/empty.pem", "--tls-key",
                    dir.path() + "/key.pem"},
                   "holds no PEM block");
  // A certificate made for another key: found before the store is opened.
  std::filesystem::create_directory(dir.path() + "/other");
  MakeCertificate(dir.path() + "/other");
  ExpectStartFails({"--tls-cert", dir.path() + "/cert.pem", "--tls-key",
                    dir.path() + "/other/key.pem"},
                   absl::StrCat("the TLS certificate ", dir.path(), "/cert.pem is not for the "
                                "private key ", dir.path(), "/other/key.pem"));
  WriteFile(dir.path() + "/not-a-certificate.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  ExpectStartFails({"--tls-cert", dir.path() + "/not-a-certificate.pem", "--tls-key",
                    dir.path() + "/key.pem"},
                   "does not begin with a PEM certificate");
  // A private key every user may read.
  std::filesystem::permissions(dir.path() + "/key.pem", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  ExpectStartFails({"--tls-cert", dir.path() + "/cert.pem", "--tls-key",
                    dir.path() + "/key.pem"},
                   "chmod o-rwx");
}

}  // namespace
}  // namespace govledger::testing
