#include "cli/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/client.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "ledger/common/flags.h"
#include "ledger/common/uuid.h"
#include "projections/streams.h"

namespace govledger::cli {
namespace {

// ExitCodeOf for a failure a bench step reports with its call's code.
int StepExitCode(const absl::Status& status) {
  return ExitCodeOf(
      grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())));
}

using Clock = std::chrono::steady_clock;

struct Figures {
  std::string mode;
  uint64_t events = 0;
  double seconds = 0;
  std::vector<double> latencies_us;  // one per call
};

// "1 client on 1 connection", "32 clients on 2 connections".
std::string ClientsText(int clients, int connections) {
  return absl::StrCat(clients, clients == 1 ? " client on " : " clients on ", connections,
                      connections == 1 ? " connection" : " connections");
}

void Print(Figures& f, const BenchOptions& o) {
  double rate = f.seconds > 0 ? f.events / f.seconds : 0;
  double p50 = Percentile(f.latencies_us, 0.50);
  double p99 = Percentile(f.latencies_us, 0.99);
  const int connections = std::clamp(o.connections, 1, o.clients);
  if (f.mode == "ping") {
    if (o.json) {
      std::cout << absl::StrFormat(
          "{\"mode\":\"ping\",\"calls\":%d,\"clients\":%d,\"connections\":%d,"
          "\"seconds\":%.3f,\"calls_per_sec\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
          f.events, o.clients, connections, f.seconds, rate, p50, p99);
    } else {
      std::cout << absl::StrFormat(
          "ping: %d GetHead calls, %s: %.0f calls/s, call latency p50 %.0f us, p99 %.0f us "
          "(%.2f s)\n",
          f.events, ClientsText(o.clients, connections), rate, p50, p99, f.seconds);
    }
    return;
  }
  const bool append = f.mode.rfind("append", 0) == 0;
  if (o.json) {
    std::cout << absl::StrFormat(
        "{\"mode\":\"%s\",\"events\":%d,\"clients\":%d,\"connections\":%d,\"batch\":%d,%s"
        "\"seconds\":%.3f,\"events_per_sec\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
        f.mode, f.events, o.clients, connections, o.batch,
        append ? absl::StrCat("\"size\":", o.size, ",") : "", f.seconds, rate, p50, p99);
  } else {
    std::cout << absl::StrFormat(
        "%s: %d events, %s, %d per call%s: %.0f events/s, "
        "call latency p50 %.0f us, p99 %.0f us (%.2f s)\n",
        f.mode, f.events, ClientsText(o.clients, connections), o.batch,
        append ? absl::StrCat(", ", o.size, " B payload") : "", rate, p50, p99, f.seconds);
  }
}

// What one client appends: every event goes to `stream` with this type and payload.
struct EventTemplate {
  std::string stream;
  std::string type;
  std::string payload;
};

// One benchmark client: one call in flight at a time, the next issued as the last completes.
// All clients' calls complete on one completion queue that one thread drains (gRPC's
// asynchronous API): the daemon shares the machine's cores with the benchmark, and this is the
// leanest client gRPC has (its callback API took about 1.5 times the CPU per call here).
// Subclasses say what a call is.
class LoadClient {
 public:
  // `events_left`: the events (or calls, one event each) still to do, shared by the clients of
  // a run; each call takes up to `events_per_call` of them, the last call what is left.
  LoadClient(int events_per_call, int64_t* events_left)
      : events_per_call_(events_per_call), events_left_(events_left) {}
  virtual ~LoadClient() = default;

  // Issues the next call, its completion tagged with this client; false if nothing is left.
  bool Next(grpc::CompletionQueue* cq) {
    if (*events_left_ <= 0) return false;
    in_call_ = static_cast<int>(std::min<int64_t>(events_per_call_, *events_left_));
    *events_left_ -= in_call_;
    context_ = std::make_unique<grpc::ClientContext>();
    start_ = Clock::now();
    Issue(context_.get(), in_call_, cq, &status_, this);
    return true;
  }
  // Records the call that completed; false (and no more calls for anyone) if it failed.
  bool Completed() {
    if (!status_.ok()) {
      failure_ = status_;
      *events_left_ = 0;
      return false;
    }
    latencies_.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start_).count());
    events_ += in_call_;
    return true;
  }

  const std::vector<double>& latencies() const { return latencies_; }
  uint64_t events() const { return events_; }
  const grpc::Status& failure() const { return failure_; }

 protected:
  // Starts one call of `events` events on `context` whose Finish sets `*status` and completes
  // `tag` on `cq`.
  virtual void Issue(grpc::ClientContext* context, int events, grpc::CompletionQueue* cq,
                     grpc::Status* status, void* tag) = 0;

 private:
  const int events_per_call_;
  int64_t* const events_left_;  // shared by the clients of a run, all on one thread
  int in_call_ = 0;             // events of the call in flight
  std::unique_ptr<grpc::ClientContext> context_;
  Clock::time_point start_;
  grpc::Status status_;
  std::vector<double> latencies_;
  uint64_t events_ = 0;
  grpc::Status failure_;
};

