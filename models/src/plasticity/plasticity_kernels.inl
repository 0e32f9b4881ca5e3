// The learned-plasticity kernels this model launches (launch.hpp), listed once for both
// backends: plasticity_kernels.cpp (g++) and plasticity_kernels.cu (nvcc, the CUDA module).
#include "engram/engine/backend/device_kernels.hpp"
#include "engram/kernels/plasticity/rule_network.hpp"
#include "engram/kernels/plasticity/rule_update.hpp"

ENGRAM_DEVICE_KERNEL(engram::plasticity::RuleDrive)
ENGRAM_DEVICE_KERNEL(engram::plasticity::RuleSelect)
ENGRAM_DEVICE_KERNEL(engram::plasticity::RuleReadout)
ENGRAM_DEVICE_KERNEL(engram::plasticity::RuleUpdate)
