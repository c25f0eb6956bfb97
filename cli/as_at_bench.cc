// govledger-as-at-bench: the cost of answering "as at" queries on a generated
// in-memory ledger, in one run both ways: folding the whole log from position
// 1, and folding only the events a projections::ProgrammeIndex holds for the
// programme asked about (what QueryService does). In memory, without a daemon
// or storage, it measures the selection and the fold alone; with --govledgerd it
// also appends the ledger to a real daemon and measures the queries through it.
//
// The ledger: --programmes programmes of --weeks planned weeks, mobilised a
// week apart, each with 8 projects; every programme-week holds status reports,
// risk opens, re-ratings, closures and transfers, scope changes and benefit
// forecasts until --events events exist. About 5% of events are recorded 1 to 4
// weeks after they took effect. Reports: the full fold rate (events/s), and
// p50/p99 latency of GetProgrammeStatus and GetRiskRegister for a random
// programme at a random week, as recorded and as known, both ways; the index's
// build rate; peak RSS.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "govledger/v1/query.grpc.pb.h"
#include "govledger/v1/query.pb.h"
#include "cli/bench.h"
#include "ledger/access_tokens.h"
#include "ledger/common/flags.h"
#include "ledger/common/time.h"
#include "projections/as_at.h"
#include "projections/governance_state.h"
#include "projections/programme_index.h"
#include "projections/queries.h"
#include "projections/streams.h"

namespace govledger {
namespace {

using projections::kMicrosPerWeek;

struct Options {
  uint64_t events = 1000000;
  int programmes = 50;
  int weeks = 260;
  int queries = 200;
  int replay_queries = 20;
  // Daemon mode: govledgerd's binary and a fresh data directory.
  std::string govledgerd;
  std::string data_dir;
  uint64_t seed = 1;
  size_t snapshot_every = projections::SnapshotOptions().every;
};

class Generator {
 public:
  explicit Generator(const Options& o) : o_(o), rng_(o.seed) {}

  std::vector<v1::Event> Build() {
    v1::Date mobilised;
    mobilised.set_year(2015);
    mobilised.set_month(1);
    mobilised.set_day(5);
    base_ = projections::DateMicros(mobilised);
    v1::OrganisationRegistered org;
    org.set_organisation_id("ORG");
    org.set_name("Organisation");
    Add(projections::OrganisationStream("ORG"), org, base_, base_);
    for (int p = 0; p < o_.programmes; ++p) {
      v1::ProgrammeRegistered m;
      m.set_programme_id(Programme(p));
      m.set_organisation_id("ORG");
      m.set_name(Programme(p));
      const int64_t start = base_ + p * kMicrosPerWeek;
      const int64_t days = start / kMicrosPerDay;
      // Mobilised p weeks after the base date: the date of `start`.
      *m.mutable_mobilisation_date() = DateOf(days);
      m.set_planned_weeks(o_.weeks);
      Add(projections::ProgrammeStream(Programme(p)), m, start, start);
      for (int j = 0; j < kProjects; ++j) {
        v1::ProjectRegistered pr;
        pr.set_project_id(Project(p, j));
        pr.set_programme_id(Programme(p));
        pr.set_name(Project(p, j));
        Add(projections::ProjectStream(Project(p, j)), pr, start, start);
      }
      open_risks_.emplace_back();
    }
    // Week by week across every programme, until the target count.
    const uint64_t per_week =
        std::max<uint64_t>(1, o_.events / (uint64_t(o_.weeks) * o_.programmes));
    for (int w = 1; w <= o_.weeks + o_.programmes && log_.size() < o_.events;
         ++w) {
      for (int p = 0; p < o_.programmes && log_.size() < o_.events; ++p) {
        const int week = w - p;  // programme p's plan week
        if (week < 1 || week > o_.weeks) continue;
        for (uint64_t i = 0; i < per_week && log_.size() < o_.events; ++i) {
          OneEvent(p, week);
        }
      }
    }
    return std::move(log_);
  }

