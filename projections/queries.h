// The answers of QueryService (proto/govledger/v1/query.proto), computed from
// the log by the "as at" engine (projections/as_at.h): pure functions of the
// stored events (in position order, position 1 first, up to a head) and the
// current time, answered either over the whole log in memory or over a compact
// index, an event source and snapshots (IndexedLog, below). The gRPC adapter
// (ledger/server/query_service.h) keeps the index and its snapshots among the
// store's projections, catches it up and maps statuses.
//
// Errors: INVALID_ARGUMENT for a malformed request or selector, OUT_OF_RANGE
// for a position past the head (ResolveAsAt), NOT_FOUND for a programme the
// ledger does not hold (or not yet at the cut); messages say what
// is valid; an EventSource's or SnapshotStore's error as it is. Thread-
// compatible: the answers over a vector keep no state; those over an
// IndexedLog add snapshots to its index, so calls sharing one are serialized.
#ifndef GOVLEDGER_PROJECTIONS_QUERIES_H_
#define GOVLEDGER_PROJECTIONS_QUERIES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "govledger/v1/ledger.pb.h"
#include "govledger/v1/query.pb.h"
#include "projections/event_source.h"
#include "projections/programme_index.h"
#include "projections/publication.h"

namespace govledger::projections {

// The words answers (and the CLI) use for a risk's status: "open", "closed",
// "transferred out"; a scope item's: "in scope", "removed", "transferred out";
// a decision's: "pending", "approved", "rejected", "withdrawn"; a RAG rating:
// "GREEN", "AMBER", "RED"; delivery confidence: "GREEN", "AMBER/GREEN",
// "AMBER", "AMBER/RED", "RED". "" when unspecified; a rating or confidence this version does
// not know (a newer govledgerd's) as "unknown (N)".
std::string RiskStatusText(v1::RiskStatus s);
std::string ScopeStatusText(v1::ScopeStatus status);
std::string DecisionStatusText(v1::DecisionStatus status);
std::string RagText(v1::Rag rag);
// A risk's rating: RagText, or "not rated" for a risk opened without one.
std::string RiskRatingText(v1::Rag rag);
std::string ConfidenceText(v1::DeliveryConfidence confidence);

// Each answer over the whole log: every event folded from position 1.
absl::StatusOr<v1::GetProgrammeStatusResponse> QueryProgrammeStatus(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::GetProgrammeStatusRequest& request);
absl::StatusOr<v1::GetRiskRegisterResponse> QueryRiskRegister(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::GetRiskRegisterRequest& request);
absl::StatusOr<v1::CompareResponse> QueryCompare(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::CompareRequest& request);
absl::StatusOr<v1::GetScopeMapResponse> QueryScopeMap(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::GetScopeMapRequest& request);
// Delegation needs are judged against the organisation's rules in force at the
// cut.
absl::StatusOr<v1::GetDecisionRegisterResponse> QueryDecisionRegister(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::GetDecisionRegisterRequest& request);
absl::StatusOr<v1::GetBenefitsResponse> QueryBenefits(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::GetBenefitsRequest& request);
// NOT_FOUND when no event of the stream is folded at the cut (naming whether
// the log holds the stream at all).
absl::StatusOr<v1::GetEntityHistoryResponse> QueryEntityHistory(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::GetEntityHistoryRequest& request);
// The organisations and programmes registered at the cut, each programme folded as
// QueryProgrammeStatus folds it. NOT_FOUND for an organisation_id not registered at the cut.
absl::StatusOr<v1::ListProgrammesResponse> QueryProgrammes(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::ListProgrammesRequest& request);

// For each decision whose standing proposal defers Part 1's publication (to any date), or, when
// corrections void every proposal of the decision, whose last proposal did, the sources
// (Event.source) named by the events on its stream (its proposals, signatures, rejection or
// withdrawal, and corrections of them, voided events included: voiding an event does not
// publish the paper it cites); as recorded at the head, in log order. What a viewer may not see of them depends on the day (publication.h,
// WithheldSources): the answer does not. Reads the decision streams' events only.
absl::StatusOr<std::vector<DeferredCitations>> QueryDeferredCitations(
    const std::vector<v1::Event>& log);

struct SnapshotOptions {
  // A programme's fold is snapshotted every this many events folded past the
  // snapshot it started from (or position 1). Default 2,000.
  size_t every = 2000;
};

// The same answers from a compact index of the log (ProgrammeIndex), reading
// events from `source`: a programme's answers select only the events that can
// concern it, start from the nearest usable snapshot of that programme's fold
// (AS_RECORDED and AS_KNOWN each have theirs; see programme_index.h), read and
// fold only the events after it, and leave snapshots behind every
// `options.every` events folded. The decision register folds the decision
// streams and the events that concern every programme; an entity's history its
// stream and those. Identical to the answers over the whole log, except
// ResolvedAsAt.events_folded, which counts the events selected (including
// those a snapshot covers). `snapshots` null: no snapshots.
// REQUIRES: every position the index holds is readable from `source`; callers
// serialize calls sharing an index.
struct IndexedLog {
  ProgrammeIndex* index;
  EventSource* source;
  SnapshotStore* snapshots;
  SnapshotOptions options;
};

absl::StatusOr<v1::GetProgrammeStatusResponse> QueryProgrammeStatus(
    const IndexedLog& log, int64_t now_micros,
    const v1::GetProgrammeStatusRequest& request);
absl::StatusOr<v1::GetRiskRegisterResponse> QueryRiskRegister(
    const IndexedLog& log, int64_t now_micros,
    const v1::GetRiskRegisterRequest& request);
absl::StatusOr<v1::CompareResponse> QueryCompare(
    const IndexedLog& log, int64_t now_micros,
    const v1::CompareRequest& request);
absl::StatusOr<v1::GetScopeMapResponse> QueryScopeMap(
    const IndexedLog& log, int64_t now_micros,
    const v1::GetScopeMapRequest& request);
absl::StatusOr<v1::GetDecisionRegisterResponse> QueryDecisionRegister(
    const IndexedLog& log, int64_t now_micros,
    const v1::GetDecisionRegisterRequest& request);
absl::StatusOr<v1::GetBenefitsResponse> QueryBenefits(
    const IndexedLog& log, int64_t now_micros,
    const v1::GetBenefitsRequest& request);
absl::StatusOr<v1::GetEntityHistoryResponse> QueryEntityHistory(
    const IndexedLog& log, int64_t now_micros,
    const v1::GetEntityHistoryRequest& request);
absl::StatusOr<v1::ListProgrammesResponse> QueryProgrammes(
    const IndexedLog& log, int64_t now_micros, const v1::ListProgrammesRequest& request);
absl::StatusOr<std::vector<DeferredCitations>> QueryDeferredCitations(const IndexedLog& log);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_QUERIES_H_
