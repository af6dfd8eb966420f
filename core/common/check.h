// Always-on invariant checks.
//
// Contract: TANDEM_CHECK(cond, message) evaluates `cond` in every build type (never compiled out, unlike assert)
// and, when it is false, prints the file, line, condition and message to stderr and aborts. Use it for
// invariants whose violation means the program state is corrupt; return an Error for anything a caller or an
// input can cause. Split compound conditions so a failure names the part that broke.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace tandem::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* condition, const char* message) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s -- %s\n", file, line, condition, message);
  std::fflush(stderr);
  std::abort();
}
}  // namespace tandem::detail

#define TANDEM_CHECK(cond, message)                                                        \
  do {                                                                                     \
    if (!(cond)) [[unlikely]] ::tandem::detail::check_failed(__FILE__, __LINE__, #cond, message); \
  } while (false)
