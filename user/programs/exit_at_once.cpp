// exit_at_once: the smallest program: it returns 0 at once. The shell's
// `bench` times it from Spawn to the end of its wait (spawn_to_exit).
#include <stdint.h>

extern "C" int64_t herald_main(uint64_t) { return 0; }
