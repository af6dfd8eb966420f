// Crash reports for tandem's daemons: a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) writes one line
// naming the process and the signal, then the stack, to stderr (a member's log), and the signal is raised again
// with its default action, so the exit status still says how the process died.
//
// Without it a daemon that crashes during start-up leaves an empty log, and the launcher can only say that it
// exited. Install once, early in main(); the handler only writes to fd 2 and calls async-signal-safe functions
// (backtrace() is warmed up at install so it loads nothing inside the handler).
#pragma once

#include <string>

namespace tandem::real {

// `who` names the process in the report, e.g. "tandem node n3". Installing again replaces the name.
void install_crash_report(const std::string& who);

// How a child that waitpid() reported with `status` ended: "exited with code 1", "was killed by signal 9
// (Killed)". For messages about members that ended unexpectedly.
std::string describe_exit_status(int status);

}  // namespace tandem::real
