// The MSI message encoding (microkernel/arch/x86_64/msi.hpp): what the
// kernel tells the holder of an MSI vector to write into its device's
// MSI-X table, checked against Intel SDM Vol. 3A §11.11's layout.
#include "microkernel/arch/x86_64/msi.hpp"

#include <catch2/catch.hpp>

using namespace herald;
using namespace herald::x86;

TEST_CASE("msi: the address names the destination APIC, the data the vector", "[msi]")
{
    msi::Message message {};
    REQUIRE(msi::encode(0, 0x60, message));
    CHECK(message.address == 0xFEE0'0000);
    CHECK(message.data == 0x60);
    REQUIRE(msi::encode(3, 0x9F, message));
    CHECK(message.address == 0xFEE0'3000); // destination in bits 19-12
    CHECK(message.data == 0x9F);           // fixed delivery, edge: the vector alone
    REQUIRE(msi::encode(255, 0xFD, message));
    CHECK(message.address == 0xFEEF'F000);
    CHECK((message.address & 0xC) == 0); // RH and DM clear: physical, that CPU
}

TEST_CASE("msi: an APIC id beyond 8 bits or an exception's vector has no message", "[msi]")
{
    msi::Message message { 1, 2 };
    CHECK_FALSE(msi::encode(256, 0x60, message));
    CHECK_FALSE(msi::encode(0x1'0000, 0x60, message));
    CHECK_FALSE(msi::encode(0, 0x1F, message));
    CHECK_FALSE(msi::encode(0, 0, message));
    CHECK(message.address == 1); // untouched
    CHECK(message.data == 2);
}

TEST_CASE("msi: decode is encode's inverse and refuses other messages", "[msi]")
{
    for (u32 apic = 0; apic <= 255; apic += 17) {
        for (u32 vector = 32; vector <= 255; vector += 13) {
            msi::Message message {};
            REQUIRE(msi::encode(apic, static_cast<u8>(vector), message));
            u32 apic_out = ~0u;
            u8 vector_out = 0;
            REQUIRE(msi::decode(message, apic_out, vector_out));
            CHECK(apic_out == apic);
            CHECK(vector_out == vector);
        }
    }
    u32 apic = 0;
    u8 vector = 0;
    CHECK_FALSE(msi::decode({ 0xFED0'0000, 0x60 }, apic, vector));      // not the APIC's window
    CHECK_FALSE(msi::decode({ 0xFEE0'0004, 0x60 }, apic, vector));      // logical destination mode
    CHECK_FALSE(msi::decode({ 0xFEE0'0008, 0x60 }, apic, vector));      // redirection hint
    CHECK_FALSE(msi::decode({ 0x1'FEE0'0000, 0x60 }, apic, vector));    // above 4 GiB
    CHECK_FALSE(msi::decode({ 0xFEE0'0000, 0x8060 }, apic, vector));    // level-triggered
    CHECK_FALSE(msi::decode({ 0xFEE0'0000, 0x0160 }, apic, vector));    // lowest-priority delivery
    CHECK_FALSE(msi::decode({ 0xFEE0'0000, 0x10 }, apic, vector));      // an exception's vector
}
