// The one Catch2 main, shared by tandem_tests and tandem_real_tests.
// Test files include <catch2/catch.hpp>, and <rapidcheck/catch.h> for properties (rc::prop).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <sstream>

// In both binaries (this file is their shared main): CTest (catch_discover_tests) cuts a test name at ';', so
// such an entry would match no test case and its test would never run.
TEST_CASE("Test names: none contains a semicolon") {
  for (const Catch::TestCase& test : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    std::ostringstream where;
    where << test.lineInfo;
    INFO("\"" << test.name << "\" at " << where.str() << " (fix: use ',' or '-' instead of ';')");
    CHECK(test.name.find(';') == std::string::npos);
  }
}
