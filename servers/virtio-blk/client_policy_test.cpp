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
    std::map<std::string, uint64_t> inits; // the registry's reservations: program -> the task init named
    int asked = 0;
    int asked_registry = 0;

    uint64_t started_by_init(const char* program) override
    {
        ++asked_registry;
        auto found = inits.find(program);
        return found == inits.end() ? 0 : found->second;
    }

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

const ClientPolicy::Program kFatOnly[] = { { "fat", true } };
const ClientPolicy::Program kWithTests[] = { { "fat", true }, { "blk_checks", false } };
// As before init's reservation was asked: any task running fat.
const ClientPolicy::Program kFatByName[] = { { "fat", false }, { "blk_checks", false } };

} // namespace

TEST_CASE("virtio-blk serves only the allowed programs", "[virtio-blk][policy]")
{
    FakeTasks tasks;
    tasks.running_tasks = { { 7, "fat" }, { 8, "hostile_driver" }, { 9, "fatx" }, { 10, "fa" }, { 11, "blk_checks" } };
    tasks.inits = { { "fat", 7 } };
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
    tasks.inits = { { "fat", 7 } };
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
    ClientPolicy policy(kFatByName, 2);
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

TEST_CASE("virtio-blk: only the fat init started gets the disk, also in its restart window", "[virtio-blk][policy]")
{
    FakeTasks tasks;
    tasks.running_tasks = { { 7, "fat" }, { 20, "fat" }, { 11, "blk_checks" } };
    tasks.inits = { { "fat", 7 } };
    ClientPolicy policy(kWithTests, 2);
    CHECK(policy.check(20, tasks) == Verdict::NotInitsTask); // a copy the shell started (`run fat`)
    CHECK(policy.check(7, tasks) == Verdict::Admitted);
    CHECK(policy.check(11, tasks) == Verdict::Admitted); // not started_by_init: by name, as before
    // init's fat ends; during the backoff init lets any fat have the name
    // (ReservedFor says 0) and no fat holds the disk: the copy is refused
    // still, and asked about again (it is newer than the task init named).
    tasks.running_tasks.erase(7);
    tasks.inits["fat"] = 0;
    CHECK(policy.check(20, tasks) == Verdict::NotInitsTask);
    int asked = tasks.asked;
    CHECK(policy.check(20, tasks) == Verdict::NotInitsTask);
    CHECK(tasks.asked == asked + 1);
    // init's new fat (21) asks before init has named it: refused, not for good.
    tasks.running_tasks[21] = "fat";
    CHECK(policy.check(21, tasks) == Verdict::NotInitsTask);
    tasks.inits["fat"] = 21;
    CHECK(policy.check(21, tasks) == Verdict::Admitted);
    CHECK(policy.holder(0) == 21);
    // The copy is older than the task init named: init never names it
    // later, so it is remembered and costs no more look-ups.
    CHECK(policy.check(20, tasks) == Verdict::NotInitsTask);
    asked = tasks.asked;
    int asked_registry = tasks.asked_registry;
    CHECK(policy.check(20, tasks) == Verdict::NotAllowed);
    CHECK(tasks.asked == asked);
    CHECK(tasks.asked_registry == asked_registry);
}

TEST_CASE("virtio-blk: by name alone, a copy of fat took the disk in the restart window", "[virtio-blk][policy]")
{
    // What started_by_init closes (docs/security.md, "The disk"): with the
    // program admitted by name, the copy gets the disk and init's new fat
    // is Held.
    FakeTasks tasks;
    tasks.running_tasks = { { 7, "fat" }, { 20, "fat" } };
    ClientPolicy policy(kFatByName, 1);
    CHECK(policy.check(7, tasks) == Verdict::Admitted);
    tasks.running_tasks.erase(7);
    CHECK(policy.check(20, tasks) == Verdict::Admitted);
    tasks.running_tasks[21] = "fat";
    CHECK(policy.check(21, tasks) == Verdict::Held);
}
