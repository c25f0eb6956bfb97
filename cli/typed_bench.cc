#include "cli/typed_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/client.h"
#include "govledger/v1/events.pb.h"
#include "govledger/v1/ledger.grpc.pb.h"
#include "ledger/common/uuid.h"
#include "projections/streams.h"

namespace govledger::cli {
namespace {

v1::Event Typed(const std::string& stream, const google::protobuf::Message& m) {
  v1::Event e;
  e.set_event_id(NewUuid());
  e.set_stream_id(stream);
  e.set_event_type(m.GetDescriptor()->full_name());
  e.set_payload(m.SerializeAsString());
  return e;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

int BenchTyped(const TypedBenchOptions& o) {
  if (o.clients < 1 || o.batch < 1 || o.events < 1 || o.size < 0) {
    std::cerr
        << "govledger: --clients, --batch and --events must be at least 1\n";
    return 2;
  }
  const std::string run = NewUuid().substr(0, 8);
  const std::string org = absl::StrCat("BENCH-", run);
  // Set-up: an organisation, a programme and one project per client.
  {
    v1::AppendRequest setup;
    v1::OrganisationRegistered organisation;
    organisation.set_organisation_id(org);
    organisation.set_name("govledger bench");
    *setup.add_events() =
        Typed(projections::OrganisationStream(org), organisation);
    v1::ProgrammeRegistered programme;
    programme.set_programme_id(org);
    programme.set_organisation_id(org);
    programme.set_name("bench programme");
    programme.mutable_mobilisation_date()->set_year(2024);
    programme.mutable_mobilisation_date()->set_month(1);
    programme.mutable_mobilisation_date()->set_day(1);
    programme.set_planned_weeks(520);
    *setup.add_events() = Typed(projections::ProgrammeStream(org), programme);
    for (int c = 0; c < o.clients; ++c) {
      v1::ProjectRegistered project;
      project.set_project_id(absl::StrCat(org, "-", c));
      project.set_programme_id(org);
      project.set_name("bench project");
      *setup.add_events() =
          Typed(projections::ProjectStream(project.project_id()), project);
    }
    auto stub = v1::LedgerService::NewStub(Connect(o.server));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::AppendResponse response;
    grpc::Status s = stub->Append(&context, setup, &response);
    if (!s.ok()) {
      std::cerr << "govledger: " << DescribeError(o.server, s) << "\n";
      return s.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
    }
  }

  const uint64_t calls = (o.events + o.batch - 1) / o.batch;
  std::atomic<uint64_t> next_call{0};
  std::atomic<bool> failed{false};
  std::vector<std::vector<double>> latencies(o.clients);
  grpc::Status first_error;
  std::mutex error_mu;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = v1::LedgerService::NewStub(Connect(o.server, c + 1));
      const std::string project = absl::StrCat(org, "-", c);
      const std::string stream = projections::ProjectStream(project);
      v1::StatusReported report;
      report.mutable_subject()->set_kind(v1::WORK_KIND_PROJECT);
      report.mutable_subject()->set_id(project);
      report.set_plan_week(1);
      report.set_rag(v1::RAG_GREEN);
      int pad = o.size - static_cast<int>(report.ByteSizeLong()) - 3;
      report.set_commentary(std::string(std::max(pad, 0), 'c'));
      uint64_t call;
      while (!failed && (call = next_call.fetch_add(1)) < calls) {
        v1::AppendRequest request;
        const uint64_t n =
            std::min<uint64_t>(o.batch, o.events - call * o.batch);
        for (uint64_t i = 0; i < n; ++i) {
          report.set_rag((call + i) % 3 == 0 ? v1::RAG_AMBER : v1::RAG_GREEN);
          v1::Event e = Typed(stream, report);
          if (o.opaque) e.set_event_type("govledger.bench.TypedFiller");
          *request.add_events() = std::move(e);
        }
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(60));
        v1::AppendResponse response;
        auto t0 = std::chrono::steady_clock::now();
        grpc::Status s = stub->Append(&context, request, &response);
        auto t1 = std::chrono::steady_clock::now();
        if (!s.ok()) {
          std::lock_guard lock(error_mu);
          if (!failed.exchange(true)) first_error = s;
          return;
        }
        latencies[c].push_back(
            std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (failed) {
    std::cerr << "govledger: " << DescribeError(o.server, first_error) << "\n";
    return first_error.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
  }
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  double rate = o.events / seconds;
  const char* mode = o.opaque ? "typed-opaque" : "typed";
  if (o.json) {
    std::printf(
        "{\"mode\":\"%s\",\"events\":%llu,\"clients\":%d,\"batch\":%d,\"size\":"
        "%d,"
        "\"seconds\":%.3f,\"events_per_sec\":%.0f,\"p50_us\":%.0f,\"p99_us\":%."
        "0f}\n",
        mode, static_cast<unsigned long long>(o.events), o.clients, o.batch,
        o.size, seconds, rate, p50, p99);
  } else {
    std::printf(
        "%s: %llu events, %d clients, batch %d, %d B payload: %.0f events/s, "
        "call latency p50 %.0f us, p99 %.0f us (%.2f s)\n",
        mode, static_cast<unsigned long long>(o.events), o.clients, o.batch,
        o.size, rate, p50, p99, seconds);
  }
  return 0;
}

}  // namespace govledger::cli
