#include "points_matrix.hpp"

#include <cmath>

#include "engram/engine/error.hpp"

namespace engram::ot::detail {

Eigen::MatrixXd as_matrix(const std::vector<double>& v, std::int32_t dim, const std::string& field) {
  if (dim <= 0) throw Error::bad_input("dim", std::to_string(dim), "must be >= 1");
  if (v.empty() || v.size() % static_cast<std::size_t>(dim) != 0) {
    throw Error::bad_input(field + ".size", std::to_string(v.size()),
                           "must be a positive multiple of dim = " + std::to_string(dim));
  }
  const auto n = static_cast<Eigen::Index>(v.size() / static_cast<std::size_t>(dim));
  Eigen::MatrixXd m(n, dim);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index a = 0; a < dim; ++a) {
      const double value = v[static_cast<std::size_t>(i * dim + a)];
      if (!std::isfinite(value)) {
        throw Error::bad_input(field + "[" + std::to_string(i * dim + a) + "]", to_text(value), "must be finite");
      }
      m(i, a) = value;
    }
  }
  return m;
}

}  // namespace engram::ot::detail
