#include "system_control.hpp"

#include "../power.hpp"

namespace herald {

SystemControl SystemControl::s_the;

SystemControl& SystemControl::the() { return s_the; }

void SystemControl::shutdown() { power_off(); }

} // namespace herald
