#include "microkernel/sched/run_queue.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <random>
#include <vector>

using namespace herald;

namespace {
struct Item {
    int id;
    Item* queue_next { nullptr };
    Item* queue_prev { nullptr };
    unsigned cpu { 0 };         // for front_for_cpu
    const void* task { nullptr }; // its owner, for front_for_cpu
};
}

TEST_CASE("run queue is first in, first out; stealing takes from the back")
{
    Item a { 1 }, b { 2 }, c { 3 };
    RunQueue<Item> queue;
    CHECK(queue.is_empty());
    CHECK(queue.pop_front() == nullptr);
    CHECK(queue.pop_back() == nullptr);
    queue.push_back(a);
    queue.push_back(b);
    queue.push_back(c);
    CHECK(queue.size() == 3);
    CHECK(queue.pop_back() == &c);
    CHECK(queue.pop_front() == &a);
    CHECK(queue.pop_front() == &b);
    CHECK(queue.is_empty());
    CHECK(a.queue_next == nullptr);
    CHECK(a.queue_prev == nullptr);
    queue.push_back(a); // an item can be queued again once it is out
    CHECK(queue.front() == &a);
}

TEST_CASE("run queue removes from the middle")
{
    Item items[5] = { { 0 }, { 1 }, { 2 }, { 3 }, { 4 } };
    RunQueue<Item> queue;
    for (auto& item : items)
        queue.push_back(item);
    queue.remove(items[2]);
    CHECK_FALSE(queue.contains(items[2]));
    std::vector<int> order;
    while (Item* item = queue.pop_front())
        order.push_back(item->id);
    CHECK(order == std::vector<int> { 0, 1, 3, 4 });
}

TEST_CASE("run queue matches a deque under random operations")
{
    std::mt19937 random(42);
    std::vector<Item> items(64);
    for (int i = 0; i < 64; ++i)
        items[i].id = i;
    std::vector<bool> queued(64, false);
    RunQueue<Item> queue;
    std::deque<int> model;
    for (int step = 0; step < 100000; ++step) {
        int action = random() % 4;
        if (action == 0 || action == 1) {
            int id = random() % 64;
            if (!queued[id]) {
                queue.push_back(items[id]);
                model.push_back(id);
                queued[id] = true;
            }
        } else if (action == 2) {
            Item* item = queue.pop_front();
            if (model.empty()) {
                REQUIRE(item == nullptr);
            } else {
                REQUIRE(item != nullptr);
                REQUIRE(item->id == model.front());
                queued[model.front()] = false;
                model.pop_front();
            }
        } else {
            Item* item = queue.pop_back();
            if (model.empty()) {
                REQUIRE(item == nullptr);
            } else {
                REQUIRE(item != nullptr);
                REQUIRE(item->id == model.back());
                queued[model.back()] = false;
                model.pop_back();
            }
        }
        REQUIRE(queue.size() == model.size());
    }
}

TEST_CASE("first_where finds the longest-waiting match and leaves it queued")
{
    Item a { 1 }, b { 2 }, c { 3 }, d { 4 };
    RunQueue<Item> queue;
    CHECK(queue.first_where([](const Item&) { return true; }) == nullptr);
    queue.push_back(a);
    queue.push_back(b);
    queue.push_back(c);
    queue.push_back(d);
    CHECK(queue.first_where([](const Item& item) { return item.id % 2 == 0; }) == &b);
    CHECK(queue.first_where([](const Item& item) { return item.id > 2; }) == &c);
    CHECK(queue.first_where([](const Item& item) { return item.id > 9; }) == nullptr);
    CHECK(queue.size() == 4);
    queue.remove(b);
    CHECK(queue.first_where([](const Item& item) { return item.id % 2 == 0; }) == &d);
}

TEST_CASE("front_for_cpu picks a thread on the CPU among the front item's owner's only")
{
    int server = 0, fuzzer = 0; // two owners, told apart by address
    RunQueue<Item> queue;
    CHECK(queue.front_for_cpu(0) == nullptr);
    Item a { 1 }, b { 2 }, c { 3 }, d { 4 };
    a.cpu = 0;
    a.task = &server;
    b.cpu = 1;
    b.task = &fuzzer;
    c.cpu = 1;
    c.task = &server;
    d.cpu = 2;
    d.task = &fuzzer;
    queue.push_back(a);
    CHECK(queue.front_for_cpu(1) == &a); // one waits: it, whatever its CPU
    queue.push_back(b);
    // The front's owner gets it, though another owner waits on the CPU
    // (what sent the fuzzer's calls astray: qemu-sysfuzz-smp4, docs/ipc.md).
    CHECK(queue.front_for_cpu(1) == &a);
    queue.push_back(c);
    CHECK(queue.front_for_cpu(1) == &c); // the owner's thread on CPU 1, past the other owner's
    CHECK(queue.front_for_cpu(0) == &a);
    CHECK(queue.front_for_cpu(2) == &a); // only another owner is on CPU 2
    queue.push_back(d);
    CHECK(queue.front_for_cpu(2) == &a);
    queue.remove(a);
    CHECK(queue.front_for_cpu(1) == &b); // now the fuzzer's turn: its thread on CPU 1 is the front
    CHECK(queue.front_for_cpu(2) == &d);
    CHECK(queue.front_for_cpu(0) == &b);
    CHECK(queue.size() == 3);
}