 private:
  static constexpr int kProjects = 8;

  static std::string Programme(int p) { return absl::StrCat("P", p); }
  static std::string Project(int p, int j) {
    return absl::StrCat("P", p, "-J", j);
  }

  static v1::Date DateOf(int64_t days) {
    // Inverse of DateMicros, through FormatRfc3339's civil date.
    std::string s = FormatRfc3339(days * kMicrosPerDay);
    v1::Date d;
    d.set_year(std::stoi(s.substr(0, 4)));
    d.set_month(std::stoi(s.substr(5, 2)));
    d.set_day(std::stoi(s.substr(8, 2)));
    return d;
  }

  template <typename M>
  void Add(const std::string& stream, const M& m, int64_t recorded,
           int64_t effective) {
    v1::Event e;
    e.set_event_id(
        absl::StrFormat("00000000-0000-4000-8000-%012x", log_.size() + 1));
    e.set_stream_id(stream);
    e.set_event_type(M::descriptor()->full_name());
    e.set_payload(m.SerializeAsString());
    e.set_position(log_.size() + 1);
    recorded = std::max(recorded, last_recorded_);
    last_recorded_ = recorded;
    SetMicros(recorded, e.mutable_recorded_time());
    SetMicros(effective, e.mutable_effective_time());
    e.set_actor("bench");
    log_.push_back(std::move(e));
  }

  v1::WorkRef Subject(int p) {
    v1::WorkRef r;
    const int j = static_cast<int>(rng_() % (kProjects + 1));
    if (j == kProjects) {
      r.set_kind(v1::WORK_KIND_PROGRAMME);
      r.set_id(Programme(p));
    } else {
      r.set_kind(v1::WORK_KIND_PROJECT);
      r.set_id(Project(p, j));
    }
    return r;
  }

  v1::Rag AnyRag() { return static_cast<v1::Rag>(1 + rng_() % 3); }

  void OneEvent(int p, int week) {
    const int64_t start = base_ + (int64_t(p) + week - 1) * kMicrosPerWeek;
    const int64_t recorded = start + int64_t(rng_() % 6) * kMicrosPerDay;
    int64_t effective = recorded;
    int effective_week = week;  // the plan week `effective` falls in
    if (rng_() % 20 == 0 && week > 4) {
      const int back = 1 + static_cast<int>(rng_() % 4);
      effective -= back * kMicrosPerWeek;
      effective_week -= back;
    }
    const unsigned kind = rng_() % 100;
    std::vector<std::string>& open = open_risks_[p];
    if (kind < 15) {
      v1::StatusReported m;
      *m.mutable_subject() = Subject(p);
      m.set_rag(AnyRag());
      m.set_plan_week(effective_week);
      Add(m.subject().kind() == v1::WORK_KIND_PROJECT
              ? projections::ProjectStream(m.subject().id())
              : projections::ProgrammeStream(m.subject().id()),
          m, recorded, effective);
    } else if (kind < 40 || open.empty()) {
      v1::RiskOpened m;
      m.set_risk_id(absl::StrCat("R", ++risks_));
      *m.mutable_subject() = Subject(p);
      m.set_title("risk");
      m.set_description("There is a risk that it happens");
      m.set_rating(AnyRag());
      open.push_back(m.risk_id());
      opened_at_[m.risk_id()] = effective;
      latest_at_[m.risk_id()] = effective;
      Add(projections::RiskStream(m.risk_id()), m, recorded, effective);
    } else if (kind < 70) {
      v1::RiskRerated m;
      m.set_risk_id(open[rng_() % open.size()]);
      m.set_rating(AnyRag());
      // Not effective before the risk was opened (the ledger refuses that).
      effective = std::max(effective, opened_at_[m.risk_id()]);
      latest_at_[m.risk_id()] = std::max(latest_at_[m.risk_id()], effective);
      Add(projections::RiskStream(m.risk_id()), m, recorded, effective);
    } else if (kind < 85) {
      const size_t i = rng_() % open.size();
      v1::RiskClosed m;
      m.set_risk_id(open[i]);
      m.set_reason("mitigated");
      // Not before its opening or any re-rating (the ledger refuses that either).
      effective = std::max(effective, latest_at_[m.risk_id()]);
      open[i] = open.back();
      open.pop_back();
      Add(projections::RiskStream(m.risk_id()), m, recorded, effective);
    } else if (kind < 92) {
      v1::ScopeItemAdded m;
      m.set_scope_item_id(absl::StrCat("S", ++scope_));
      *m.mutable_owner() = Subject(p);
      m.set_title("scope");
      m.mutable_approval()->set_board("Board");
      Add(projections::ScopeStream(m.scope_item_id()), m, recorded, effective);
    } else {
      v1::BenefitForecast m;
      *m.mutable_subject() = Subject(p);
      m.set_benefit_id(absl::StrCat("b", rng_() % 3));
      m.set_annual_pence(int64_t(rng_() % 100000) * 100);
      Add(m.subject().kind() == v1::WORK_KIND_PROJECT
              ? projections::ProjectStream(m.subject().id())
              : projections::ProgrammeStream(m.subject().id()),
          m, recorded, effective);
    }
  }