// Appends `batch` events made from `event` per call, each with a fresh id.
class AppendClient final : public LoadClient {
 public:
  AppendClient(std::shared_ptr<grpc::Channel> channel, EventTemplate event, int batch,
               int64_t* events_left)
      : LoadClient(batch, events_left),
        stub_(v1::LedgerService::NewStub(std::move(channel))),
        event_(std::move(event)) {}

 private:
  void Issue(grpc::ClientContext* context, int events, grpc::CompletionQueue* cq,
             grpc::Status* status, void* tag) override {
    request_.Clear();
    for (int i = 0; i < events; ++i) {
      v1::Event* e = request_.add_events();
      e->set_event_id(NextId());
      e->set_stream_id(event_.stream);
      e->set_event_type(event_.type);
      e->set_payload(event_.payload);
    }
    call_ = stub_->PrepareAsyncAppend(context, request_, cq);
    call_->StartCall();
    call_->Finish(&response_, status, tag);
  }

  // A version-4-shaped UUID from a fast generator seeded once from NewUuid(): the benchmark
  // measures the ledger, not OpenSSL's random number generator.
  std::string NextId() {
    UuidBytes bytes;
    for (size_t i = 0; i < bytes.size(); i += 8) {
      uint64_t r = rng_();
      std::memcpy(bytes.data() + i, &r, 8);
    }
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    return FormatUuid(bytes);
  }

  std::mt19937_64 rng_{std::hash<std::string>()(NewUuid())};
  std::unique_ptr<v1::LedgerService::Stub> stub_;
  const EventTemplate event_;
  v1::AppendRequest request_;
  v1::AppendResponse response_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::AppendResponse>> call_;
};

// GetHead round trips: the cost of a call that does no work, to set the append figures
// against on the same machine at the same moment.
class PingClient final : public LoadClient {
 public:
  PingClient(std::shared_ptr<grpc::Channel> channel, int64_t* calls_left)
      : LoadClient(1, calls_left), stub_(v1::LedgerService::NewStub(std::move(channel))) {}

 private:
  void Issue(grpc::ClientContext* context, int, grpc::CompletionQueue* cq, grpc::Status* status,
             void* tag) override {
    call_ = stub_->PrepareAsyncGetHead(context, request_, cq);
    call_->StartCall();
    call_->Finish(&response_, status, tag);
  }

  std::unique_ptr<v1::LedgerService::Stub> stub_;
  v1::GetHeadRequest request_;
  v1::GetHeadResponse response_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::GetHeadResponse>> call_;
};

