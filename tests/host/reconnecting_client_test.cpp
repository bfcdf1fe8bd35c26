// ipc::ReconnectingClient (libipc/reconnecting_client.hpp) and the heartbeat
// (ipc::ping, answered by ipc::dispatch), over the FakeTransport: a registry
// that knows one name, "echo", and an echo server that can end and be
// started again with a fresh endpoint, as its supervisor does
// (docs/reliability.md). A call to an endpoint whose server has ended fails
// with PeerGone, as the kernel's does.
#include "libipc/protocols/console.hpp"
#include "libipc/protocols/echo.hpp"
#include "libipc/protocols/loader.hpp"
#include "libipc/protocols/registry.hpp"
#include "libipc/reconnecting_client.hpp"
#include "libipc/testing/fake_transports.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <optional>
#include <string>

using ipc::Error;
using ipc::Message;
namespace echo = ipc::echo;
namespace registry = ipc::registry;
using ipc::testing::FakeTransport;

namespace {

constexpr ipc::Handle kRegistry = herald::abi::HandleRegistry;
constexpr uint64_t kEndpointObject = 0xE000; // + the server's generation

// The world the client lives in: the registry, and the server's life.
class RestartingEcho {
public:
    RestartingEcho()
    {
        transport.set_server([this](const Message& request, uint8_t* payload) {
            Message reply;
            if (transport.last_endpoint == kRegistry) {
                ++lookups;
                ipc::dispatch<registry::Protocol>(request, payload, m_registry, reply);
            } else {
                ++answered;
                ipc::dispatch<echo::Protocol>(request, payload, service, reply);
            }
            return reply;
        });
        transport.refuse_call = [this](ipc::Handle endpoint) -> std::optional<Error> {
            if (endpoint == kRegistry)
                return std::nullopt;
            ++server_calls;
            if (end_at_every_call) {
                end();
                restart();
                return Error::PeerGone;
            }
            auto object = transport.client_handles.object(endpoint);
            if (!object)
                return Error::BadHandle;
            if (!running || *object != kEndpointObject + generation)
                return Error::PeerGone; // the endpoint of a server that ended
            return std::nullopt;
        };
    }

    void end() { running = false; }
    void restart()
    {
        ++generation;
        running = true;
    }

    FakeTransport transport { nullptr };
    echo::Service service {};
    uint64_t generation = 1;
    bool running = true;
    bool end_at_every_call = false;
    int lookups = 0;
    int server_calls = 0; // calls to the server's endpoints, answered or not
    int answered = 0;     // calls a server answered

private:
    // Lookup("echo") -> a copy of the running server's endpoint.
    struct Registry {
        RestartingEcho* world;
        ipc::Result<ipc::WithHandle<>> handle(registry::Lookup, const registry::Name& name, ipc::Badge)
        {
            if (!world->running || std::string(name.bytes) != "echo")
                return Error::NotFound;
            return ipc::WithHandle<> { {}, world->transport.server_handles.add(kEndpointObject + world->generation) };
        }
        ipc::Result<ipc::Empty> handle(registry::Register, const registry::Register::Request&, ipc::Badge) { return Error::Denied; }
        ipc::Result<ipc::Empty> handle(registry::Reserve, const registry::Reserve::Request&, ipc::Badge) { return Error::Denied; }
        ipc::Result<registry::ReservedFor::Reply> handle(registry::ReservedFor, const registry::Name&, ipc::Badge)
        {
            return Error::NotFound;
        }
    };
    Registry m_registry { this };
};

using EchoClient = ipc::ReconnectingClient<echo::Protocol>;

} // namespace

static_assert(ipc::is_idempotent<echo::Ping> && ipc::is_idempotent<echo::Reverse>);
static_assert(!ipc::is_idempotent<echo::Echo>);
static_assert(ipc::is_idempotent<ipc::loader::ReadFile> && !ipc::is_idempotent<ipc::loader::Spawn>
    && !ipc::is_idempotent<ipc::loader::Kill>);
static_assert(!ipc::is_idempotent<ipc::console::Write> && ipc::is_idempotent<ipc::console::Read>);

