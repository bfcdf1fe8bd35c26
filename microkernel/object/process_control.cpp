#include "process_control.hpp"

#include "../mm/address_space.hpp"
#include "../task/program_loader.hpp"
#include "../task/task.hpp"
#include "task_object.hpp"

namespace herald {

ProcessControl ProcessControl::s_the;

ProcessControl& ProcessControl::the() { return s_the; }

ErrorOr<Ref<TaskObject>> ProcessControl::create_task(StringView name)
{
    if (name.is_empty() || name.length() > kMaxNameLength)
        return Error::BadLength;
    AddressSpace* space = HERALD_TRY(AddressSpace::create());
    auto task = herald::create_task(name, space); // the task table's, not this method
    if (task.is_error()) {
        space->destroy();
        return Error::OutOfMemory;
    }
    Ref<TaskObject> object = install_standard_handles(*task.value()).is_error() ? Ref<TaskObject>() : TaskObject::create(*task.value());
    if (!object) {
        discard_task(*task.value());
        space->destroy();
        return Error::OutOfMemory;
    }
    return object;
}

} // namespace herald
