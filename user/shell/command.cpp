#include "command.hpp"

namespace herald::shell {

namespace {

using user::Token;

struct Word {
    const char* text;
    CommandKind kind;
};

// Commands whose arguments, if any, are ignored.
constexpr Word kPlainCommands[] = {
    { "help", CommandKind::Help },
    { "ps", CommandKind::Ps },
    { "mem", CommandKind::Mem },
    { "cpus", CommandKind::Cpus },
    { "pci", CommandKind::Pci },
    { "date", CommandKind::Date },
    { "bench", CommandKind::Bench },
    { "shutdown", CommandKind::Shutdown },
};

Command invalid(Command command, const char* problem)
{
    command.kind = CommandKind::Invalid;
    command.problem = problem;
    return command;
}

// run|start NAME [ARG]
Command parse_program(Command command, const char*& cursor, bool wait)
{
    const char* usage = wait ? "usage: run NAME [ARG]   (ARG: a number)" : "usage: start NAME [ARG]   (ARG: a number)";
    Token name = user::next_token(cursor);
    Token argument = user::next_token(cursor);
    if (name.empty() || (!argument.empty() && !user::parse_u64(argument, command.argument)))
        return invalid(command, usage);
    if (name.length > kMaxProgramName)
        return invalid(command, wait ? "run: name too long" : "start: name too long");
    for (size_t i = 0; i < name.length; ++i)
        command.program[i] = name.text[i];
    command.program[name.length] = '\0';
    command.kind = wait ? CommandKind::Run : CommandKind::Start;
    return command;
}

} // namespace

Command parse_command(const char* line)
{
    const char* cursor = line;
    Command command;
    command.word = user::next_token(cursor);
    if (command.word.empty())
        return command;
    for (const Word& plain : kPlainCommands) {
        if (command.word.equals(plain.text)) {
            command.kind = plain.kind;
            return command;
        }
    }
    if (command.word.equals("run"))
        return parse_program(command, cursor, true);
    if (command.word.equals("start"))
        return parse_program(command, cursor, false);
    if (command.word.equals("kill")) {
        if (!user::parse_u64(user::next_token(cursor), command.argument))
            return invalid(command, "usage: kill ID");
        command.kind = CommandKind::Kill;
        return command;
    }
    command.kind = CommandKind::Unknown;
    return command;
}

} // namespace herald::shell
