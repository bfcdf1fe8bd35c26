// The kernel command line: space-separated words, some of them key=value.
#pragma once

#include "../lib/optional.hpp"
#include "../lib/string_view.hpp"

namespace herald {

// The value of the first word "key=value" on `line`, or nullopt. A bare
// "key" yields an empty value.
Optional<StringView> command_line_value(StringView line, StringView key);

} // namespace herald
