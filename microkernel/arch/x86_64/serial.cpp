#include "serial.hpp"

#include "cpu.hpp"

#include "../../log.hpp"

namespace herald {
SpinLock g_log_lock;
}

namespace herald::serial {

namespace {

// PC COM1 and the 16550 register layout (PC16550D datasheet, Table 2).
constexpr u16 kCom1 = 0x3F8;
constexpr u16 kData = kCom1 + 0;
constexpr u16 kInterruptEnable = kCom1 + 1;
constexpr u16 kDivisorLow = kCom1 + 0;   // while DLAB is set
constexpr u16 kDivisorHigh = kCom1 + 1;  // while DLAB is set
constexpr u16 kFifoControl = kCom1 + 2;
constexpr u16 kLineControl = kCom1 + 3;
constexpr u16 kModemControl = kCom1 + 4;
constexpr u16 kLineStatus = kCom1 + 5;

constexpr u8 kLineControlDlab = 0x80;
constexpr u8 kLineControl8N1 = 0x03;
constexpr u8 kFifoEnableAndClear = 0xC7;
constexpr u16 kInterruptIdentification = kCom1 + 2; // read; FCR when written
constexpr u8 kFifoEnabledBits = 0xC0;               // IIR[7:6] = 11: 16550A FIFO works
constexpr u8 kModemDtrRtsOut2 = 0x0B;
constexpr u8 kLineStatusTxEmpty = 0x20;
constexpr u8 kLineStatusDataReady = 0x01;
constexpr u8 kEnableReceivedData = 0x01; // IER bit 0: interrupt when a byte arrives
constexpr u16 kDivisor115200 = 1; // 115200 baud from the 1.8432 MHz clock
// Once the transmitter reports empty, its FIFO takes this many bytes without
// further polling (16550A). Polling once per 16 bytes instead of once per
// byte matters under virtualization, where each port access is a VM exit.
constexpr int kTransmitFifoSize = 16;

// A real UART that is absent reads as 0xFF forever; bound the wait so a
// missing port slows logging down instead of hanging the kernel.
constexpr int kTransmitSpinLimit = 100000;

SerialSink g_sink;
int g_fifo_room = 0;
// 16 on a 16550A, 1 on an 8250/16450 or a 16550 with the broken FIFO.
int g_fifo_size = 1;

void put(char c)
{
    if (g_fifo_room == 0) {
        for (int spin = 0; spin < kTransmitSpinLimit; ++spin) {
            if (x86::inb(kLineStatus) & kLineStatusTxEmpty)
                break;
            x86::pause();
        }
        g_fifo_room = g_fifo_size;
    }
    --g_fifo_room;
    x86::outb(kData, static_cast<u8>(c));
}

} // namespace

void init()
{
    x86::outb(kInterruptEnable, 0);
    x86::outb(kLineControl, kLineControlDlab);
    x86::outb(kDivisorLow, kDivisor115200 & 0xFF);
    x86::outb(kDivisorHigh, kDivisor115200 >> 8);
    x86::outb(kLineControl, kLineControl8N1);
    x86::outb(kFifoControl, kFifoEnableAndClear);
    bool fifo = (x86::inb(kInterruptIdentification) & kFifoEnabledBits) == kFifoEnabledBits;
    g_fifo_size = fifo ? kTransmitFifoSize : 1;
    g_fifo_room = 0;
    x86::outb(kModemControl, kModemDtrRtsOut2);
}

void write(const char* chars, usize length)
{
    for (usize i = 0; i < length; ++i) {
        if (chars[i] == '\n')
            put('\r');
        put(chars[i]);
    }
}

FormatSink& sink() { return g_sink; }

void enable_receive_interrupt() { x86::outb(kInterruptEnable, kEnableReceivedData); }

bool receive(u8& byte)
{
    if (!(x86::inb(kLineStatus) & kLineStatusDataReady))
        return false;
    byte = x86::inb(kData);
    return true;
}

} // namespace herald::serial