// The events each client appends. For typed events, registers what they refer to first.
absl::StatusOr<std::vector<EventTemplate>> EventsOf(const BenchOptions& o, const std::string& run,
                                                    std::shared_ptr<grpc::Channel> channel) {
  std::vector<EventTemplate> out;
  if (o.events_of == "filler") {
    std::string payload(o.size, '\0');
    std::mt19937_64 rng(42);
    for (char& ch : payload) ch = static_cast<char>(rng());
    for (int c = 0; c < o.clients; ++c) {
      out.push_back({absl::StrCat("bench/", run, "/", c), "govledger.bench.Filler", payload});
    }
    return out;
  }
  // An organisation, a programme and one project per client, in one append.
  const std::string org = absl::StrCat("BENCH-", run);
  v1::AppendRequest setup;
  auto add = [&](const std::string& stream, const google::protobuf::Message& m) {
    v1::Event* e = setup.add_events();
    e->set_event_id(NewUuid());
    e->set_stream_id(stream);
    e->set_event_type(m.GetDescriptor()->full_name());
    e->set_payload(m.SerializeAsString());
  };
  v1::OrganisationRegistered organisation;
  organisation.set_organisation_id(org);
  organisation.set_name("govledger bench");
  add(projections::OrganisationStream(org), organisation);
  v1::ProgrammeRegistered programme;
  programme.set_programme_id(org);
  programme.set_organisation_id(org);
  programme.set_name("bench programme");
  programme.mutable_mobilisation_date()->set_year(2024);
  programme.mutable_mobilisation_date()->set_month(1);
  programme.mutable_mobilisation_date()->set_day(1);
  programme.set_planned_weeks(520);
  add(projections::ProgrammeStream(org), programme);
  for (int c = 0; c < o.clients; ++c) {
    v1::ProjectRegistered project;
    project.set_project_id(absl::StrCat(org, "-", c));
    project.set_programme_id(org);
    project.set_name("bench project");
    add(projections::ProjectStream(project.project_id()), project);
  }
  auto stub = v1::LedgerService::NewStub(std::move(channel));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::AppendResponse response;
  grpc::Status status = stub->Append(&context, setup, &response);
  if (!status.ok()) {
    return absl::Status(  // the call's code, for the exit code
        static_cast<absl::StatusCode>(status.error_code()),
        absl::StrCat("registering the benchmark's programme: ", DescribeError(o.server, status)));
  }
  for (int c = 0; c < o.clients; ++c) {
    const std::string project = absl::StrCat(org, "-", c);
    v1::StatusReported report;
    report.mutable_subject()->set_kind(v1::WORK_KIND_PROJECT);
    report.mutable_subject()->set_id(project);
    report.set_plan_week(1);
    report.set_rag(v1::RAG_GREEN);
    // Commentary pads the payload to --size bytes.
    int pad = o.size - static_cast<int>(report.ByteSizeLong()) - 3;
    report.set_commentary(std::string(std::max(pad, 0), 'c'));
    out.push_back({projections::ProjectStream(project),
                   o.events_of == "status" ? report.GetDescriptor()->full_name()
                                           : "govledger.bench.StatusFiller",
                   report.SerializeAsString()});
  }
  return out;
}

// Connects `o.connections` channels (at least 1, at most one per client); nullopt, having said
// why, when the daemon cannot be reached.
std::optional<std::vector<std::shared_ptr<grpc::Channel>>> ConnectAll(const BenchOptions& o) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < std::clamp(o.connections, 1, o.clients); ++c) {
    channels.push_back(Connect(o.server, c));
    if (!WaitConnected(*channels.back(), 5)) {
      Fail(kExitUnreachable,
           absl::StrCat("no connection to govledgerd at ", o.server,
                        " within 5 s (is it running? set --server or GOVLEDGER_SERVER; a daemon "
                        "busy sending to many subscribers can also be this slow)"));
      return std::nullopt;
    }
  }
  return channels;
}

// Runs the clients, on this thread, until the events (or calls) left are used up, and prints their figures
// as `mode`.
int RunClients(const BenchOptions& o, const std::string& mode,
               const std::function<std::unique_ptr<LoadClient>(int)>& make) {
  std::vector<std::unique_ptr<LoadClient>> clients;
  for (int c = 0; c < o.clients; ++c) clients.push_back(make(c));
  grpc::CompletionQueue cq;
  auto start = Clock::now();
  int in_flight = 0;
  for (auto& client : clients) in_flight += client->Next(&cq) ? 1 : 0;
  void* tag = nullptr;
  bool ok = false;
  while (in_flight > 0 && cq.Next(&tag, &ok)) {
    auto* client = static_cast<LoadClient*>(tag);
    client->Completed();
    if (!client->Next(&cq)) --in_flight;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  Figures f{mode, 0, seconds, {}};
  for (auto& client : clients) {
    if (!client->failure().ok()) {
      return Fail(ExitCodeOf(client->failure()),
                  absl::StrCat("bench ", mode, ": ", DescribeError(o.server, client->failure())));
    }
    f.events += client->events();
    f.latencies_us.insert(f.latencies_us.end(), client->latencies().begin(),
                          client->latencies().end());
  }
  Print(f, o);
  return 0;
}

}  // namespace