TEST_CASE("reconnecting client: an idempotent call reaches the restarted server", "[libipc][reconnect]")
{
    RestartingEcho world;
    EchoClient client(world.transport, kRegistry, "echo");
    CHECK(client.endpoint() == herald::abi::HandleNone); // nothing looked up before the first call

    auto first = client.call<echo::Ping>({ 7 });
    REQUIRE_FALSE(first.is_error());
    CHECK(first.value().value == 7);
    CHECK(world.lookups == 1);
    ipc::Handle old_endpoint = client.endpoint();
    CHECK(world.transport.client_handles.object(old_endpoint) == kEndpointObject + 1);

    world.end();
    world.restart();
    auto second = client.call<echo::Ping>({ 8 });
    REQUIRE_FALSE(second.is_error());
    CHECK(second.value().value == 8);
    CHECK(world.lookups == 2);             // looked up again
    CHECK(client.reconnects() == 1);
    CHECK(world.server_calls == 3);        // 7; 8 refused by the old endpoint; 8 again
    CHECK(world.answered == 2);
    CHECK(world.transport.client_handles.object(client.endpoint()) == kEndpointObject + 2);
    REQUIRE(world.transport.client_handles.closed.size() == 1); // the dead server's handle went
    CHECK(world.transport.client_handles.closed[0] == old_endpoint);

    SECTION("no restart in between: no lookup either")
    {
        REQUIRE_FALSE(client.call<echo::Reverse>(ipc::Bytes { reinterpret_cast<const uint8_t*>("ab"), 2 }).is_error());
        CHECK(world.lookups == 2);
        CHECK(client.reconnects() == 1);
    }
}

TEST_CASE("reconnecting client: it waits for the restarted server to publish its name", "[libipc][reconnect]")
{
    RestartingEcho world;
    EchoClient client(world.transport, kRegistry, "echo");
    REQUIRE_FALSE(client.call<echo::Ping>({ 1 }).is_error());

    world.end(); // ended; its supervisor starts it again a while later
    int sleeps_to_restart = 5;
    world.transport.on_sleep = [&] {
        if (--sleeps_to_restart == 0)
            world.restart();
    };
    auto answer = client.call<echo::Sum>({ 2, 3 });
    REQUIRE_FALSE(answer.is_error());
    CHECK(answer.value().sum == 5);
    CHECK(world.transport.sleeps == 5);
    CHECK(world.transport.yields == static_cast<int>(registry::kYieldingRetries));
    CHECK(client.reconnects() == 1);
}

TEST_CASE("reconnecting client: a call that is not idempotent gets ServerRestarted, and is not sent again",
    "[libipc][reconnect]")
{
    RestartingEcho world;
    EchoClient client(world.transport, kRegistry, "echo");
    const uint8_t text[] = { 'h', 'i' };
    REQUIRE_FALSE(client.call<echo::Echo>(ipc::Bytes { text, 2 }).is_error());

    world.end();
    world.restart();
    int calls_before = world.transport.calls;
    CHECK(client.call<echo::Echo>(ipc::Bytes { text, 2 }).error() == Error::ServerRestarted);
    CHECK(world.transport.calls - calls_before == 1); // the refused call only: no lookup, no second try
    CHECK(world.answered == 1);
    CHECK(client.endpoint() == herald::abi::HandleNone); // dropped
    CHECK(std::string(ipc::error_name(Error::ServerRestarted)) == "server restarted during the call");

    // The next call finds the new server.
    auto again = client.call<echo::Echo>(ipc::Bytes { text, 2 });
    REQUIRE_FALSE(again.is_error());
    CHECK(again.value().length == 2);
    CHECK(world.lookups == 2);
    CHECK(client.reconnects() == 1);
}

TEST_CASE("reconnecting client: a ping first finds a stale handle before a call that is not idempotent",
    "[libipc][reconnect]")
{
    RestartingEcho world;
    EchoClient client(world.transport, kRegistry, "echo");
    client.ping_before_unsafe_calls(true);
    const uint8_t text[] = { 'o', 'k' };
    REQUIRE_FALSE(client.call<echo::Echo>(ipc::Bytes { text, 2 }).is_error()); // no handle yet: no ping
    CHECK(world.server_calls == 1);
    REQUIRE_FALSE(client.call<echo::Ping>({ 3 }).is_error()); // idempotent: no ping before it
    CHECK(world.server_calls == 2);

    world.end();
    world.restart();
    auto echoed = client.call<echo::Echo>(ipc::Bytes { text, 2 });
    REQUIRE_FALSE(echoed.is_error()); // the ping failed, not the Echo
    CHECK(world.server_calls == 4);   // the failed ping, the Echo to the new server
    CHECK(client.reconnects() == 1);
    CHECK(world.service.requests() == 3);

    REQUIRE_FALSE(client.call<echo::Echo>(ipc::Bytes { text, 2 }).is_error());
    CHECK(world.server_calls == 6); // a live server: the ping, then the Echo
}

