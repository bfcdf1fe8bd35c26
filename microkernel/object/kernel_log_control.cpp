#include "kernel_log_control.hpp"

#include "../log.hpp"

namespace herald {

KernelLogControl KernelLogControl::s_the;

KernelLogControl& KernelLogControl::the() { return s_the; }

usize KernelLogControl::take_lines(char* out, usize max) { return kernel_log_take(out, max); }

} // namespace herald