  const Options o_;
  std::mt19937_64 rng_;
  int64_t base_ = 0;
  int64_t last_recorded_ = 0;
  uint64_t risks_ = 0;
  uint64_t scope_ = 0;
  std::vector<v1::Event> log_;
  std::vector<std::vector<std::string>> open_risks_;
  absl::flat_hash_map<std::string, int64_t> opened_at_;  // risk id -> effective
  absl::flat_hash_map<std::string, int64_t> latest_at_;  // ... of opening and re-ratings
};

// Folds every programme at the head in both modes, leaving snapshots (what
// govledgerd does after it starts).
bool Warm(const projections::IndexedLog& log, int64_t now, int programmes) {
  for (int p = 0; p < programmes; ++p) {
    for (v1::AsAtMode mode :
         {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
      v1::GetProgrammeStatusRequest request;
      request.set_programme_id(absl::StrCat("P", p));
      request.mutable_as_at()->set_mode(mode);
      request.mutable_as_at()->set_position(log.index->size());
      absl::StatusOr<v1::GetProgrammeStatusResponse> r =
          projections::QueryProgrammeStatus(log, now, request);
      if (!r.ok()) {
        std::cerr << "warming failed: " << r.status() << "\n";
        return false;
      }
    }
  }
  return true;
}

using cli::Percentile;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// The same queries both ways, in memory: the whole log from position 1, and
// the programme index with snapshots.
int RunInMemory(const std::vector<v1::Event>& log, const Options& o) {
  {
    std::vector<const v1::Event*> all;
    all.reserve(log.size());
    for (const v1::Event& e : log) all.push_back(&e);
    projections::GovernanceState state;
    auto f0 = Clock::now();
    const uint64_t skipped = projections::FoldEvents(all, &state);
    const double s = std::chrono::duration<double>(Clock::now() - f0).count();
    std::cout << absl::StrFormat(
        "full fold: %.2f s, %.0f events/s (%d skipped)\n", s, log.size() / s,
        skipped);
  }
  const int64_t now =
      ToMicros(log.back().recorded_time()) + kMicrosPerWeek * 1000;
  projections::ProgrammeIndex index;
  projections::VectorEventSource source(log);
  projections::MemorySnapshotStore snapshots;
  const projections::IndexedLog indexed_log{&index, &source, &snapshots,
                                            {o.snapshot_every}};
  {
    auto i0 = Clock::now();
    for (const v1::Event& e : log) {
      if (absl::Status st = index.Add(e, source); !st.ok()) {
        std::cerr << "indexing failed: " << st << "\n";
        return 1;
      }
    }
    const double s = std::chrono::duration<double>(Clock::now() - i0).count();
    std::cout << absl::StrFormat(
        "programme index: built in %.2f s (%.0f events/s)\n", s,
        log.size() / s);
    auto w0 = Clock::now();
    if (!Warm(indexed_log, now, o.programmes)) return 1;
    const double w = std::chrono::duration<double>(Clock::now() - w0).count();
    std::cout << absl::StrFormat(
        "snapshots: %d taken (%.1f MB) folding every programme to the head in "
        "both modes, in %.2f s\n",
        index.snapshots_taken, index.snapshot_bytes / 1e6, w);
  }
  for (bool indexed : {false, true}) {
    std::mt19937_64 rng(o.seed + 1);  // the same queries both ways
    const int queries = indexed ? o.queries : o.replay_queries;
    for (v1::AsAtMode mode :
         {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
      std::vector<double> status_ms, risks_ms;
      for (int q = 0; q < queries; ++q) {
        const std::string programme = absl::StrCat("P", rng() % o.programmes);
        v1::AsAt as_at;
        as_at.mutable_programme_week()->set_programme_id(programme);
        as_at.mutable_programme_week()->set_week(
            1 + static_cast<int>(rng() % o.weeks));
        as_at.set_mode(mode);
        v1::GetProgrammeStatusRequest sr;
        sr.set_programme_id(programme);
        *sr.mutable_as_at() = as_at;
        v1::GetRiskRegisterRequest rr;
        rr.set_programme_id(programme);
        *rr.mutable_as_at() = as_at;
        auto a = Clock::now();
        absl::StatusOr<v1::GetProgrammeStatusResponse> s =
            indexed ? projections::QueryProgrammeStatus(indexed_log, now, sr)
                    : projections::QueryProgrammeStatus(log, now, sr);
        auto b = Clock::now();
        absl::StatusOr<v1::GetRiskRegisterResponse> r =
            indexed ? projections::QueryRiskRegister(indexed_log, now, rr)
                    : projections::QueryRiskRegister(log, now, rr);
        auto c = Clock::now();
        if (!s.ok() || !r.ok()) {
          std::cerr << "query failed: " << (s.ok() ? r.status() : s.status())
                    << "\n";
          return 1;
        }
        status_ms.push_back(
            std::chrono::duration<double, std::milli>(b - a).count());
        risks_ms.push_back(
            std::chrono::duration<double, std::milli>(c - b).count());
      }
      std::cout << absl::StrFormat(
          "%s, %s (%d queries each): GetProgrammeStatus p50 %.1f ms p99 %.1f "
          "ms; "
          "GetRiskRegister p50 %.1f ms p99 %.1f ms\n",
          mode == v1::AS_AT_MODE_AS_RECORDED ? "as recorded" : "as known",
          indexed ? "programme index and snapshots"
                  : "whole log from position 1",
          queries,
          Percentile(status_ms, 0.5), Percentile(status_ms, 0.99),
          Percentile(risks_ms, 0.5), Percentile(risks_ms, 0.99));
    }
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::cout << absl::StrFormat(
      "peak RSS %.0f MB (generated log, full fold, index)\n",
      usage.ru_maxrss / 1024.0);
  return 0;
}

// ---- Daemon mode. ----

// A govledgerd child process on 127.0.0.1 with an ephemeral port.
class Daemon {
 public:
  Daemon(std::string binary, std::string data_dir)
      : binary_(std::move(binary)), data_dir_(std::move(data_dir)) {}
  ~Daemon() { Stop(); }

  // Starts it with `extra` flags and waits until it answers GetHead; returns
  // the seconds from the start to serving, or a negative number on failure.
  double Start(const std::vector<std::string>& extra) {
    const std::string port_file = data_dir_ + ".port";
    log_file_ = absl::StrCat(data_dir_, ".log.", ++starts_);
    std::remove(port_file.c_str());
    std::vector<std::string> args = {binary_,       "--data-dir", data_dir_,
                                     "--listen",    "127.0.0.1:0",
                                     "--port-file", port_file};
    args.insert(args.end(), extra.begin(), extra.end());
    // Everything the child needs is made before fork: gRPC's threads run by the second start,
    // and a child of a threaded process may call only async-signal-safe functions (no malloc).
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int log = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const auto t0 = Clock::now();
    pid_ = fork();
    if (pid_ == 0) {
      if (log >= 0) dup2(log, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (log >= 0) ::close(log);
    for (;;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        std::cerr << "govledgerd exited; see " << log_file_ << "\n";
        return -1;
      }
      std::ifstream in(port_file);
      int port = 0;
      if (in >> port && port > 0) {
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(64 << 20);
        channel_ = grpc::CreateCustomChannel(
            absl::StrCat("127.0.0.1:", port),
            grpc::InsecureChannelCredentials(), args);
        ledger_ = v1::LedgerService::NewStub(channel_);
        query_ = v1::QueryService::NewStub(channel_);
        grpc::ClientContext context;
        v1::GetHeadResponse head;
        if (ledger_->GetHead(&context, v1::GetHeadRequest(), &head).ok()) {
          return Seconds(t0);
        }
      }
      usleep(2000);
    }
  }

  // SIGTERM and wait (a clean shutdown: the governance snapshot is saved).
  void Stop() {
    if (pid_ <= 0) return;
    // Close the connection first: gRPC's server waits a few seconds at
    // shutdown for an idle client that reads nothing to answer its goodbye.
    ledger_.reset();
    query_.reset();
    channel_.reset();
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  // VmRSS of the daemon, MB.
  double RssMb() const {
    std::ifstream in(absl::StrCat("/proc/", pid_, "/status"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024;
    }
    return -1;
  }

  // The first line of this run's stderr that holds `what`.
  std::string LineWith(const std::string& what) const {
    std::ifstream in(log_file_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(what) != std::string::npos) return line;
    }
    return "(no line with '" + what + "' in " + log_file_ + ")";
  }
  // How the governance state was recovered, and how the query index was made
  // ready.
  std::string RecoveryLine() const { return LineWith("governance state"); }
  std::string IndexLine() const { return LineWith("query index"); }

  v1::LedgerService::Stub& ledger() { return *ledger_; }
  v1::QueryService::Stub& query() { return *query_; }

 private:
  const std::string binary_;
  const std::string data_dir_;
  std::string log_file_;
  int starts_ = 0;
  pid_t pid_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::LedgerService::Stub> ledger_;
  std::unique_ptr<v1::QueryService::Stub> query_;
};

// Appends the generated log in calls of 500 events; false on a refusal.
bool AppendAll(Daemon& d, const std::vector<v1::Event>& log) {
  constexpr size_t kBatch = 500;
  for (size_t i = 0; i < log.size(); i += kBatch) {
    v1::AppendRequest request;
    for (size_t j = i; j < std::min(log.size(), i + kBatch); ++j) {
      v1::Event* e = request.add_events();
      e->set_event_id(log[j].event_id());
      e->set_stream_id(log[j].stream_id());
      e->set_event_type(log[j].event_type());
      e->set_payload(log[j].payload());
      *e->mutable_effective_time() = log[j].effective_time();
    }
    grpc::ClientContext context;
    context.AddMetadata(kActorMetadataKey, "as-at-bench");
    v1::AppendResponse response;
    grpc::Status s = d.ledger().Append(&context, request, &response);
    if (!s.ok()) {
      std::cerr << "append at event " << i << " failed: " << s.error_message()
                << "\n";
      return false;
    }
  }
  return true;
}

// Random programme, random week: as recorded (the position at which the
// generated ledger ended that week: the daemon recorded everything today) and
// as known (the programme week itself).
bool DaemonQueries(Daemon& d, const std::vector<v1::Event>& log,
                   const Options& o) {
  std::mt19937_64 rng(o.seed + 2);
  for (v1::AsAtMode mode :
       {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
    std::vector<double> status_ms, risks_ms;
    for (int q = 0; q < o.queries; ++q) {
      const int p = static_cast<int>(rng() % o.programmes);
      const int week = 1 + static_cast<int>(rng() % o.weeks);
      v1::AsAt as_at;
      as_at.set_mode(mode);
      if (mode == v1::AS_AT_MODE_AS_RECORDED) {
        // Programme p mobilised p weeks after the first (see Generator).
        v1::Date mobilised;
        mobilised.set_year(2015);
        mobilised.set_month(1);
        mobilised.set_day(5);
        const int64_t end = projections::DateMicros(mobilised) +
                            int64_t(p + week) * kMicrosPerWeek - 1;
        as_at.set_position(
            std::partition_point(log.begin(), log.end(),
                                 [end](const v1::Event& e) {
                                   return ToMicros(
                                              e.recorded_time()) <= end;
                                 }) -
            log.begin());
      } else {
        as_at.mutable_programme_week()->set_programme_id(absl::StrCat("P", p));
        as_at.mutable_programme_week()->set_week(week);
      }
      v1::GetProgrammeStatusRequest sr;
      sr.set_programme_id(absl::StrCat("P", p));
      *sr.mutable_as_at() = as_at;
      v1::GetRiskRegisterRequest rr;
      rr.set_programme_id(sr.programme_id());
      *rr.mutable_as_at() = as_at;
      v1::GetProgrammeStatusResponse status;
      v1::GetRiskRegisterResponse risks;
      grpc::ClientContext c1, c2;
      auto a = Clock::now();
      grpc::Status s1 = d.query().GetProgrammeStatus(&c1, sr, &status);
      auto b = Clock::now();
      grpc::Status s2 = d.query().GetRiskRegister(&c2, rr, &risks);
      auto c = Clock::now();
      if (!s1.ok() || !s2.ok()) {
        std::cerr << "query failed: "
                  << (s1.ok() ? s2.error_message() : s1.error_message())
                  << "\n";
        return false;
      }
      status_ms.push_back(
          std::chrono::duration<double, std::milli>(b - a).count());
      risks_ms.push_back(
          std::chrono::duration<double, std::milli>(c - b).count());
    }
    std::cout << absl::StrFormat(
        "  %s, through govledgerd (%d queries each): GetProgrammeStatus p50 "
        "%.1f ms p99 %.1f ms; GetRiskRegister p50 %.1f ms p99 %.1f ms\n",
        mode == v1::AS_AT_MODE_AS_RECORDED ? "as recorded" : "as known",
        o.queries, Percentile(status_ms, 0.5), Percentile(status_ms, 0.99),
        Percentile(risks_ms, 0.5), Percentile(risks_ms, 0.99));
  }
  return true;
}

// One query per programme and mode at the head: waits for (or does) the
// daemon's own warming, so that the measured queries start from snapshots.
double WarmDaemon(Daemon& d, const Options& o, uint64_t head) {
  const auto t0 = Clock::now();
  for (int p = 0; p < o.programmes; ++p) {
    for (v1::AsAtMode mode :
         {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
      v1::GetProgrammeStatusRequest request;
      request.set_programme_id(absl::StrCat("P", p));
      request.mutable_as_at()->set_mode(mode);
      request.mutable_as_at()->set_position(head);
      grpc::ClientContext context;
      v1::GetProgrammeStatusResponse response;
      grpc::Status s = d.query().GetProgrammeStatus(&context, request, &response);
      if (!s.ok()) {
        std::cerr << "warming query failed: " << s.error_message() << "\n";
        return -1;
      }
    }
  }
  return Seconds(t0);
}

int RunDaemon(const std::vector<v1::Event>& log, const Options& o) {
  if (std::filesystem::exists(o.data_dir)) {
    std::cerr << "--data-dir " << o.data_dir
              << " exists; give a directory the benchmark may create\n";
    return 2;
  }
  Daemon d(o.govledgerd, o.data_dir);
  std::cout << "govledgerd on " << o.data_dir << ":\n";
  if (d.Start({}) < 0) return 1;
  auto a0 = Clock::now();
  if (!AppendAll(d, log)) return 1;
  const double append_s = Seconds(a0);
  std::cout << absl::StrFormat(
      "  appended %d events in calls of 500: %.1f s (%.0f events/s)\n",
      log.size(), append_s, log.size() / append_s);
  d.Stop();

  const double start_s = d.Start({});
  if (start_s < 0) return 1;
  std::cout << absl::StrFormat("  restart to serving: %.2f s\n  %s\n",
                               start_s, d.RecoveryLine());
  std::cout << absl::StrFormat("  RSS after start: %.0f MB\n", d.RssMb());
  const double warm_s = WarmDaemon(d, o, log.size());
  if (warm_s < 0) return 1;
  std::cout << absl::StrFormat(
      "  index and snapshots ready (one query per programme and mode at the "
      "head) %.1f s after serving\n",
      warm_s);
  if (!DaemonQueries(d, log, o)) return 1;
  std::cout << absl::StrFormat("  RSS after the queries: %.0f MB\n",
                               d.RssMb());
  d.Stop();

  // The stop saved the query index with its snapshot catalogue: the next
  // start loads it instead of reading the log and folding every programme.
  const double again_s = d.Start({});
  if (again_s < 0) return 1;
  const double rewarm_s = WarmDaemon(d, o, log.size());
  if (rewarm_s < 0) return 1;
  std::cout << absl::StrFormat(
      "  restart with the saved query index to serving: %.2f s; index and "
      "snapshots ready %.2f s after serving\n  %s\n  RSS then: %.0f MB\n",
      again_s, rewarm_s, d.IndexLine(), d.RssMb());
  d.Stop();

  const double rebuild_s = d.Start({"--rebuild-projections"});
  if (rebuild_s < 0) return 1;
  std::cout << absl::StrFormat(
      "  start with --rebuild-projections to serving: %.2f s\n  %s\n",
      rebuild_s, d.RecoveryLine());
  d.Stop();
  return 0;
}

int Run(const Options& o) {
  auto t0 = Clock::now();
  std::vector<v1::Event> log = Generator(o).Build();
  std::cout << absl::StrFormat("generated %d events in %.1f s\n", log.size(),
                               Seconds(t0));
  if (int rc = RunInMemory(log, o); rc != 0) return rc;
  if (o.govledgerd.empty()) return 0;
  return RunDaemon(log, o);
}

}  // namespace
}  // namespace govledger

int main(int argc, char** argv) {
  govledger::Options o;
  CLI::App app{
      "as-at query cost by replay from position 1, on a generated in-memory "
      "ledger"};
  app.add_option("--events", o.events, "Events to generate")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(uint64_t{1}, uint64_t{1} << 32));
  app.add_option("--programmes", o.programmes, "Programmes")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 100000));
  app.add_option("--weeks", o.weeks, "Planned weeks of each programme")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 5200));
  app.add_option("--queries", o.queries,
                 "Queries per mode and method answered from the index and "
                 "snapshots (in memory, and through govledgerd)")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 1000000));
  app.add_option("--replay-queries", o.replay_queries,
                 "Queries per mode and method answered by replaying the whole "
                 "log from position 1 (each takes about a second)")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(1, 1000000));
  app.add_option("--govledgerd", o.govledgerd,
                 "Also measure a real daemon: this govledgerd binary, started "
                 "(and restarted, and rebuilt) by the benchmark on --data-dir");
  app.add_option("--data-dir", o.data_dir,
                 "With --govledgerd: a data directory that does not exist yet");
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  app.add_option("--snapshot-every", o.snapshot_every,
                 "Snapshot a programme's fold every N events folded")
      ->capture_default_str()
      ->check(govledger::WholeNumberIn(size_t{1}, size_t{1} << 32));
  CLI11_PARSE(app, argc, argv);
  std::cout << std::unitbuf;  // each figure as soon as it is measured
  return govledger::Run(o);
}
