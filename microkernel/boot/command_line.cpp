#include "command_line.hpp"

namespace herald {

Optional<StringView> command_line_value(StringView line, StringView key)
{
    usize position = 0;
    while (position < line.length()) {
        while (position < line.length() && line[position] == ' ')
            ++position;
        StringView rest = line.substring(position);
        StringView word = rest.substring(0, rest.find(' '));
        position += word.length();
        if (word.is_empty())
            continue;
        usize equals = word.find('=');
        if (word.substring(0, equals) == key)
            return equals < word.length() ? word.substring(equals + 1) : StringView();
    }
    return nullopt;
}

} // namespace herald
