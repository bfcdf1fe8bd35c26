// The file protocol (libipc/protocols/file.hpp): how each operation's
// request and reply travel (words, payload, both), the List page's packing
// and its reader's refusal of pages that lie about their lengths, and path
// checks. The server side (servers/fat) is tested in host-fat.
#include "libipc/protocol.hpp"
#include "libipc/protocols/file.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using ipc::Bytes;
using ipc::Error;
namespace file = ipc::file;

namespace {

Bytes bytes_of(const std::string& text) { return Bytes { reinterpret_cast<const uint8_t*>(text.data()), static_cast<uint32_t>(text.size()) }; }
std::string string_of(const Bytes& bytes) { return std::string(reinterpret_cast<const char*>(bytes.data), bytes.length); }

} // namespace

TEST_CASE("file protocol: every operation's shape", "[file]")
{
    using ipc::Shape;
    CHECK(ipc::shape_of<file::Open::Request>() == Shape::Bytes);
    CHECK(ipc::shape_of<file::Open::Reply>() == Shape::Words);
    CHECK(ipc::shape_of<file::Read::Request>() == Shape::Words);
    CHECK(ipc::shape_of<file::Read::Reply>() == Shape::Bytes);
    CHECK(ipc::shape_of<file::Write::Request>() == Shape::WordsAndBytes);
    CHECK(ipc::shape_of<file::Create::Request>() == Shape::WordsAndBytes);
    CHECK(ipc::shape_of<file::List::Request>() == Shape::WordsAndBytes);
    CHECK(ipc::shape_of<file::List::Reply>() == Shape::WordsAndBytes);
    CHECK(ipc::shape_of<file::Stat::Reply>() == Shape::Words);
    CHECK(ipc::shape_of<file::Sync::Request>() == Shape::Words); // Empty: no words set
}

TEST_CASE("file protocol: requests and replies round trip", "[file]")
{
    std::array<uint8_t, ipc::kMaxPayload> payload {};

    SECTION("Open: the path in the payload, {file, size} in the words")
    {
        std::string path = "/docs/readme.txt";
        auto message = ipc::encode(file::Open::label, bytes_of(path), payload.data());
        REQUIRE_FALSE(message.is_error());
        CHECK(message.value().payload_length == path.size());
        CHECK(string_of(ipc::decode<Bytes>(message.value(), payload.data()).value()) == path);
        auto reply = ipc::encode(file::Open::label, file::Open::Reply { 0x102, 12345 }, payload.data());
        auto decoded = ipc::decode_reply<file::Open>(reply.value(), payload.data());
        REQUIRE_FALSE(decoded.is_error());
        CHECK(decoded.value().file == 0x102);
        CHECK(decoded.value().size == 12345);
    }

    SECTION("Read: three words out, up to 4096 bytes back")
    {
        auto message = ipc::encode(file::Read::label, file::Read::Request { 7, 1 << 20, 4096 }, payload.data());
        CHECK(message.value().words[0] == 7);
        CHECK(message.value().words[1] == 1 << 20);
        CHECK(message.value().words[2] == 4096);
        CHECK(message.value().payload_length == 0);
        std::string data(ipc::kMaxPayload, 'r');
        auto reply = ipc::encode(file::Read::label, bytes_of(data), payload.data());
        REQUIRE_FALSE(reply.is_error());
        CHECK(string_of(ipc::decode_reply<file::Read>(reply.value(), payload.data()).value()) == data);
        std::string too_much(ipc::kMaxPayload + 1, 'r');
        CHECK(ipc::encode(file::Read::label, bytes_of(too_much), payload.data()).error() == Error::BadLength);
    }

    SECTION("Write: {file, offset} in the words, the data in the payload")
    {
        std::string data(ipc::kMaxPayload, 'w');
        auto message = ipc::encode(file::Write::label, file::Write::Request { { 3, 8192 }, bytes_of(data) }, payload.data());
        REQUIRE_FALSE(message.is_error());
        CHECK(message.value().words[0] == 3);
        CHECK(message.value().words[1] == 8192);
        CHECK(message.value().payload_length == ipc::kMaxPayload);
        auto request = ipc::decode<file::Write::Request>(message.value(), payload.data());
        REQUIRE_FALSE(request.is_error());
        CHECK(request.value().fixed.file == 3);
        CHECK(request.value().fixed.offset == 8192);
        CHECK(string_of(request.value().bytes) == data);
        // A message with a handle is not a Write.
        auto with_handle = message.value();
        with_handle.transfer_handle = true;
        CHECK(ipc::decode<file::Write::Request>(with_handle, payload.data()).error() == Error::BadMessage);
    }

    SECTION("Create, Delete, Stat, Sync, Truncate, Close")
    {
        auto create = ipc::encode(file::Create::label, file::Create::Request { { file::kDirectory }, bytes_of("/NEW") }, payload.data());
        auto request = ipc::decode<file::Create::Request>(create.value(), payload.data());
        CHECK(request.value().fixed.kind == file::kDirectory);
        CHECK(string_of(request.value().bytes) == "/NEW");

        auto stat = ipc::encode(file::Stat::label, file::Stat::Reply { 42, 0, 0x20, 0x21, 0 }, payload.data());
        auto decoded = ipc::decode_reply<file::Stat>(stat.value(), payload.data());
        CHECK(decoded.value().size == 42);
        CHECK(decoded.value().attributes == 0x20);
        CHECK(decoded.value().date == 0x21);

        auto sync = ipc::encode(file::Sync::label, ipc::Empty {}, payload.data());
        CHECK(sync.value().payload_length == 0);
        CHECK_FALSE(ipc::decode_reply<file::Sync>(sync.value(), payload.data()).is_error());

        auto truncate = ipc::encode(file::Truncate::label, file::Truncate::Request { 9, 100 }, payload.data());
        CHECK(ipc::decode<file::Truncate::Request>(truncate.value(), payload.data()).value().size == 100);
        auto close = ipc::encode(file::Close::label, file::FileId { 9 }, payload.data());
        CHECK(ipc::decode<file::FileId>(close.value(), payload.data()).value().file == 9);
    }

    SECTION("the protocol's errors travel as themselves")
    {
        for (Error error : { file::kNoSpace, file::kCorrupt, file::kNoVolume, Error::NotFound }) {
            auto reply = ipc::make_error_reply(error, file::Write::label);
            auto decoded = ipc::decode_reply<file::Write>(reply, payload.data());
            REQUIRE(decoded.is_error());
            CHECK(decoded.error() == error);
            CHECK(std::string(file::error_text(error)).size() > 5);
        }
        CHECK(std::string(file::error_text(file::kNoSpace)) == "no space left on the disk");
    }
}

