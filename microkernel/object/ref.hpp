// Ref<T>: one counted reference to a kernel object, dropped by its
// destructor (Zircon's RefPtr, SerenityOS's NonnullRefPtr without the
// non-null promise). Move-only: a reference changes hands explicitly, and
// no path out of a function can forget one.
//
//   Ref<T>(object)     takes a new reference (retain)
//   Ref<T>::adopt(obj) takes over a reference someone already holds
//                      (an object's create(), a reference leak()ed before)
//   clear()            drops it now (before a thread blocks: a queued
//                      waiter holds none, kernel_object.hpp)
//   leak()             gives it up without dropping it: a hand-off to a
//                      holder that is not a Ref (a handle table entry, a
//                      binding that lives as long as the kernel); say who
//                      holds it now at every call
#pragma once

#include "../lib/utility.hpp"

namespace herald {

template<typename T>
class Ref {
public:
    Ref() = default;
    explicit Ref(T& object) : m_object(&object) { object.retain(); }
    static Ref adopt(T& object) { return Ref(&object, Adopt {}); }

    Ref(Ref&& other) : m_object(other.m_object) { other.m_object = nullptr; }
    template<typename U>
    Ref(Ref<U>&& other) : m_object(other.leak()) { }
    Ref& operator=(Ref&& other)
    {
        if (this != &other) {
            clear();
            m_object = other.m_object;
            other.m_object = nullptr;
        }
        return *this;
    }
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    ~Ref() { clear(); }

    void clear()
    {
        if (T* object = m_object) {
            m_object = nullptr;
            object->release();
        }
    }
    [[nodiscard]] T* leak()
    {
        T* object = m_object;
        m_object = nullptr;
        return object;
    }

    T* ptr() const { return m_object; }
    T* operator->() const { return m_object; }
    T& operator*() const { return *m_object; }
    explicit operator bool() const { return m_object != nullptr; }

private:
    struct Adopt { };
    Ref(T* object, Adopt) : m_object(object) { }

    T* m_object { nullptr };
};

} // namespace herald
