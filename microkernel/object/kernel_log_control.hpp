// KernelLogControl: the right to take lines out of the kernel log's ring
// (LogRead). The console server holds it (granted at bootstrap): once it
// runs, it prints the kernel log (kernel_log.cpp).
#pragma once

#include "kernel_object.hpp"

namespace herald {

class KernelLogControl final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::KernelLog;

    // Whole lines, at most `max` bytes of them (log.hpp: kernel_log_take).
    usize take_lines(char* out, usize max);

    static KernelLogControl& the();

private:
    KernelLogControl() : KernelObject(kType) { }
    void destroy() override { } // lives as long as the kernel

    static KernelLogControl s_the;
};

inline KernelLogControl& kernel_log_control() { return KernelLogControl::the(); }

} // namespace herald
