// Clang's thread-safety annotations (-Wthread-safety, on for the kernel):
// a SpinLock is a capability, a field GUARDED_BY(lock) may only be touched
// with that lock held, and the compiler checks it at every access. Other
// compilers (the host tests' g++) see nothing.
// https://clang.llvm.org/docs/ThreadSafetyAnalysis.html
#pragma once

#if defined(__clang__)
#    define HERALD_TSA(x) __attribute__((x))
#else
#    define HERALD_TSA(x)
#endif

#define CAPABILITY(name) HERALD_TSA(capability(name))
#define SCOPED_CAPABILITY HERALD_TSA(scoped_lockable)
#define GUARDED_BY(lock) HERALD_TSA(guarded_by(lock))
#define PT_GUARDED_BY(lock) HERALD_TSA(pt_guarded_by(lock))
#define REQUIRES(...) HERALD_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) HERALD_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) HERALD_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) HERALD_TSA(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) HERALD_TSA(locks_excluded(__VA_ARGS__))
// For the few accesses the analysis cannot follow; each says why at its use.
#define NO_THREAD_SAFETY_ANALYSIS HERALD_TSA(no_thread_safety_analysis)
