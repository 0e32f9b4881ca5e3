#pragma once
// The registry of every experiment kind engram knows. Built-in kinds are listed explicitly in
// job_kinds.cpp (a static-library self-registration would be dropped by the linker).
//
//   const engram::sched::JobKind& kind = engram::models::job_kind(root);  // by `experiment:`
#include <string_view>
#include <vector>

#include "engram/engine/io/config_node.hpp"
#include "engram/engine/scheduler/job_kind.hpp"

namespace engram::models {

const std::vector<const sched::JobKind*>& job_kinds();
// nullptr when no kind has that name.
const sched::JobKind* find_job_kind(std::string_view experiment);
// The kind named by root's `experiment:` (default project); bad_input listing the known kinds otherwise.
const sched::JobKind& job_kind(const io::ConfigNode& root);

}  // namespace engram::models
