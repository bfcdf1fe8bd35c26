// Echo: the worked example of a libipc protocol (docs/ipc-libipc.md), used by
// the host tests and by user/programs/ipc_echo_{server,client}.cpp.
//
//   Ping     value            -> the same value          (words)
//   Sum      a, b             -> a + b, or InvalidRequest if it overflows
//   Reverse  bytes (payload)  -> the bytes reversed      (payload)
//   Echo     bytes (payload)  -> the same bytes          (payload, answered
//                                from the IPC buffer as it came: no copy in
//                                the server; the benchmarks' 4 KiB round trip)
#pragma once

#include <stdint.h>

#include "libipc/protocol.hpp"

namespace ipc::echo {

struct Ping {
    static constexpr uint32_t label = 1;
    static constexpr bool idempotent = true;
    struct Request {
        uint64_t value;
    };
    struct Reply {
        uint64_t value;
    };
};

struct Sum {
    static constexpr uint32_t label = 2;
    static constexpr bool idempotent = true;
    struct Request {
        uint64_t a;
        uint64_t b;
    };
    struct Reply {
        uint64_t sum;
    };
};

struct Reverse {
    static constexpr uint32_t label = 3;
    static constexpr bool idempotent = true;
    using Request = Bytes;
    using Reply = Bytes;
};

struct Echo {
    static constexpr uint32_t label = 4;
    using Request = Bytes;
    using Reply = Bytes;
};

using Protocol = ipc::Protocol<Ping, Sum, Reverse, Echo>;

static_assert(Protocol::is_valid);
static_assert(shape_of<Ping::Request>() == Shape::Words && shape_of<Sum::Request>() == Shape::Words);
static_assert(shape_of<Reverse::Request>() == Shape::Bytes && shape_of<Echo::Request>() == Shape::Bytes);

// The reference server: what an echo server answers. Its constructor is
// constexpr (all zeros), so a ring-3 program can keep one in .bss without a
// global constructor, which user programs cannot have.
class Service {
public:
    Result<Ping::Reply> handle(Ping, const Ping::Request& request, Badge)
    {
        ++m_requests;
        return Ping::Reply { request.value };
    }

    Result<Sum::Reply> handle(Sum, const Sum::Request& request, Badge)
    {
        ++m_requests;
        uint64_t sum;
        if (__builtin_add_overflow(request.a, request.b, &sum))
            return Error::InvalidRequest; // a typed error the client sees as such
        return Sum::Reply { sum };
    }

    // The request's bytes are in the IPC buffer, where the reply goes too:
    // reverse into a buffer of our own, which dispatch copies back.
    Result<Bytes> handle(Reverse, const Bytes& request, Badge)
    {
        ++m_requests;
        for (uint32_t i = 0; i < request.length; ++i)
            m_scratch[i] = request.data[request.length - 1 - i];
        return Bytes { m_scratch, request.length };
    }

    // The bytes are already where the reply goes.
    Result<Bytes> handle(Echo, const Bytes& request, Badge)
    {
        ++m_requests;
        return request;
    }

    uint64_t requests() const { return m_requests; }

private:
    uint64_t m_requests = 0;
    uint8_t m_scratch[kMaxPayload] = {};
};

} // namespace ipc::echo
