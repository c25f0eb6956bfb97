// The answers of QueryService (proto/govledger/v1/query.proto), computed from
// the log by the "as at" engine (projections/as_at.h): pure functions of the
// stored events (in position order, position 1 first, up to a head) and the
// current time. The gRPC adapter (ledger/server/query_service.h) only reads the
// log and maps statuses.
//
// Errors: INVALID_ARGUMENT for a malformed request or selector, NOT_FOUND for a
// programme the ledger does not hold (or not yet at the cut); messages say what
// is valid. Thread-compatible: no state.
#ifndef GOVLEDGER_PROJECTIONS_QUERIES_H_
#define GOVLEDGER_PROJECTIONS_QUERIES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "govledger/v1/ledger.pb.h"
#include "govledger/v1/query.pb.h"
#include "projections/programme_index.h"

namespace govledger::projections {

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

// The same answers from a ProgrammeIndex: only the events that can concern the
// programme asked about are selected and folded (the whole log still resolves
// the selector). Identical to the answers over index.log(), except
// ResolvedAsAt.events_folded, which counts the events folded.
absl::StatusOr<v1::GetProgrammeStatusResponse> QueryProgrammeStatus(
    const ProgrammeIndex& index, int64_t now_micros,
    const v1::GetProgrammeStatusRequest& request);
absl::StatusOr<v1::GetRiskRegisterResponse> QueryRiskRegister(
    const ProgrammeIndex& index, int64_t now_micros,
    const v1::GetRiskRegisterRequest& request);
absl::StatusOr<v1::CompareResponse> QueryCompare(
    const ProgrammeIndex& index, int64_t now_micros,
    const v1::CompareRequest& request);
absl::StatusOr<v1::GetScopeMapResponse> QueryScopeMap(
    const ProgrammeIndex& index, int64_t now_micros,
    const v1::GetScopeMapRequest& request);
absl::StatusOr<v1::GetBenefitsResponse> QueryBenefits(
    const ProgrammeIndex& index, int64_t now_micros,
    const v1::GetBenefitsRequest& request);

// NOT_FOUND when no event of the stream is folded at the cut (naming whether
// the log holds the stream at all).
absl::StatusOr<v1::GetEntityHistoryResponse> QueryEntityHistory(
    const std::vector<v1::Event>& log, int64_t now_micros,
    const v1::GetEntityHistoryRequest& request);

}  // namespace govledger::projections

#endif  // GOVLEDGER_PROJECTIONS_QUERIES_H_
