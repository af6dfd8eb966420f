// The one Catch2 main, shared by tandem_tests and tandem_real_tests.
// Test files include <catch2/catch.hpp>, and <rapidcheck/catch.h> for properties (rc::prop).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
