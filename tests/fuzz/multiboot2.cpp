// Fuzzes the Multiboot2 boot information parser (microkernel/boot/multiboot2.cpp).
//
// Input: the boot information block. It is parsed as given, then again
// with total_size set to the input's size (the kernel caps the block it
// reads to total_size, so that is what real calls see), so that the fuzzer
// spends its time on the tags rather than on matching the size.
#include "boot_info_checks.hpp"
#include "microkernel/boot/multiboot2.hpp"

#include <memory>

using namespace herald;

namespace {

void parse(const u8* bytes, size_t size)
{
    auto info = std::make_unique<BootInfo>();
    auto result = parse_multiboot2(ByteReader(bytes, size), *info);
    fuzz::check_boot_info(*info);
    if (!result.is_error()) {
        FUZZ_CHECK(info->protocol == BootProtocol::Multiboot2);
        FUZZ_CHECK(fuzz::load<u32>(bytes, size, 0) == size);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    // An exact-size heap copy: 8-byte aligned as the block must be (§3.6.1),
    // and the sanitizer catches a read past its end.
    std::unique_ptr<u8[]> block(new u8[size ? size : 1]);
    if (size)
        std::memcpy(block.get(), data, size);
    FUZZ_CHECK(reinterpret_cast<uintptr_t>(block.get()) % 8 == 0);
    parse(block.get(), size);
    if (size >= 4 && fuzz::load<u32>(block.get(), size, 0) != size) {
        fuzz::store<u32>(block.get(), size, 0, static_cast<u32>(size));
        parse(block.get(), size);
    }
    return 0;
}
