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
  ReportPoint previous;
  ReportPoint current;
  v1::CompareResponse compare;
};

// The report as Markdown (no colour), ending in a newline.
std::string ReportMarkdown(const ReportInputs& in);

// The report as one JSON object on one line (no trailing newline), keys in this order:
//   programme {id, name};
//   current and previous, each {as_at {mode ("AS_RECORDED" or "AS_KNOWN"), cut_time (RFC 3339,
//     or null), position, events_folded}, plan_week (of the cut instant), report_week (the
//     latest plan week reported by the programme or one of its projects, else plan_week), rating
//     (RAG; null when none), delivery_confidence (null when none), projects_by_rating {GREEN,
//     AMBER, RED, UNRATED (no report), DELIVERY_CONFIDENCE_ONLY (a report without a RAG rating):
//     counts of open projects, adding up to them}, projects_by_delivery_confidence {GREEN,
//     AMBER/GREEN, AMBER, AMBER/RED, RED: counts of open projects}, open_risks, red_risks (open
//     and red), red_risk_list [{risk_id, title, description, subject}], projects [{project_id,
//     name, rating, delivery_confidence, closed}], closed_projects [{project_id, name, annual_benefits_pence}], forecast_annual_pence,
//     realised_annual_pence, decisions
//     [{organisation_id, reference, title, status}]};
//   rating_changed; projects_closed_since [{project_id, name, annual_benefits_pence}];
//   scope_changes [{scope_item_id, title, change, from, to, baseline_change_pence,
//     benefit_change_pence, reason, position}];
//   changes [{entity, aspect, before, after, positions}] (Compare's differences);
//   events (how many events between the two points concern the programme: Compare's events).
// Amounts are whole numbers of pence.
std::string ReportJson(const ReportInputs& in);

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_REPORT_H_