int BenchAppend(const BenchOptions& given) {
  // What runs, and is reported: no call holds more than the events there are, and no client
  // is started with nothing to append.
  BenchOptions o = given;
  o.batch = static_cast<int>(std::min<uint64_t>(o.batch, o.events));
  o.clients = static_cast<int>(std::min<uint64_t>(o.clients, (o.events + o.batch - 1) / o.batch));
  if (o.events_of != "filler" && o.events_of != "status" && o.events_of != "status-opaque") {
    return Fail(kExitBadArgs, "bench append: --events-of must be filler, status or status-opaque");
  }
  const std::string run = NewUuid().substr(0, 8);
  auto channels = ConnectAll(o);
  if (!channels) return 3;
  absl::StatusOr<std::vector<EventTemplate>> events = EventsOf(o, run, (*channels)[0]);
  if (!events.ok()) {
    return Fail(StepExitCode(events.status()),
                absl::StrCat("bench append: ", events.status().message()));
  }
  int64_t events_left = static_cast<int64_t>(o.events);
  return RunClients(
      o, o.events_of == "filler" ? "append" : absl::StrCat("append ", o.events_of), [&](int c) {
        return std::make_unique<AppendClient>((*channels)[c % channels->size()], (*events)[c],
                                              o.batch, &events_left);
      });
}

int BenchPing(const BenchOptions& o) {
  auto channels = ConnectAll(o);
  if (!channels) return 3;
  int64_t calls_left = static_cast<int64_t>(o.events);
  return RunClients(o, "ping", [&](int c) {
    return std::make_unique<PingClient>((*channels)[c % channels->size()], &calls_left);
  });
}

namespace {

constexpr char kReadMethod[] = "/govledger.v1.LedgerService/Read";

// The published head position, for a run that reads what the log holds; nullopt, having said
// why on stderr as `govledger bench COMMAND`, if it cannot be had.
std::optional<uint64_t> HeadPosition(const std::shared_ptr<grpc::Channel>& channel,
                                     const BenchOptions& o, absl::string_view command,
                                     int* exit_code) {
  auto stub = v1::LedgerService::NewStub(channel);
  grpc::ClientContext context;
  v1::GetHeadResponse response;
  grpc::Status status = stub->GetHead(&context, v1::GetHeadRequest(), &response);
  if (!status.ok()) {
    *exit_code = Fail(ExitCodeOf(status),
                      absl::StrCat("bench ", command, ": ", DescribeError(o.server, status)));
    return std::nullopt;
  }
  return response.position();
}

// Walks one Read page as the server sent it (ReadResponse wire bytes: field 1 holds each
// stored event) without decoding events into messages: for each event it reads the position
// field (Event field 10) and checks that positions run on from `*expected`. Returns the events
// seen, or an error naming what was wrong.
absl::StatusOr<uint64_t> WalkPage(grpc::ByteBuffer& page, uint64_t* expected) {
  grpc::ProtoBufferReader reader(&page);
  google::protobuf::io::CodedInputStream in(&reader);
  in.SetTotalBytesLimit(INT_MAX);
  uint64_t events = 0;
  while (uint32_t tag = in.ReadTag()) {
    if (tag != ((1 << 3) | 2)) {  // next and head (varints) follow the events
      if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) break;
      continue;
    }
    uint32_t size = 0;
    if (!in.ReadVarint32(&size)) return absl::DataLossError("a page's framing does not parse");
    const auto limit = in.PushLimit(static_cast<int>(size));
    uint64_t position = 0;
    while (uint32_t field = in.ReadTag()) {
      if (field == ((10 << 3) | 0)) {
        if (!in.ReadVarint64(&position)) break;
      } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in, field)) {
        break;
      }
    }
    in.PopLimit(limit);
    if (position != *expected) {
      return absl::DataLossError(
          absl::StrCat("expected the event at position ", *expected, ", got ", position));
    }
    ++*expected;
    ++events;
  }
  return events;
}

}  // namespace

