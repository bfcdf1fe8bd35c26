// IoPortRange: the right to use I/O ports first..last from ring 3
// (docs/drivers.md). The root covers all 65,536 ports; only bootstrap holds
// it (and the test image's runner). A holder can restrict a handle to a
// sub-range (a new object: narrowing never widens) and pass it on like any
// handle; the holder that enables it (IoPortEnable) gets the ports opened in
// its own TSS I/O permission bitmap (x86::IoPortSet, loaded at every
// switch), so `in`/`out` on them work and every other port still raises
// #GP. Enabled ports stay open until the task ends: closing the handle does
// not take them back (the task could have handed the device to no one
// else meanwhile anyway; revoking needs an IPI to every CPU running it).
#pragma once

#include "../lib/error.hpp"
#include "kernel_object.hpp"

namespace herald {

struct Task;

class IoPortRange final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::IoPortRange;
    static constexpr u64 kLastPort = 0xFFFF;

    // Every port: the kernel's, handed out at bootstrap only.
    static IoPortRange& root();

    u16 first() const { return m_first; }
    u16 last() const { return m_last; }

    // A new object for [first, last]: BadArgument if first > last,
    // NotGranted if it is not inside this one, OutOfMemory.
    ErrorOr<Ref<IoPortRange>> restrict(u64 first, u64 last) const;

    // Opens the ports for `task`, which must be the caller's own (its
    // IoPortSet is changed only by its thread). TooMany: the task has
    // x86::IoPortSet::kMaxRanges ranges open already.
    ErrorOr<void> enable_for(Task& task) const;

private:
    IoPortRange(u16 first, u16 last) : KernelObject(kType), m_first(first), m_last(last) { }
    void destroy() override;

    u16 m_first;
    u16 m_last;
    static IoPortRange s_root;
};

} // namespace herald
