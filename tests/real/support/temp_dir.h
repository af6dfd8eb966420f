// TempDir: a fresh directory under `base` (default $TMPDIR, else /tmp), removed with everything in it when
// the object dies.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "core/common/check.h"

namespace tandem::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& label, std::string base = "") {
    const char* tmpdir = std::getenv("TMPDIR");
    if (base.empty()) base = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    std::string pattern = base + "/tandem-" + label + "-XXXXXX";
    TANDEM_CHECK(mkdtemp(pattern.data()) != nullptr,
                 "cannot create a temporary directory; is $TMPDIR writable?");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tandem::testing
