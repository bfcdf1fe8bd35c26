// Whom the virtio-blk driver serves (client_policy.hpp).
#include "client_policy.hpp"

namespace virtio_blk {

namespace {

bool same_name(const char* a, const char* b)
{
    for (; *a && *a == *b; ++a, ++b) { }
    return *a == *b;
}

} // namespace

ClientPolicy::Verdict ClientPolicy::check(uint64_t badge, Tasks& tasks)
{
    if (badge == 0)
        return Verdict::NotAllowed; // a handle nobody badged: not one the registry handed out
    for (size_t i = 0; i < m_count; ++i) {
        if (m_holders[i] == badge)
            return Verdict::Admitted;
    }
    if (refused_before(badge))
        return Verdict::NotAllowed;
    char name[kNameSize + 1];
    if (!tasks.running(badge, name))
        return Verdict::NotAllowed;
    for (size_t i = 0; i < m_count; ++i) {
        if (!same_name(name, m_programs[i].name))
            continue;
        if (m_programs[i].started_by_init) {
            uint64_t inits = tasks.started_by_init(m_programs[i].name);
            if (inits != badge) {
                m_last_inits = inits;
                if (inits > badge)
                    remember_refused(badge); // older than init's: init will never name it
                return Verdict::NotInitsTask;
            }
        }
        char holder_name[kNameSize + 1];
        if (m_holders[i] != 0 && tasks.running(m_holders[i], holder_name))
            return Verdict::Held;
        m_holders[i] = badge;
        return Verdict::Admitted;
    }
    remember_refused(badge); // it runs another program, for good
    return Verdict::NotAllowed;
}

void ClientPolicy::remember_refused(uint64_t badge)
{
    m_refused[m_next_refused] = badge;
    m_next_refused = (m_next_refused + 1) % kRefusedMemory;
}

bool ClientPolicy::refused_before(uint64_t badge) const
{
    for (uint64_t refused : m_refused) {
        if (refused == badge)
            return true;
    }
    return false;
}

} // namespace virtio_blk
