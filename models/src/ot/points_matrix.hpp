#pragma once
// Point clouds as Eigen matrices for the OT alignment and clustering code: row-major [N, dim]
// vectors checked for shape and finiteness, errors naming the field and the offending index.
#include <cstdint>
#include <string>
#include <vector>

#include "engram/engine/backend/eigen.hpp"

namespace engram::ot::detail {

Eigen::MatrixXd as_matrix(const std::vector<double>& v, std::int32_t dim, const std::string& field);

}  // namespace engram::ot::detail
