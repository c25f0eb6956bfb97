// govledger-as-at-bench: the cost of answering "as at" queries on a generated
// in-memory ledger, in one run both ways: folding the whole log from position
// 1, and folding only the events a projections::ProgrammeIndex holds for the
// programme asked about (what QueryService does). No daemon, no storage: it
// measures the selection and the fold alone.
//
// The ledger: --programmes programmes of --weeks planned weeks, mobilised a
// week apart, each with 8 projects; every programme-week holds status reports,
// risk opens, re-ratings, closures and transfers, scope changes and benefit
// forecasts until --events events exist. About 5% of events are recorded 1 to 4
// weeks after they took effect. Reports: the full fold rate (events/s), and
// p50/p99 latency of GetProgrammeStatus and GetRiskRegister for a random
// programme at a random week, as recorded and as known, both ways; the index's
// build rate; peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.pb.h"
#include "govledger/v1/query.pb.h"
#include "projections/as_at.h"
#include "projections/governance_state.h"
#include "projections/programme_index.h"
#include "projections/queries.h"
#include "projections/streams.h"

namespace govledger {
namespace {

using projections::kMicrosPerDay;
using projections::kMicrosPerWeek;

struct Options {
  uint64_t events = 1000000;
  int programmes = 50;
  int weeks = 260;
  int queries = 200;
  uint64_t seed = 1;
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
    // Inverse of DateMicros, through FormatMicros' civil date.
    std::string s = projections::FormatMicros(days * kMicrosPerDay);
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
    projections::SetMicros(recorded, e.mutable_recorded_time());
    projections::SetMicros(effective, e.mutable_effective_time());
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
    if (rng_() % 20 == 0 && week > 4)
      effective -= int64_t(1 + rng_() % 4) * kMicrosPerWeek;
    const unsigned kind = rng_() % 100;
    std::vector<std::string>& open = open_risks_[p];
    if (kind < 15) {
      v1::StatusReported m;
      *m.mutable_subject() = Subject(p);
      m.set_rag(AnyRag());
      m.set_plan_week(week);
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
      Add(projections::RiskStream(m.risk_id()), m, recorded, effective);
    } else if (kind < 70) {
      v1::RiskRerated m;
      m.set_risk_id(open[rng_() % open.size()]);
      m.set_rating(AnyRag());
      Add(projections::RiskStream(m.risk_id()), m, recorded, effective);
    } else if (kind < 85) {
      const size_t i = rng_() % open.size();
      v1::RiskClosed m;
      m.set_risk_id(open[i]);
      m.set_reason("mitigated");
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
};

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(q * (v.size() - 1) + 0.5))];
}

int Run(const Options& o) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  std::vector<v1::Event> log = Generator(o).Build();
  auto t1 = Clock::now();
  std::cout << absl::StrFormat("generated %d events in %.1f s\n", log.size(),
                               std::chrono::duration<double>(t1 - t0).count());
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
      projections::ToMicros(log.back().recorded_time()) + kMicrosPerWeek * 1000;
  projections::ProgrammeIndex index;
  {
    auto i0 = Clock::now();
    for (const v1::Event& e : log) index.Add(e);
    const double s = std::chrono::duration<double>(Clock::now() - i0).count();
    std::cout << absl::StrFormat(
        "programme index: built in %.2f s (%.0f events/s)\n", s,
        log.size() / s);
  }
  for (bool indexed : {false, true}) {
    std::mt19937_64 rng(o.seed + 1);  // the same queries both ways
    for (v1::AsAtMode mode :
         {v1::AS_AT_MODE_AS_RECORDED, v1::AS_AT_MODE_AS_KNOWN}) {
      std::vector<double> status_ms, risks_ms;
      for (int q = 0; q < o.queries; ++q) {
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
            indexed ? projections::QueryProgrammeStatus(index, now, sr)
                    : projections::QueryProgrammeStatus(log, now, sr);
        auto b = Clock::now();
        absl::StatusOr<v1::GetRiskRegisterResponse> r =
            indexed ? projections::QueryRiskRegister(index, now, rr)
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
          indexed ? "programme index" : "whole log from position 1", o.queries,
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

}  // namespace
}  // namespace govledger

int main(int argc, char** argv) {
  govledger::Options o;
  CLI::App app{
      "as-at query cost by replay from position 1, on a generated in-memory "
      "ledger"};
  app.add_option("--events", o.events, "Events to generate")
      ->capture_default_str();
  app.add_option("--programmes", o.programmes, "Programmes")
      ->capture_default_str();
  app.add_option("--weeks", o.weeks, "Planned weeks of each programme")
      ->capture_default_str();
  app.add_option("--queries", o.queries, "Queries per mode and method")
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return govledger::Run(o);
}