TEST_CASE("file protocol: List pages pack entries and refuse lying lengths", "[file]")
{
    std::array<uint8_t, ipc::kMaxPayload> page {};
    size_t used = 0;
    std::vector<std::string> names = { "README.TXT", "a long name.text", "sub" };
    for (size_t i = 0; i < names.size(); ++i) {
        file::ListEntryHeader header { static_cast<uint32_t>(100 * i), static_cast<uint8_t>(i == 2), 0x20, 0 };
        REQUIRE(file::append_entry(page.data(), page.size(), used, header, names[i].data(), names[i].size()));
    }
    CHECK(used == 3 * sizeof(file::ListEntryHeader) + 10 + 16 + 3);

    file::ListReader reader(Bytes { page.data(), static_cast<uint32_t>(used) });
    file::ListEntryHeader header {};
    const char* name = nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
        REQUIRE(reader.next(header, name));
        CHECK(std::string(name, header.name_length) == names[i]);
        CHECK(header.size == 100 * i);
        CHECK(header.is_directory == (i == 2));
    }
    CHECK_FALSE(reader.next(header, name));
    CHECK_FALSE(reader.malformed());

    // Full: an entry that does not fit is not added, and nothing is half-written.
    std::string long_name(200, 'x');
    size_t small_used = 0;
    std::array<uint8_t, 100> small {};
    CHECK_FALSE(file::append_entry(small.data(), small.size(), small_used, {}, long_name.data(), long_name.size()));
    CHECK(small_used == 0);
    CHECK_FALSE(file::append_entry(page.data(), page.size(), used, {}, "", 0));
    CHECK_FALSE(file::append_entry(page.data(), page.size(), used, {}, std::string(300, 'y').data(), 300));

    // A page cut short, or whose entry claims more name than the page has.
    for (uint32_t cut : { 3u, 9u, static_cast<uint32_t>(used) - 1 }) {
        INFO("cut at " << cut);
        file::ListReader shortened(Bytes { page.data(), cut });
        while (shortened.next(header, name)) { }
        CHECK(shortened.malformed());
    }
    file::ListEntryHeader liar { 0, 0, 0, 4000 };
    std::memcpy(page.data(), &liar, sizeof liar);
    file::ListReader lying(Bytes { page.data(), static_cast<uint32_t>(used) });
    CHECK_FALSE(lying.next(header, name));
    CHECK(lying.malformed());
}

TEST_CASE("file protocol: paths", "[file]")
{
    CHECK(string_of(file::path_bytes("/a/b.txt").value()) == "/a/b.txt");
    CHECK(file::path_bytes("").error() == Error::InvalidRequest);
    CHECK(file::path_bytes(nullptr).error() == Error::InvalidRequest);
    CHECK(file::path_bytes(std::string(file::kMaxPathLength, 'p').c_str()).value().length == file::kMaxPathLength);
    CHECK(file::path_bytes(std::string(file::kMaxPathLength + 1, 'p').c_str()).error() == Error::InvalidRequest);
}
