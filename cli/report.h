// The programme update report of `govledger report` (README, "The govledger CLI"), written the
// way seed 000 reads ("week 86 of the plan, we last reported in week 74"): the programme's rating
// and its change, projects by rating now and last time, open and red risks now and last time
// with the red risks listed, projects closed since and their savings, forecast savings, scope
// changes, decisions, and every difference with the events that explain it.
//
// Pure: built only from QueryService answers at the two points (nothing is re-folded here).
// Thread-compatible.
#ifndef GOVLEDGER_CLI_REPORT_H_
#define GOVLEDGER_CLI_REPORT_H_

#include <string>

#include "govledger/v1/query.pb.h"
#include "govledger/v1/report.pb.h"

namespace govledger::cli {

// QueryService answers for one programme at one point.
struct ReportPoint {
  v1::GetProgrammeStatusResponse status;
  v1::GetRiskRegisterResponse risks;
  v1::GetBenefitsResponse benefits;
  v1::GetScopeMapResponse scope;
  v1::GetDecisionRegisterResponse decisions;
};

// Everything a report is made of. `compare` runs from `previous` to `current`.
struct ReportInputs {
  std::string programme_id;
  // The programme was registered after `previous`, whose answers are then empty but for
  // `status.as_at`: a report "since the start".
  bool registered_since = false;
  ReportPoint previous;
  ReportPoint current;
  v1::CompareResponse compare;
};

// The report as Markdown (no colour), ending in a newline.
std::string ReportMarkdown(const ReportInputs& in);

// The report as a message (proto/govledger/v1/report.proto), which `report --json` prints in
// protobuf's JSON mapping.
v1::ProgrammeReport ReportMessage(const ReportInputs& in);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_REPORT_H_
