// Runs the real govledger CLI binary (GOVLEDGER_CLI_PATH, set by CMake for the integration test
// target), or another of the project's programs, through the shell and captures its exit code,
// stdout and stderr. Thread-compatible: each call uses its own temporary file for stderr.
#ifndef GOVLEDGER_TESTS_INTEGRATION_CLI_RUNNER_H_
#define GOVLEDGER_TESTS_INTEGRATION_CLI_RUNNER_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace govledger::testing {

struct CliRun {
  int code = -1;    // exit code; -1 when the CLI did not exit normally
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `env_prefix program args` with sh (so `args` must be shell-quoted; `env_prefix` sets
// variables for the run, e.g. "NO_COLOR=1"). stdin is /dev/null unless `args` redirects it.
inline CliRun RunProgram(const std::string& program, const std::string& args,
                         const std::string& env_prefix = "") {
  CliRun r;
  char err_path[] = "/tmp/govledger-cli-stderr-XXXXXX";
  const int fd = ::mkstemp(err_path);
  if (fd < 0) return r;
  ::close(fd);
  // A later redirection would override one in `args`.
  const bool redirects_stdin = args.find('<') != std::string::npos;
  const std::string command = absl::StrCat(env_prefix, " ", program, " ", args,
                                           redirects_stdin ? "" : " </dev/null", " 2>", err_path);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe != nullptr) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
    const int status = ::pclose(pipe);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream err_file(err_path);
  std::stringstream err;
  err << err_file.rdbuf();
  r.err = err.str();
  ::unlink(err_path);
  return r;
}

// RunProgram of the govledger CLI.
inline CliRun Cli(const std::string& args, const std::string& env_prefix = "") {
  return RunProgram(GOVLEDGER_CLI_PATH, args, env_prefix);
}

}  // namespace govledger::testing

#endif  // GOVLEDGER_TESTS_INTEGRATION_CLI_RUNNER_H_