int BenchRead(const BenchOptions& given) {
  BenchOptions o = given;
  auto connected = ConnectAll(o);
  if (!connected) return 3;
  const std::vector<std::shared_ptr<grpc::Channel>>& channels = *connected;
  int failed = kExitRefused;
  const std::optional<uint64_t> got_head = HeadPosition(channels[0], o, "read", &failed);
  if (!got_head) return failed;
  const uint64_t head = *got_head;
  uint64_t total = o.events == 0 ? head : o.events;
  if (total > head) {
    return Fail(kExitBadArgs, absl::StrCat("bench read: the ledger holds ", head,
                                           " events, fewer than --events ", total,
                                           "; append more first (govledger bench append "
                                           "--events N)"));
  }
  // What runs, and is reported: no page larger than the events read.
  if (total > 0) o.batch = static_cast<int>(std::min<uint64_t>(o.batch, total));
  // Positions are dense, so readers can fetch successive pages without waiting for each other.
  std::atomic<uint64_t> next_page{0};
  std::atomic<uint64_t> read{0};
  std::mutex mu;
  std::vector<double> latencies;
  std::string failure;
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = v1::LedgerService::NewStub(channels[c % channels.size()]);
      grpc::GenericStub raw(channels[c % channels.size()]);
      std::vector<double> mine;
      for (;;) {
        uint64_t from = 1 + next_page.fetch_add(1) * o.batch;
        if (from > total) break;
        v1::ReadRequest request;
        request.set_from(from);
        request.set_limit(static_cast<uint32_t>(std::min<uint64_t>(o.batch, total - from + 1)));
        grpc::ClientContext context;
        grpc::Status status;
        uint64_t events = 0;
        std::string wrong;
        auto t0 = Clock::now();
        if (o.decode) {
          // An arena makes decoding a page of thousands of events one allocation, not thousands.
          google::protobuf::Arena arena;
          auto& response = *google::protobuf::Arena::CreateMessage<v1::ReadResponse>(&arena);
          status = stub->Read(&context, request, &response);
          events = response.events_size();
          if (status.ok() && events > 0 && response.events(0).position() != from) {
            wrong = absl::StrCat("expected the event at position ", from, ", got ",
                                 response.events(0).position());
          }
        } else {
          grpc::ByteBuffer request_buffer;
          bool own = false;
          (void)grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::ReadRequest>(
              request, &request_buffer, &own);
          grpc::ByteBuffer page;
          std::promise<grpc::Status> done;
          raw.UnaryCall(&context, kReadMethod, grpc::StubOptions(), &request_buffer, &page,
                        [&done](grpc::Status s) { done.set_value(std::move(s)); });
          status = done.get_future().get();
          uint64_t expected = from;
          if (status.ok()) {
            absl::StatusOr<uint64_t> walked = WalkPage(page, &expected);
            if (walked.ok()) {
              events = *walked;
            } else {
              wrong = std::string(walked.status().message());
            }
          }
        }
        auto t1 = Clock::now();
        if (wrong.empty() && status.ok() && events != request.limit()) {
          wrong = absl::StrCat("the page at ", from, " held ", events, " events, not ",
                               request.limit());
        }
        if (!status.ok() || !wrong.empty()) {
          std::lock_guard lock(mu);
          failure = status.ok() ? wrong : DescribeError(o.server, status);
          if (!status.ok()) failed = ExitCodeOf(status);
          next_page = UINT64_MAX / 2 / std::max(o.batch, 1);
          break;
        }
        read += events;
        mine.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  if (!failure.empty()) {
    return Fail(failed, absl::StrCat("bench read: ", failure));
  }
  Figures f{o.decode ? "read decoded" : "read", read.load(),
            std::chrono::duration<double>(Clock::now() - start).count(), std::move(latencies)};
  Print(f, o);
  return 0;
}

namespace {

constexpr char kSubscribeMethod[] = "/govledger.v1.LedgerService/Subscribe";

// The position (Event field 10) of one event as the server sent it, without decoding the rest.
absl::StatusOr<uint64_t> PositionOf(grpc::ByteBuffer& event) {
  grpc::ProtoBufferReader reader(&event);
  google::protobuf::io::CodedInputStream in(&reader);
  while (uint32_t field = in.ReadTag()) {
    if (field == ((10 << 3) | 0)) {
      uint64_t position = 0;
      if (in.ReadVarint64(&position)) return position;
      break;
    }
    if (!google::protobuf::internal::WireFormatLite::SkipField(&in, field)) break;
  }
  return absl::DataLossError("an event without a position");
}

// One subscriber: subscribes from position 1 and reads `total` events; returns its seconds.
absl::StatusOr<double> Subscribe(const std::shared_ptr<grpc::Channel>& channel,
                                 uint64_t total) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  auto next = [&cq]() {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  const auto start = Clock::now();
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, kSubscribeMethod, &cq);
  call->StartCall(nullptr);
  if (!next()) return absl::UnavailableError("the subscription did not start");
  v1::SubscribeRequest request;
  request.set_from_position(1);
  grpc::ByteBuffer request_buffer;
  bool own = false;
  (void)grpc::GenericSerialize<grpc::ProtoBufferWriter, v1::SubscribeRequest>(
      request, &request_buffer, &own);
  call->Write(request_buffer, nullptr);
  if (!next()) return absl::UnavailableError("the subscription request was not sent");
  call->WritesDone(nullptr);
  if (!next()) return absl::UnavailableError("the subscription request was not closed");
  uint64_t expected = 1;
  grpc::ByteBuffer event;
  absl::Status wrong;  // an event that is not the next expected
  while (expected <= total) {
    call->Read(&event, nullptr);
    if (!next()) break;
    absl::StatusOr<uint64_t> position = PositionOf(event);
    if (!position.ok()) {
      wrong = position.status();
    } else if (*position != expected) {
      wrong = absl::DataLossError(
          absl::StrCat("expected the event at position ", expected, ", got ", *position));
    }
    if (!wrong.ok()) break;
    ++expected;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // A subscription never ends by itself: once every event is read (or one was wrong), it is
  // cancelled. One that ended early is not: its status is the server's (a refusal, say), not
  // the cancellation. Either way the call is finished before its queue goes.
  if (expected > total || !wrong.ok()) context.TryCancel();
  grpc::Status status;
  call->Finish(&status, nullptr);
  next();
  if (!wrong.ok()) return wrong;
  if (expected <= total) {
    return absl::Status(status.ok() ? absl::StatusCode::kUnavailable  // ended early, yet OK
                                    : static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("the subscription ended at position ", expected, ": ",
                                     status.error_message()));
  }
  return seconds;
}

}  // namespace

int BenchSubscribe(const BenchOptions& o) {
  auto connected = ConnectAll(o);
  if (!connected) return 3;
  const std::vector<std::shared_ptr<grpc::Channel>>& channels = *connected;
  int failed = kExitRefused;
  const std::optional<uint64_t> got_head = HeadPosition(channels[0], o, "subscribe", &failed);
  if (!got_head) return failed;
  const uint64_t head = *got_head;
  const uint64_t total = o.events == 0 ? head : o.events;
  if (total > head || total == 0) {
    return Fail(kExitBadArgs, absl::StrCat("bench subscribe: the ledger holds ", head,
                                           " events; --events must be 1 to that (append more "
                                           "first: govledger bench append --events N)"));
  }
  std::mutex mu;
  std::vector<double> seconds;
  std::string failure;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      absl::StatusOr<double> took = Subscribe(channels[c % channels.size()], total);
      std::lock_guard lock(mu);
      if (took.ok()) {
        seconds.push_back(*took * 1e6);
      } else if (failure.empty()) {
        failure = std::string(took.status().message());
        failed = StepExitCode(took.status());
      }
    });
  }
  for (auto& t : threads) t.join();
  if (!failure.empty()) {
    return Fail(failed, absl::StrCat("bench subscribe: ", failure));
  }
  Figures f{"subscribe", total * o.clients,
            std::chrono::duration<double>(Clock::now() - start).count(), std::move(seconds)};
  const double rate = f.seconds > 0 ? f.events / f.seconds : 0;
  const double p50 = Percentile(f.latencies_us, 0.50) / 1e6;
  const double p99 = Percentile(f.latencies_us, 0.99) / 1e6;
  if (o.json) {
    std::cout << absl::StrFormat(
        "{\"mode\":\"subscribe\",\"events\":%d,\"clients\":%d,\"seconds\":%.3f,"
        "\"events_per_sec\":%.0f,\"catch_up_p50_s\":%.3f,\"catch_up_p99_s\":%.3f}\n",
        f.events, o.clients, f.seconds, rate, p50, p99);
  } else {
    std::cout << absl::StrFormat(
        "subscribe: %d %s from position 1, %d events each: %.0f events/s in all, "
        "caught up in p50 %.2f s, p99 %.2f s (%.2f s)\n",
        o.clients, o.clients == 1 ? "subscriber" : "subscribers", total, rate, p50, p99, f.seconds);
  }
  return 0;
}

