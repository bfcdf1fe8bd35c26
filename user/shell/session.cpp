#include "session.hpp"

namespace herald::shell {

namespace {

constexpr uint8_t kCtrlC = 0x03;
constexpr int64_t kLowByte = 0xFF;

} // namespace

int status_of_end(const abi::TaskStatus& status)
{
    if (status.state == abi::TaskState::Killed) {
        int64_t vector = abi::fault_vector(status.exit_status);
        return vector >= 0 ? kStatusSignalBase + static_cast<int>(vector) : kStatusKilled;
    }
    if (status.exit_status == 0)
        return kStatusOk;
    int low = static_cast<int>(status.exit_status & kLowByte);
    return low != 0 ? low : kStatusFailed;
}

size_t TypeAhead::push(const char* bytes, size_t count)
{
    size_t taken = 0;
    for (; taken < count && m_count < kCapacity; ++taken)
        m_bytes[(m_head + m_count++) % kCapacity] = static_cast<uint8_t>(bytes[taken]);
    return taken;
}

bool TypeAhead::pop(uint8_t& byte)
{
    if (m_count == 0)
        return false;
    byte = m_bytes[m_head];
    m_head = (m_head + 1) % kCapacity;
    --m_count;
    return true;
}

bool TypeAhead::take_interrupt()
{
    for (size_t i = m_count; i > 0; --i) { // the last Ctrl-C: everything before it goes
        if (m_bytes[(m_head + i - 1) % kCapacity] != kCtrlC)
            continue;
        m_head = (m_head + i) % kCapacity;
        m_count -= i;
        return true;
    }
    return false;
}

void Session::record(int status, const char* line)
{
    if (status == kStatusOk || m_status != kStatusOk)
        return;
    m_status = status;
    size_t length = 0;
    for (; line[length] != '\0' && length + 1 < kMaxCommand; ++length)
        m_first_failure[length] = line[length];
    m_first_failure[length] = '\0';
}

} // namespace herald::shell
