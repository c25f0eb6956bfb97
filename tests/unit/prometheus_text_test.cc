// cli/admin_commands.h PrometheusText: the figures of `admin stats --prometheus`, which a root
// job writes where node_exporter reads them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "cli/admin_commands.h"

namespace govledger::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A label value from the server is escaped as the text format requires: a newline in it cannot
// add a line (a metric of its choosing) to the file.
TEST(PrometheusTextTest, LabelValuesAreEscaped) {
  v1::GetStatsResponse stats;
  stats.set_version("1\"} 1\ngovledger_fake{x=\"\\");
  stats.set_storage_format("7");
  const std::string text = PrometheusText(&stats, nullptr);
  EXPECT_THAT(text, HasSubstr(R"(govledger_info{version="1\"} 1\ngovledger_fake{x=\"\\",)"
                              R"(storage_format="7"} 1)"));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    EXPECT_FALSE(absl::StartsWith(line, "govledger_fake")) << line;
  }
}

TEST(PrometheusTextTest, AServerNotAnsweringIsUpZero) {
  EXPECT_EQ(PrometheusText(nullptr, nullptr),
            "# HELP govledger_up Whether govledgerd answered GetStats (1) or not (0).\n"
            "# TYPE govledger_up gauge\ngovledger_up 0\n");
}

}  // namespace
}  // namespace govledger::cli