BenchCommands::BenchCommands(CLI::App& app, std::string& server_flag) {
  CLI::App* bench = app.add_subcommand("bench", "Measure a running govledgerd");
  bench->require_subcommand(1);
  append_ = bench->add_subcommand(
      "append", "Append events and report events/s and call latency\n\n"
                "Examples:\n  govledger bench append --clients 32 --events 100000\n"
                "  govledger bench append --clients 8 --batch 100 --events 1000000 --json");
  read_ = bench->add_subcommand(
      "read", "Read the log from position 1 and report events/s and page latency\n\n"
              "Example:\n  govledger bench read --events 1000000 --clients 2");
  ping_ = bench->add_subcommand(
      "ping", "GetHead round trips, which do no work: the transport's own cost, to read the "
              "append figures against\n\n"
              "Example:\n  govledger bench ping --clients 32 --calls 200000");
  subscribe_ = bench->add_subcommand(
      "subscribe", "Subscribe from position 1 and report events/s and the time to catch up\n\n"
                   "Example:\n  govledger bench subscribe --clients 4 --events 1000000");
  for (CLI::App* sub : {append_, read_, ping_, subscribe_}) {
    sub->add_option("--server", server_flag, "govledgerd address");
    sub->add_option("--clients", options_.clients, "Concurrent clients, at most 10000")
        ->capture_default_str()
        ->check(WholeNumberIn(1, 10000));
    sub->add_option("--connections", options_.connections,
                    "Connections the clients share, up to one per client (default: 1 for "
                    "append and ping, one per client for read and subscribe)")
        ->check(WholeNumberIn(1, 10000));
    sub->add_flag("--json", options_.json, "Print one JSON object");
  }
  // CLI11 alone reads "-5" into an unsigned integer as 2^64 - 5.
  const CLI::Validator count_range = WholeNumberIn(uint64_t{0}, uint64_t{INT64_MAX});
  const CLI::Validator positive_count = WholeNumberIn(uint64_t{1}, uint64_t{INT64_MAX});
  append_->add_option("--events", options_.events, "Events in all")
      ->capture_default_str()
      ->check(positive_count);
  append_->add_option("--batch", options_.batch, "Events per call, at most 10000")
      ->capture_default_str()
      ->check(WholeNumberIn(1, 10000));
  append_->add_option("--size", options_.size, "Payload bytes per event, at most 1048576")
      ->capture_default_str()
      ->check(WholeNumberIn(0, 1 << 20));
  append_->add_option("--events-of", options_.events_of,
                      "filler (opaque events), status (typed StatusReported events, checked by "
                      "the rules) or status-opaque (the same bytes, unchecked)")
      ->capture_default_str()
      ->check(CLI::IsMember({"filler", "status", "status-opaque"}));
  ping_->add_option("--calls", options_.events, "Calls in all")
      ->capture_default_str()
      ->check(positive_count);
  read_->add_option("--events", options_.events, "Events to read (0: the whole log)")
      ->check(count_range);
  read_->add_option("--batch", options_.batch, "Events per page, at most 10000 (default 10000)")
      ->check(WholeNumberIn(1, 10000));
  subscribe_->add_option("--events", options_.events,
                         "Events each subscriber reads (0: the log as it stands)")
      ->check(count_range);
  read_->add_flag("--decode", options_.decode,
                  "Decode every event into a message, not only check its position");
}

std::optional<int> BenchCommands::Run(const std::string& server) {
  BenchOptions o = options_;
  o.server = server;
  if (append_->parsed()) return BenchAppend(o);
  if (ping_->parsed()) return BenchPing(o);
  // Read and subscribe default to the whole log, one connection per client, and (read) pages
  // of 10,000.
  if (subscribe_->parsed()) {
    if (subscribe_->count("--events") == 0) o.events = 0;
    if (subscribe_->count("--connections") == 0) o.connections = o.clients;
    return BenchSubscribe(o);
  }
  if (read_->parsed()) {
    if (read_->count("--batch") == 0) o.batch = 10000;
    if (read_->count("--events") == 0) o.events = 0;
    if (read_->count("--connections") == 0) o.connections = o.clients;
    return BenchRead(o);
  }
  return std::nullopt;
}

}  // namespace govledger::cli
