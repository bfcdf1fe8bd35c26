// FaultControl: the right to inject faults into ring-3 tasks (abi/faults.hpp,
// docs/reliability.md "Fault injection"). Two locks on it: the kernel
// command line's `faults=on` (off: every injection is NoRights, and the
// bootstrap gives the handle to nobody), and the handle itself, which the
// kernel gives init alone and init hands on to the injector. The object has
// no state; the switch is a flag set once at boot (tests flip it).
#pragma once

#include "kernel_object.hpp"

namespace herald {

class FaultControl final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::FaultControl;

    static FaultControl& the();

    // The `faults=` switch: read once at boot (kmain.cpp); the self-tests
    // turn it on and off to check that the call follows it.
    static bool enabled() { return __atomic_load_n(&s_enabled, __ATOMIC_ACQUIRE); }
    static void set_enabled(bool on) { __atomic_store_n(&s_enabled, on, __ATOMIC_RELEASE); }

private:
    FaultControl() : KernelObject(kType) { }
    void destroy() override { } // lives as long as the kernel

    static FaultControl s_the;
    static bool s_enabled;
};

inline FaultControl& fault_control() { return FaultControl::the(); }

} // namespace herald
