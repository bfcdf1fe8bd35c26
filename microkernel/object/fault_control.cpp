#include "fault_control.hpp"

namespace herald {

FaultControl FaultControl::s_the;
bool FaultControl::s_enabled { false };

FaultControl& FaultControl::the() { return s_the; }

} // namespace herald
