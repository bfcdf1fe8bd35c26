// RunQueue: the threads waiting for one CPU, first in, first out.
//
// Intrusive: the links live in the queued object (T::queue_next and
// T::queue_prev), so queueing never allocates and a thread is in at most one
// queue. Not synchronized: the scheduler holds its CPU's lock around every
// use. Portable, so the host tests drive it directly.
#pragma once

#include "../lib/assert.hpp"
#include "../lib/types.hpp"

namespace herald {

template<typename T>
class RunQueue {
public:
    bool is_empty() const { return m_head == nullptr; }
    usize size() const { return m_size; }
    T* front() const { return m_head; }
    T* back() const { return m_tail; }

    void push_back(T& item)
    {
        HERALD_ASSERT(item.queue_next == nullptr && item.queue_prev == nullptr && m_head != &item);
        item.queue_prev = m_tail;
        if (m_tail)
            m_tail->queue_next = &item;
        else
            m_head = &item;
        m_tail = &item;
        ++m_size;
    }

    // The thread that waited longest: what this CPU runs next.
    T* pop_front() { return m_head ? &remove(*m_head) : nullptr; }

    // The thread that waited least: what another CPU steals, since it has
    // the least of its working set still in this CPU's caches.
    T* pop_back() { return m_tail ? &remove(*m_tail) : nullptr; }

    T& remove(T& item)
    {
        if (item.queue_prev)
            item.queue_prev->queue_next = item.queue_next;
        else
            m_head = item.queue_next;
        if (item.queue_next)
            item.queue_next->queue_prev = item.queue_prev;
        else
            m_tail = item.queue_prev;
        item.queue_next = item.queue_prev = nullptr;
        --m_size;
        return item;
    }

    // The first item (the one that waited longest) for which `matches` is
    // true, left in the queue; nullptr if none.
    template<typename Predicate>
    T* first_where(Predicate matches) const
    {
        for (T* it = m_head; it; it = it->queue_next) {
            if (matches(*it))
                return it;
        }
        return nullptr;
    }

    // The front item (the one that waited longest), or, if a later item of
    // the same owner (T::task) last ran on `cpu` (T::cpu), the first such
    // one: the owner is always the front item's (first come, first served
    // among owners), the CPU only picks among one owner's items. nullptr if
    // empty; the item is left in the queue. Endpoint::receiver_for.
    T* front_for_cpu(u32 cpu) const
    {
        T* first = m_head;
        if (!first || first->cpu == cpu || !first->queue_next)
            return first; // the usual case: one item, or it ran on `cpu`
        auto* owner = first->task;
        T* local = first_where([cpu, owner](const T& item) { return item.cpu == cpu && item.task == owner; });
        return local ? local : first;
    }

    bool contains(const T& item) const
    {
        for (T* it = m_head; it; it = it->queue_next) {
            if (it == &item)
                return true;
        }
        return false;
    }

private:
    T* m_head { nullptr };
    T* m_tail { nullptr };
    usize m_size { 0 };
};

} // namespace herald
