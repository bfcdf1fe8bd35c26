// The image's placement, from what it was linked with (services.hpp).
#include "services.hpp"

#include "../log.hpp"
#include "../pager/pager.hpp"

namespace herald {

const char* server_name(Server server)
{
    switch (server) {
    case Server::Memory: return "memory";
    case Server::Loader: return "loader";
    case Server::Console: return "console";
    }
    return "?";
}

bool server_in_kernel(Server server)
{
    switch (server) {
    case Server::Memory: return pager_in_kernel();
    case Server::Loader: return loader_in_kernel();
    case Server::Console: return console_in_kernel();
    }
    return false;
}

Ref<KernelObject> server_client_object(Server server)
{
    switch (server) {
    case Server::Memory: return pager_client_object();
    case Server::Loader: return loader_client_object();
    case Server::Console: return console_client_object();
    }
    return {};
}

const char* placement_name()
{
    bool memory = pager_in_kernel();
    bool loader = loader_in_kernel();
    bool console = console_in_kernel();
    if (!memory && !loader && !console)
        return "microkernel";
    if (memory && loader && console)
        return "monolithic";
    if (memory && !loader && !console)
        return "memory-in-kernel";
    if (!memory && loader && !console)
        return "loader-in-kernel";
    if (!memory && !loader && console)
        return "console-in-kernel";
    return "mixed";
}

void log_placement()
{
    auto ring = [](Server server) { return server_in_kernel(server) ? 0 : 3; };
    klog("herald: placement {}: memory in ring {}, loader in ring {}, console in ring {}", placement_name(),
        ring(Server::Memory), ring(Server::Loader), ring(Server::Console));
}

} // namespace herald
