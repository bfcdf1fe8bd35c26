// KernelService: an object whose Calls the kernel answers itself, at once,
// in the caller's thread: no server task, no switch. A monolithic build
// serves the memory protocol so (mm/pager_in_kernel.cpp), and programs stay
// the same in both builds: they call abi::HandleMemory either way.
// Only Call works on it, with words only (no payload). A handle "sent"
// along is not copied: word 7 keeps the caller's own handle index, which the
// service looks up in the caller's table.
#pragma once

#include "../task/thread.hpp"
#include "kernel_object.hpp"

namespace herald {

class KernelService : public KernelObject {
public:
    // The reply to `request` (whose badge is that of the caller's handle).
    virtual IpcMessage call(Thread& caller, const IpcMessage& request) = 0;

protected:
    KernelService() : KernelObject(ObjectType::KernelService) { }
    ~KernelService() = default;
    void destroy() override { } // services live as long as the kernel
};

} // namespace herald
