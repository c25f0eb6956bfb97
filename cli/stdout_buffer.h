// std::cout's buffer in the CLI: it writes to file descriptor 1 itself and keeps the errno of
// the first write that failed, which iostreams drop (a stream only goes bad), so that a command
// can say why its output is incomplete ("cannot write stdout: No space left on device").
#ifndef GOVLEDGER_CLI_STDOUT_BUFFER_H_
#define GOVLEDGER_CLI_STDOUT_BUFFER_H_

namespace govledger::cli {

// Puts the buffer under std::cout, once, before anything is written to it. On a terminal every
// output operation is written at once (what a person watches appears as it is printed);
// otherwise in blocks, and at each flush.
void InstallStdoutBuffer();

// The errno of the first write to stdout that failed; 0 if none has (or before
// InstallStdoutBuffer).
int StdoutWriteError();

}  // namespace govledger::cli

#endif  // GOVLEDGER_CLI_STDOUT_BUFFER_H_
