// pci::MsixVectors: which MSI vector each function's MSI-X table entries
// were given, for the PCI server's RequestFunctionMsix (pci_protocol.hpp;
// docs/drivers.md, "MSI-X"; docs/security.md, "MSI vectors").
//
// The kernel has kMsiVectors (64) MSI vectors for every device together
// (microkernel/ipc/irq.hpp). Before this table each request took a fresh
// one, even for an entry written before, and the driver kept it: a driver
// with dma= that asked 64 times left every other driver without one. Now:
//   - an entry keeps its vector while its function's holder runs: a repeat
//     request gets the same vector again (find), not a new one;
//   - a function gets at most limit(table size) vectors: its table's size,
//     and never more than kMaxMsixVectorsPerFunction;
//   - the server keeps its own handle to each vector, so the vector stays
//     the entry's (and is never given to another device) even when the
//     driver closes its copy; when the holder has ended, release_all hands
//     every entry back to the server, which masks it in the table and
//     closes its handle: the kernel frees the vector once the last handle
//     to it is gone (Interrupt::destroy).
//
// Portable and constexpr-constructible (a ring-3 server's globals have no
// constructors to run); host-tested in msix_vectors_test.cpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pci_protocol.hpp"

namespace pci {

template<size_t Functions>
class MsixVectors {
public:
    struct Vector {
        uint16_t entry;  // in the function's MSI-X table
        uint64_t handle; // the server's own handle to the kernel's vector; 0: a free slot
    };

    // How many vectors a function whose table has `table_size` entries may hold.
    static constexpr size_t limit(uint16_t table_size)
    {
        return table_size < kMaxMsixVectorsPerFunction ? table_size : kMaxMsixVectorsPerFunction;
    }

    // The server's handle to entry `entry`'s vector; 0 if it has none.
    uint64_t find(size_t function, uint16_t entry) const
    {
        if (function >= Functions)
            return 0;
        for (const Vector& vector : m_vectors[function]) {
            if (vector.handle != 0 && vector.entry == entry)
                return vector.handle;
        }
        return 0;
    }

    // Whether one more entry of `function` may get a vector.
    bool has_room(size_t function, uint16_t table_size) const
    {
        return function < Functions && count(function) < limit(table_size);
    }

    // Entry `entry` now has the vector behind `handle` (not 0); false if
    // the function is out of range or full (has_room said so first).
    bool add(size_t function, uint16_t entry, uint64_t handle)
    {
        if (function >= Functions || handle == 0 || find(function, entry) != 0)
            return false;
        for (Vector& vector : m_vectors[function]) {
            if (vector.handle == 0) {
                vector = Vector { entry, handle };
                return true;
            }
        }
        return false;
    }

    size_t count(size_t function) const
    {
        size_t held = 0;
        if (function < Functions) {
            for (const Vector& vector : m_vectors[function])
                held += vector.handle != 0;
        }
        return held;
    }

    // Forgets every vector of `function`, after release(entry, handle) for
    // each (the server masks the entry and closes the handle).
    template<typename Release>
    void release_all(size_t function, Release&& release)
    {
        if (function >= Functions)
            return;
        for (Vector& vector : m_vectors[function]) {
            if (vector.handle == 0)
                continue;
            release(vector.entry, vector.handle);
            vector = Vector {};
        }
    }

private:
    Vector m_vectors[Functions][kMaxMsixVectorsPerFunction] {};
};

} // namespace pci
