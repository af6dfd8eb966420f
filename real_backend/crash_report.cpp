#include "real_backend/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace tandem::real {
namespace {

constexpr std::array<int, 5> kFatalSignals = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

// Written by install only, before any handler can run; read by the handler.
char g_who[128] = "tandem";

void write_text(const char* text) {
  // Nothing to do about a failed write to stderr inside a crash.
  if (::write(STDERR_FILENO, text, std::strlen(text)) < 0) return;
}

void on_fatal_signal(int signal_number) {
  char digits[12];
  char* first = digits + sizeof digits - 1;  // filled from the end
  *first = '\0';
  for (int value = signal_number; first == digits + sizeof digits - 1 || value > 0; value /= 10) {
    *--first = static_cast<char>('0' + value % 10);
  }
  write_text(g_who);
  write_text(": fatal signal ");
  write_text(first);
  write_text(" (");
  write_text(sigabbrev_np(signal_number) != nullptr ? sigabbrev_np(signal_number) : "?");
  write_text("); stack:\n");
  void* frames[64];
  const int depth = ::backtrace(frames, static_cast<int>(std::size(frames)));
  ::backtrace_symbols_fd(frames, depth, STDERR_FILENO);
  // Die of the same signal, so whoever waits for this process learns what killed it (SA_RESETHAND has put the
  // default action back; the signal is blocked until the handler returns, then delivered).
  ::raise(signal_number);
}

}  // namespace

void install_crash_report(const std::string& who) {
  const size_t length = std::min(who.size(), sizeof g_who - 1);
  std::memcpy(g_who, who.data(), length);
  g_who[length] = '\0';
  void* warm_up[1];
  ::backtrace(warm_up, 1);  // loads libgcc's unwinder now, not inside the handler
  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second fault inside the handler kills at once
  for (int signal_number : kFatalSignals) ::sigaction(signal_number, &action, nullptr);
}

std::string describe_exit_status(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal_number = WTERMSIG(status);
    const char* name = sigdescr_np(signal_number);
    return "was killed by signal " + std::to_string(signal_number) + " (" + (name ? name : "unknown") + ")" +
           (WCOREDUMP(status) ? ", core dumped" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

}  // namespace tandem::real
