// Catch2 v2 (Debian's catch2 package) provides main() for the host tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
