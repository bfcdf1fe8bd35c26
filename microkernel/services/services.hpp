// Where each of Herald's servers runs (docs/placement.md): in ring 3, as a
// task reached through an endpoint, or built into the kernel, the same
// portable service class answering Calls in the caller's thread (a
// KernelService). Chosen when an image is linked: each server is one of two
// libraries (cmake/HeraldKernel.cmake, herald_placement):
//
//   memory   memory_server.cpp   or memory_in_kernel.cpp   (interface: pager/pager.hpp)
//   loader   loader_server.cpp   or loader_in_kernel.cpp
//   console  console_server.cpp  or console_in_kernel.cpp
//
// Programs cannot tell: they reach the memory service through
// abi::HandleMemory and the loader and console through the registry, and
// speak the same protocols either way.
#pragma once

#include "../lib/types.hpp"
#include "../object/kernel_object.hpp"

namespace herald {

class KernelObject;
class Endpoint;
class TaskObject;
struct SpawnOptions;

// ---- the console (libipc/protocols/console.hpp) ----

bool console_in_kernel();
// Bootstrap, first (before the registry): in ring 0 the service starts
// (COM1's input interrupt comes to it) and is returned, a reference for the
// registry to publish as "console"; in ring 3, nullptr.
Ref<KernelObject> console_start_in_kernel();
// Bootstrap, after the registry: in ring 3 the console server starts from
// the boot archive (its task id, 0 if it could not); in ring 0, 0.
u64 console_start_server();

// ---- the loader (libipc/protocols/loader.hpp) ----

bool loader_in_kernel();
Ref<KernelObject> loader_start_in_kernel(); // as for the console, published as "loader"
u64 loader_start_server();

// ---- all of them ----

enum class Server : u8 { Memory, Loader, Console };
const char* server_name(Server server); // "memory", "loader", "console"
bool server_in_kernel(Server server);

// What a client's Call reaches: the server's endpoint (ring 3) or the
// service (ring 0), a reference for the caller; null if there is none (not
// started yet, or it could not start). For fault injection
// (fault_injection.hpp).
Ref<KernelObject> server_client_object(Server server);
Ref<KernelObject> console_client_object();
Ref<KernelObject> loader_client_object();

// The placement this image was linked with: "microkernel" (every server in
// ring 3), "memory-in-kernel", "loader-in-kernel", "console-in-kernel",
// "monolithic" (all three in ring 0), or "mixed" for any other mix.
const char* placement_name();
// The boot log's line: `herald: placement <name>: memory in ring <0|3>, ...`.
void log_placement();

// For the ring-3 halves (bootstrap.cpp): starts boot program `name` with
// `options`, its endpoint (if any) at kServerEndpointHandle with `rights`;
// its task id, or 0 after a log line saying why not. With `object`: a
// reference to the task's capability too (spawn_program).
u64 start_boot_server(const char* name, SpawnOptions& options, Endpoint* endpoint, u32 rights,
    Ref<TaskObject>* object = nullptr);

// ---- restarting the ring-3 servers the kernel starts (boot_servers.cpp) ----

// console_start_server() and loader_start_server() say here which task now
// serves; ServerTask (abi/task.hpp) hands it to the supervisor, and starts
// the server again (console_start_server() or loader_start_server() once
// more) when that task has ended.
enum class BootServerSlot : u8 { Console = 0, Loader = 1 };
void boot_server_started(BootServerSlot server, Ref<TaskObject> task);

} // namespace herald
