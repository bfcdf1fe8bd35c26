// KernelPool<T>: fixed-size kernel objects (threads, tasks) with reuse.
//
// Scheme: objects are carved out of whole pages from kernel memory
// (kernel_memory.hpp); a freed object goes on a free list threaded through
// its own storage and is handed out again first. Pages are never returned.
#pragma once

#include "../sync/spinlock.hpp"
#include "../lib/utility.hpp"
#include "kernel_memory.hpp"
#include "layout.hpp"

namespace herald {

template<typename T, usize kBlockSize = sizeof(T), usize kAlignment = alignof(T)>
class KernelPool {
    static constexpr usize kStride = (max(kBlockSize, sizeof(void*)) + kAlignment - 1) / kAlignment * kAlignment;
    static constexpr usize kPagesPerRefill = kStride > layout::kPageSize ? (kStride + layout::kPageSize - 1) / layout::kPageSize : 1;
    static constexpr usize kObjectsPerRefill = kPagesPerRefill * layout::kPageSize / kStride;

public:
    // Raw zeroed storage for one object, or nullptr when memory is exhausted.
    void* allocate_storage()
    {
        SpinLockGuard guard(m_lock);
        if (!m_free && !refill())
            return nullptr;
        FreeNode* node = m_free;
        m_free = node->next;
        ++m_in_use;
        __builtin_memset(node, 0, kBlockSize);
        return node;
    }

    void free_storage(void* storage)
    {
        SpinLockGuard guard(m_lock);
        auto* node = static_cast<FreeNode*>(storage);
        node->next = m_free;
        m_free = node;
        --m_in_use;
    }

    // A racy count, for statistics and tests.
    usize in_use() const NO_THREAD_SAFETY_ANALYSIS { return __atomic_load_n(&m_in_use, __ATOMIC_RELAXED); }

private:
    struct FreeNode {
        FreeNode* next;
    };

    bool refill() REQUIRES(m_lock)
    {
        u8* pages = allocate_kernel_pages(kPagesPerRefill);
        if (!pages)
            return false;
        for (usize i = 0; i < kObjectsPerRefill; ++i) {
            auto* node = reinterpret_cast<FreeNode*>(pages + i * kStride);
            node->next = m_free;
            m_free = node;
        }
        return true;
    }

    SpinLock m_lock;
    FreeNode* m_free GUARDED_BY(m_lock) { nullptr };
    usize m_in_use GUARDED_BY(m_lock) { 0 };
};

} // namespace herald
