// SystemControl: the right to power the machine off (SystemShutdown). Only
// init holds it (granted at bootstrap). Holding it is the whole right: the
// object has no state.
#pragma once

#include "kernel_object.hpp"

namespace herald {

class SystemControl final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::SystemControl;

    // ACPI S5, else QEMU's isa-debug-exit, else halt (power.hpp).
    [[noreturn]] void shutdown();

    static SystemControl& the();

private:
    SystemControl() : KernelObject(kType) { }
    void destroy() override { } // lives as long as the kernel

    static SystemControl s_the;
};

inline SystemControl& system_control() { return SystemControl::the(); }

} // namespace herald
