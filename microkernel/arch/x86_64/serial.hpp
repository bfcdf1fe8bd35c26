// The kernel log on COM1 (a 16550 UART). Until the console server exists
// this is the only output; the panic path uses it too, so it must work from
// any context without allocating or taking a lock that might be held.
#pragma once

#include "../../lib/format.hpp"

namespace herald::serial {

void init();
void write(const char* chars, usize length);
FormatSink& sink();

// Input, for the console built into the kernel (services/console_in_kernel.cpp;
// the ring-3 console server drives the same UART itself): the UART raises
// its interrupt when a byte arrives, and receive() takes the next byte it
// holds, if any.
void enable_receive_interrupt();
bool receive(u8& byte);

// A sink with no state: the panic path makes its own on the stack, so a
// report still comes out when a stack overflow has trashed kernel data.
class SerialSink final : public FormatSink {
public:
    void write(const char* chars, usize length) override { serial::write(chars, length); }
    using FormatSink::write;
};

} // namespace herald::serial
