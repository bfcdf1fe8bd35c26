#include "console_service.hpp"

#include "servers/common/fault_on_purpose.hpp"

namespace herald::console {

using namespace ipc::console;

ipc::Result<Write::Reply> ConsoleService::handle(Write, const ipc::Bytes& text, ipc::Badge)
{
    write_output(text.data, text.length);
    return Write::Reply { text.length };
}

// Another task's output must not land inside the line being typed: it
// starts on a line of its own, and once it has ended its line the typed
// line is drawn again below it. Output that does not end its line (a
// program's own prompt) leaves the typed line to be drawn again later: by
// the next output that ends a line, or by the next Echo.
void ConsoleService::write_output(const uint8_t* bytes, size_t length)
{
    if (length == 0)
        return;
    if (!m_open_line.is_open()) { // nobody types: as it comes, no copy
        m_backend->write(bytes, length);
        m_at_line_start = bytes[length - 1] == '\n';
        return;
    }
    m_out_length = 0;
    if (m_open_line.is_open() && !m_open_line_interrupted) {
        append_out(reinterpret_cast<const uint8_t*>("\n"), 1);
        m_open_line_interrupted = true;
    }
    append_out(bytes, length);
    if (m_open_line_interrupted && m_at_line_start)
        append_open_line_again();
    send_out();
}

ipc::Result<Write::Reply> ConsoleService::handle(Echo, const ipc::Bytes& text, ipc::Badge)
{
    m_out_length = 0;
    if (m_open_line_interrupted) {
        if (!m_at_line_start)
            append_out(reinterpret_cast<const uint8_t*>("\n"), 1);
        append_open_line_again();
    }
    append_out(text.data, text.length);
    m_open_line.follow(text.data, text.length);
    send_out();
    return Write::Reply { text.length };
}

void ConsoleService::append_out(const uint8_t* bytes, size_t length)
{
    for (size_t i = 0; i < length && m_out_length < sizeof(m_out); ++i)
        m_out[m_out_length++] = bytes[i];
    if (length > 0)
        m_at_line_start = bytes[length - 1] == '\n';
}

void ConsoleService::append_open_line_again()
{
    append_out(m_open_line.shown(), m_open_line.length());
    if (m_open_line.length() > 0)
        m_at_line_start = false;
    m_open_line_interrupted = false;
}

void ConsoleService::send_out()
{
    if (m_out_length > 0)
        m_backend->write(m_out, m_out_length);
}

ipc::Result<ipc::Bytes> ConsoleService::handle(Read, const Read::Request& request, ipc::Badge)
{
    input_arrived(); // what the UART kept while the ring was full
    uint32_t count = 0;
    while (count < request.max && count < sizeof(m_reply) && m_input_count > 0) {
        m_reply[count++] = m_input[m_input_head];
        m_input_head = (m_input_head + 1) % kInputBuffer;
        --m_input_count;
    }
    input_arrived(); // into the room just made
    return ipc::Bytes { m_reply, count };
}

ipc::Result<ipc::Empty> ConsoleService::handle(Subscribe, const ipc::WithHandle<>& request, ipc::Badge)
{
    if (m_subscriber_count == kMaxSubscribers)
        signal_subscribers(0); // drops those whose waiter is gone
    if (m_subscriber_count == kMaxSubscribers)
        return kTooManySubscribers;
    Subscriber subscriber = IPC_TRY(m_backend->keep(request.handle));
    m_subscribers[m_subscriber_count++] = subscriber;
    return ipc::Empty {};
}

void ConsoleService::input_arrived()
{
    bool any = false;
    uint8_t byte = 0;
    // A byte the ring has no room for stays in the UART (the interrupt line
    // stays up, so no new interrupt comes): the next Read takes it.
    while (m_input_count < kInputBuffer && m_backend->receive(byte)) {
        m_input[(m_input_head + m_input_count) % kInputBuffer] = byte;
        ++m_input_count;
        any = true;
    }
    if (any)
        signal_subscribers(kInputBit);
}

ipc::KernelMessage ConsoleService::on_kernel_message(const ipc::Message& in, ipc::Message&)
{
    if (servers::is_fault_injection(in))
        servers::fault_on_purpose();
    return ipc::KernelMessage::NoAnswer;
}

// A signal nobody can ever wait for fails: that subscriber's task is gone,
// and so is its entry.
void ConsoleService::signal_subscribers(uint64_t bits)
{
    for (size_t i = 0; i < m_subscriber_count;) {
        if (!m_backend->signal(m_subscribers[i], bits)) {
            m_backend->drop(m_subscribers[i]);
            m_subscribers[i] = m_subscribers[--m_subscriber_count];
        } else {
            ++i;
        }
    }
}

} // namespace herald::console
