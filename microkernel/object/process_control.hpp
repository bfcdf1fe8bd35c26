// ProcessControl: the right to create tasks. The loader holds it (the
// kernel grants it at bootstrap; the loader built into the kernel uses the
// object directly). A task it creates has an empty address space, its
// standard handles and no thread yet: the caller gets a TaskObject
// (task_object.hpp) to fill it through and start it.
#pragma once

#include "../lib/error.hpp"
#include "../lib/string_view.hpp"
#include "kernel_object.hpp"
#include "task_object.hpp"

namespace herald {

class ProcessControl final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::ProcessControl;
    static constexpr usize kMaxNameLength = 31; // Task::name holds 32 bytes with the terminator

    // TaskCreate: a task named `name` (1 to kMaxNameLength bytes); the caller
    // holds the one reference (the task goes with it if never started).
    // NoMemory (OutOfMemory), or BadLength for the name.
    ErrorOr<Ref<TaskObject>> create_task(StringView name);

    static ProcessControl& the();

private:
    ProcessControl() : KernelObject(kType) { }
    void destroy() override { } // lives as long as the kernel

    static ProcessControl s_the;
};

inline ProcessControl& process_control() { return ProcessControl::the(); }

} // namespace herald
