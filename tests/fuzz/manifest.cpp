// Fuzzes init's manifest parser (user/init/manifest.cpp).
//
// Input: the text of init.manifest. Every entry it yields must be one init
// can start (a valid name, a known policy), and the errors must name the
// lines they are on, one per line, in order.
#include "fuzz.hpp"
#include "user/init/manifest.hpp"

#include <memory>

using namespace herald;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    constexpr size_t kMaxErrors = 8;
    auto manifest = std::make_unique<init::Manifest>();
    init::ManifestError errors[kMaxErrors] {};
    const char* text = reinterpret_cast<const char*>(data);
    size_t error_count = init::parse_manifest(size ? text : nullptr, size, *manifest, errors, kMaxErrors);

    size_t lines = 1;
    for (size_t i = 0; i < size; ++i)
        lines += data[i] == '\n';
    FUZZ_CHECK(error_count <= lines);
    FUZZ_CHECK(manifest->count() <= init::kMaxEntries);
    FUZZ_CHECK(manifest->count() + error_count <= lines);
    for (size_t i = 0; i < manifest->count(); ++i) {
        const init::ManifestEntry& entry = (*manifest)[i];
        FUZZ_CHECK(fuzz::terminated(entry.name, sizeof entry.name));
        FUZZ_CHECK(init::is_valid_program_name(entry.name));
        FUZZ_CHECK(entry.on_exit == init::OnExit::Ignore || entry.on_exit == init::OnExit::Restart
            || entry.on_exit == init::OnExit::Halt || entry.on_exit == init::OnExit::Never);
        for (size_t j = strnlen(entry.name, sizeof entry.name); j < sizeof entry.name; ++j)
            FUZZ_CHECK(entry.name[j] == '\0'); // zero-filled, as the header promises
        const init::DeviceGrant& grant = entry.grant;
        FUZZ_CHECK(grant.port_count <= init::kMaxGrants && grant.irq_count <= init::kMaxGrants
            && grant.function_count <= init::kMaxGrants);
        for (size_t j = 0; j < grant.port_count; ++j)
            FUZZ_CHECK(grant.ports[j].first <= grant.ports[j].last);
    }
    for (size_t i = 0; i < error_count && i < kMaxErrors; ++i) {
        FUZZ_CHECK(errors[i].reason != nullptr);
        FUZZ_CHECK(errors[i].line >= 1 && errors[i].line <= lines);
        if (i > 0)
            FUZZ_CHECK(errors[i].line > errors[i - 1].line);
    }
    // Without room for errors, the same parse and the same count.
    auto again = std::make_unique<init::Manifest>();
    FUZZ_CHECK(init::parse_manifest(size ? text : nullptr, size, *again, nullptr, 0) == error_count);
    FUZZ_CHECK(again->count() == manifest->count());
    FUZZ_CHECK(std::memcmp(again->entries, manifest->entries, sizeof manifest->entries) == 0);
    return 0;
}