TEST_CASE("reconnecting client: gives up after N tries on a server that keeps ending", "[libipc][reconnect]")
{
    RestartingEcho world;
    world.end_at_every_call = true;
    uint32_t tries = GENERATE(1u, 2u, ipc::kDefaultCallTries, 5u);
    EchoClient client(world.transport, kRegistry, "echo", tries);
    CHECK(client.call<echo::Ping>({ 1 }).error() == Error::PeerGone);
    CHECK(world.server_calls == static_cast<int>(tries)); // exactly N calls
    CHECK(world.lookups == static_cast<int>(tries));      // each to a server found afresh
    CHECK(world.answered == 0);
    CHECK(client.endpoint() == herald::abi::HandleNone);
    CHECK(world.transport.client_handles.closed.size() == tries); // no handle left behind

    world.end_at_every_call = false;
    REQUIRE_FALSE(client.call<echo::Ping>({ 2 }).is_error()); // and it works once the server stays
}

TEST_CASE("reconnecting client: no server comes back: NotFound once the patience is spent", "[libipc][reconnect]")
{
    RestartingEcho world;
    constexpr uint32_t kPatienceMs = 100;
    EchoClient client(world.transport, kRegistry, "echo", ipc::kDefaultCallTries, kPatienceMs);
    REQUIRE_FALSE(client.call<echo::Ping>({ 1 }).is_error());
    world.end();
    CHECK(client.call<echo::Ping>({ 2 }).error() == Error::NotFound);
    CHECK(world.transport.slept_ms == kPatienceMs);
    CHECK(world.server_calls == 2); // the answered one and the refused one
}

TEST_CASE("reconnecting client: the server's own errors are answers, never retried", "[libipc][reconnect]")
{
    RestartingEcho world;
    EchoClient client(world.transport, kRegistry, "echo");
    CHECK(client.call<echo::Sum>({ ~0ull, 1 }).error() == Error::InvalidRequest);
    CHECK(world.server_calls == 1);
    CHECK(world.lookups == 1);
    CHECK(client.endpoint() != herald::abi::HandleNone); // kept

    SECTION("a handle that is not ours is not a restart either")
    {
        world.transport.refuse_call = [](ipc::Handle) -> std::optional<Error> { return Error::BadHandle; };
        CHECK(client.call<echo::Ping>({ 1 }).error() == Error::BadHandle);
        CHECK(world.lookups == 1);
    }
}

TEST_CASE("heartbeat: dispatch answers a Ping for every protocol, and nothing else changes", "[libipc][reconnect]")
{
    RestartingEcho world;
    EchoClient client(world.transport, kRegistry, "echo");
    REQUIRE_FALSE(client.ping().is_error());
    CHECK(world.answered == 1);
    CHECK(world.service.requests() == 0); // the loop answered, not the handler
    CHECK(world.transport.last_request.label == ipc::kPingLabel);

    // A label next to it is still unknown.
    ipc::Handle endpoint = client.endpoint();
    Message unknown = ipc::make_message(ipc::kPingLabel - 1);
    auto reply = world.transport.call(endpoint, unknown);
    REQUIRE_FALSE(reply.is_error());
    CHECK(ipc::decode_error_reply(reply.value(), ipc::kPingLabel - 1) == Error::UnknownLabel);

    SECTION("a server that ended: the ping fails, and is not sent again")
    {
        world.end();
        world.restart();
        int calls_before = world.server_calls;
        CHECK(client.ping().error() == Error::PeerGone);
        CHECK(world.server_calls - calls_before == 1);
        CHECK(client.endpoint() == herald::abi::HandleNone);
        REQUIRE_FALSE(client.ping().is_error()); // the next one looks the name up
        CHECK(client.reconnects() == 1);
    }
    SECTION("a reply that is not a Ping's is refused")
    {
        world.transport.set_server([](const Message&, uint8_t*) { return ipc::make_message(1); });
        CHECK(ipc::ping(world.transport, endpoint).error() == Error::BadMessage);
    }
}
