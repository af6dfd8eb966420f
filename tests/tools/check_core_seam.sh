#!/usr/bin/env bash
# Fails (exit 1, printing file:line: code) when anything under core/ reaches past the Env seam:
# includes from sim/ or real_backend/, wall clocks, threads, unseeded or implementation-defined randomness,
# or the process environment. Comments are ignored; string literals are not.
# Usage: check_core_seam.sh [REPO_ROOT]   (default: two levels above this script)
set -euo pipefail

repo_root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
core_dir="${repo_root}/core"

if [[ ! -d "${core_dir}" ]]; then
  echo "check_core_seam: no core/ directory under ${repo_root}; nothing to check"
  exit 0
fi

# One extended regular expression per rule, matched against code with comments removed.
# Identifiers are bounded so that e.g. `operand(` or `my_getenv_helper(` do not match.
rules=(
  '#[[:space:]]*include[[:space:]]*[<"](\.\./)*(sim|real_backend)/'
  '(^|[^A-Za-z0-9_])(system_clock|steady_clock|high_resolution_clock)([^A-Za-z0-9_]|$)'
  'std::(thread|jthread|this_thread|async)([^A-Za-z0-9_]|$)'
  '(^|[^A-Za-z0-9_])random_device([^A-Za-z0-9_]|$)'
  '(^|[^A-Za-z0-9_.>])s?rand[[:space:]]*\('
  '(^|[^A-Za-z0-9_])(secure_)?getenv[[:space:]]*\('
  'std::[a-z_]*_distribution([^A-Za-z0-9_]|$)'
  '(^|[^A-Za-z0-9_])(clock_gettime|gettimeofday)[[:space:]]*\('
)
pattern="$(
  IFS='|'
  echo "${rules[*]}"
)"

# Reads the C++ files given as arguments, blanks out // and /* */ comments (tracking quotes so that "//" inside a
# string literal is not taken for a comment), and prints "file:line: original line" for each line whose code
# matches SEAM_PATTERN. Plain POSIX awk: runs on mawk and gawk.
find_violations() {
  SEAM_PATTERN="${pattern}" SEAM_ROOT="${repo_root}/" awk '
    BEGIN { pattern = ENVIRON["SEAM_PATTERN"]; root = ENVIRON["SEAM_ROOT"]; count = 0 }
    FNR == 1 { in_block = 0 }
    {
      line = $0; code = ""; prev = ""; i = 1; n = length(line); in_string = 0; quote = ""
      while (i <= n) {
        c = substr(line, i, 1); two = substr(line, i, 2)
        if (in_block) {
          if (two == "*/") { in_block = 0; i += 2 } else { i++ }
          continue
        }
        if (in_string) {
          code = code c
          if (c == "\\") { code = code substr(line, i + 1, 1); i += 2; continue }
          if (c == quote) { in_string = 0 }
          i++; continue
        }
        if (two == "//") break
        if (two == "/*") { in_block = 1; i += 2; code = code " "; continue }
        # A single quote right after a digit is a digit separator (as in 1 000 000), not a character literal.
        if (c == "\"" || (c == "'\''" && prev !~ /[0-9]/)) { in_string = 1; quote = c }
        code = code c; prev = c; i++
      }
      if (code ~ pattern) {
        name = FILENAME
        if (index(name, root) == 1) name = substr(name, length(root) + 1)
        printf "%s:%d: %s\n", name, FNR, line
        count++
      }
    }
    END { exit count > 0 ? 1 : 0 }
  ' "$@"
}

files=()
while IFS= read -r -d '' file; do
  files+=("${file}")
done < <(find "${core_dir}" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.ipp' -o -name '*.inl' \
  -o -name '*.cpp' -o -name '*.cc' -o -name '*.cxx' \) -print0 | sort -z)

if [[ ${#files[@]} -eq 0 ]]; then
  echo "check_core_seam: ok (no C++ files under core/ yet)"
  exit 0
fi

violations=0
find_violations "${files[@]}" || violations=1

if [[ ${violations} -ne 0 ]]; then
  cat >&2 <<EOF

check_core_seam: the lines above reach past the Env seam.
core/ must include nothing from sim/ or real_backend/, and must get time, timers, threads-of-control,
randomness and configuration only through the Env it is handed (design: "The seam: Env").
Use Env's Clock/Random instead of std clocks, std::thread/async, rand/random_device or std::*_distribution,
and pass configuration in explicitly instead of reading getenv.
EOF
  exit 1
fi
echo "check_core_seam: ok (${#files[@]} files under core/ checked)"
