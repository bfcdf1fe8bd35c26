// Host tests of ClientPolicy (ctest: host-virtio-blk): whom the virtio-blk
// driver serves, against a task list the test plays.
#include "client_policy.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <string>

using namespace virtio_blk;
using Verdict = ClientPolicy::Verdict;

namespace {

struct FakeTasks final : ClientPolicy::Tasks {
    std::map<uint64_t, std::string> running_tasks;
    int asked = 0;

    bool running(uint64_t id, char (&name)[ClientPolicy::kNameSize + 1]) override
    {
        ++asked;
        auto found = running_tasks.find(id);
        if (found == running_tasks.end())
            return false;
        std::strncpy(name, found->second.c_str(), ClientPolicy::kNameSize);
        name[ClientPolicy::kNameSize] = '\0';
        return true;
    }
};

const char* const kFatOnly[] = { "fat" };
const char* const kWithTests[] = { "fat", "blk_checks" };

} // namespace

TEST_CASE("virtio-blk serves only the allowed programs", "[virtio-blk][policy]")
{
    FakeTasks tasks;
    tasks.running_tasks = { { 7, "fat" }, { 8, "hostile_driver" }, { 9, "fatx" }, { 10, "fa" }, { 11, "blk_checks" } };
    ClientPolicy policy(kFatOnly, 1);
    CHECK(policy.check(8, tasks) == Verdict::NotAllowed);
    CHECK(policy.check(9, tasks) == Verdict::NotAllowed);  // a name that only starts like it
    CHECK(policy.check(10, tasks) == Verdict::NotAllowed); // nor one that is its start
    CHECK(policy.check(11, tasks) == Verdict::NotAllowed); // the test client, outside the test images
    CHECK(policy.check(0, tasks) == Verdict::NotAllowed);  // nobody named
    CHECK(policy.check(99, tasks) == Verdict::NotAllowed); // no such task
    CHECK(policy.check(7, tasks) == Verdict::Admitted);
    CHECK(policy.holder(0) == 7);
    CHECK(policy.check(8, tasks) == Verdict::NotAllowed); // refused still, after fat came
}

TEST_CASE("virtio-blk: an admitted client is not looked up again, nor a refused one", "[virtio-blk][policy]")
{
    FakeTasks tasks;
    tasks.running_tasks = { { 7, "fat" }, { 8, "hostile_driver" } };
    ClientPolicy policy(kFatOnly, 1);
    REQUIRE(policy.check(7, tasks) == Verdict::Admitted);
    int asked = tasks.asked;
    for (int i = 0; i < 10; ++i)
        CHECK(policy.check(7, tasks) == Verdict::Admitted);
    CHECK(tasks.asked == asked);
    CHECK(policy.check(8, tasks) == Verdict::NotAllowed);
    CHECK(tasks.asked == asked + 1);
    // A hostile client asking again and again costs one look-up, not one a
    // request (each reads the whole task list in the driver).
    for (int i = 0; i < 10; ++i)
        CHECK(policy.check(8, tasks) == Verdict::NotAllowed);
    CHECK(tasks.asked == asked + 1);
    // A task that does not run is asked about each time (it cannot start
    // later, but a failed read of the list must not refuse it for good).
    CHECK(policy.check(99, tasks) == Verdict::NotAllowed);
    CHECK(policy.check(99, tasks) == Verdict::NotAllowed);
    CHECK(tasks.asked == asked + 3);
}

TEST_CASE("virtio-blk: refusals are remembered for the last few tasks only", "[virtio-blk][policy]")
{
    FakeTasks tasks;
    for (uint64_t id = 100; id < 100 + ClientPolicy::kRefusedMemory + 1; ++id)
        tasks.running_tasks[id] = "hostile_driver";
    ClientPolicy policy(kFatOnly, 1);
    for (uint64_t id = 100; id < 100 + ClientPolicy::kRefusedMemory + 1; ++id)
        CHECK(policy.check(id, tasks) == Verdict::NotAllowed);
    int asked = tasks.asked;
    CHECK(policy.check(100, tasks) == Verdict::NotAllowed); // the oldest, forgotten: asked again
    CHECK(tasks.asked == asked + 1);
    CHECK(policy.check(100 + ClientPolicy::kRefusedMemory, tasks) == Verdict::NotAllowed); // remembered
    CHECK(tasks.asked == asked + 1);
}

TEST_CASE("virtio-blk: one task of a program holds the disk until it ends", "[virtio-blk][policy]")
{
    FakeTasks tasks;
    tasks.running_tasks = { { 7, "fat" }, { 12, "fat" }, { 11, "blk_checks" } };
    ClientPolicy policy(kWithTests, 2);
    CHECK(policy.check(7, tasks) == Verdict::Admitted);
    CHECK(policy.check(12, tasks) == Verdict::Held); // a second FAT server would undo the first's writes
    CHECK(policy.check(11, tasks) == Verdict::Admitted); // another program: its own holder
    CHECK(policy.check(7, tasks) == Verdict::Admitted);
    tasks.running_tasks.erase(7); // the first fat ended (init starts it again)
    CHECK(policy.check(12, tasks) == Verdict::Admitted);
    CHECK(policy.holder(0) == 12);
    CHECK(policy.holder(1) == 11);
    CHECK(policy.holder(2) == 0);
}

TEST_CASE("virtio-blk: without a task list nobody is admitted", "[virtio-blk][policy]")
{
    FakeTasks none; // TaskList fails: the driver got no tasks=list handle
    ClientPolicy policy(kFatOnly, 1);
    CHECK(policy.check(7, none) == Verdict::NotAllowed);
}
