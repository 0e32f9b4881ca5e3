// The C API's array calls (engram_arrays.h): caller-owned buffers in, the engine's kernels
// through the same C++ entry points as the Python module (models/ot/sinkhorn.hpp,
// models/nn/attention_arrays.hpp, models/assembly/kcap_arrays.hpp), caller-owned buffers out.
#include <algorithm>
#include <string>
#include <vector>

#include "engram/engine/error.hpp"
#include "engram/engram.h"
#include "engram/models/assembly/kcap_arrays.hpp"
#include "engram/models/nn/attention_arrays.hpp"
#include "engram/models/ot/sinkhorn.hpp"
#include "guarded.hpp"

namespace {

using engram::capi::backend_of;
using engram::capi::guarded;
using engram::capi::require;

template <class T>
std::vector<T> copy_of(const T* values, std::int64_t count) {
  if (values == nullptr) return {};
  return std::vector<T>(values, values + count);
}

std::string at(std::size_t p, const char* field) { return "problems[" + std::to_string(p) + "]." + field; }

// Given is engram_sinkhorn_problem (double) or engram_sinkhorn_problem_f32 (float); T its element.
template <class T, class Given>
engram::ot::Problem<T> problem_of(const Given& given, std::size_t p, const engram::ot::SinkhornOptions& o) {
  if (given.n < 1) throw engram::Error::bad_input(at(p, "n"), std::to_string(given.n), "must be >= 1");
  if (given.m < 1) throw engram::Error::bad_input(at(p, "m"), std::to_string(given.m), "must be >= 1");
  engram::ot::Problem<T> q;
  if (o.cost == engram::ot::CostKind::stored) {
    if (given.cost == nullptr) throw engram::Error::bad_input(at(p, "cost"), "NULL", "needs the [n, m] cost matrix");
    q.cost = copy_of(given.cost, given.n * given.m);
    q.n = given.n;
    q.m = given.m;
  } else {
    if (o.dim < 1) throw engram::Error::bad_input("options.dim", std::to_string(o.dim), "must be >= 1 for point costs");
    if (given.x == nullptr || given.y == nullptr) {
      throw engram::Error::bad_input(at(p, given.x == nullptr ? "x" : "y"), "NULL", "point costs need x and y");
    }
    q.x = copy_of(given.x, given.n * o.dim);
    q.y = copy_of(given.y, given.m * o.dim);
  }
  q.a = copy_of(given.a, given.n);
  q.b = copy_of(given.b, given.m);
  q.eps = given.eps;
  q.tau = given.tau;
  return q;
}

engram::ot::SinkhornOptions options_of(const engram_sinkhorn_options* options) {
  require(options, "options");
  engram::ot::SinkhornOptions o;
  switch (options->cost) {
    case ENGRAM_COST_SQ_EUCLIDEAN: o.cost = engram::ot::CostKind::sq_euclidean; break;
    case ENGRAM_COST_P_NORM: o.cost = engram::ot::CostKind::p_norm; break;
    case ENGRAM_COST_STORED: o.cost = engram::ot::CostKind::stored; break;
    default:
      throw engram::Error::bad_input("options.cost", std::to_string(static_cast<int>(options->cost)),
                                     "must be ENGRAM_COST_SQ_EUCLIDEAN, ENGRAM_COST_P_NORM or ENGRAM_COST_STORED");
  }
  o.power = options->p;
  o.dim = options->dim;
  o.tol = options->tol;
  o.max_iter = options->max_iter;
  o.eps_decay = options->eps_decay;
  o.eps_start = options->eps_start;
  o.check_every = options->check_every;
  return o;
}

engram::nn::AttentionArrays arrays_of(const engram_attention_shape* shape, const float* q, const float* k,
                                      const float* v) {
  require(shape, "shape");
  engram::nn::AttentionArrays a;
  a.q = q;
  a.k = k;
  a.v = v;
  a.total_q = shape->total_q;
  a.total_k = shape->total_k;
  a.heads = shape->heads;
  a.head_dim = shape->head_dim;
  a.q_offsets = shape->q_offsets;
  a.k_offsets = shape->k_offsets;
  a.sequences = shape->sequences;
  a.causal = shape->causal != 0;
  a.key_valid = shape->key_valid;
  a.scale = shape->scale;
  return a;
}

template <class T, class Given>
void solve_into(engram_backend* backend, Given* problems, std::size_t count, const engram_sinkhorn_options* options) {
  engram::Backend& be = backend_of(backend, "backend");
  require(problems, "problems");
  engram::ot::SinkhornOptions o = options_of(options);
  std::vector<engram::ot::Problem<T>> batch;
  for (std::size_t p = 0; p < count; ++p) {
    batch.push_back(problem_of<T>(problems[p], p, o));
    o.plan = o.plan || problems[p].plan != nullptr;
    o.gradient = o.gradient || problems[p].gradient != nullptr;
  }
  const std::vector<engram::ot::Solution<T>> solutions = engram::ot::solve(be, batch, o);
  for (std::size_t p = 0; p < count; ++p) {
    Given& out = problems[p];
    const engram::ot::Solution<T>& s = solutions[p];
    if (out.f != nullptr) std::copy(s.f.begin(), s.f.end(), out.f);
    if (out.g != nullptr) std::copy(s.g.begin(), s.g.end(), out.g);
    if (out.plan != nullptr) std::copy(s.plan.begin(), s.plan.end(), out.plan);
    if (out.gradient != nullptr) std::copy(s.gradient.begin(), s.gradient.end(), out.gradient);
    out.transport_cost = s.transport_cost;
    out.value = s.value;
    out.mass = s.mass;
    out.error = s.error;
    out.iterations = s.iterations;
    out.converged = s.converged ? 1 : 0;
  }
}

template <class T, class Given>
void divergences_into(engram_backend* backend, const Given* problems, std::size_t count,
                      const engram_sinkhorn_options* options, double* divergences) {
  engram::Backend& be = backend_of(backend, "backend");
  require(problems, "problems");
  require(divergences, "divergences");
  const engram::ot::SinkhornOptions o = options_of(options);
  if (o.cost == engram::ot::CostKind::stored) {
    throw engram::Error::bad_input("options.cost", "ENGRAM_COST_STORED",
                                   "the divergence needs points (it solves x-x and y-y problems too)");
  }
  std::vector<engram::ot::Problem<T>> batch;
  for (std::size_t p = 0; p < count; ++p) batch.push_back(problem_of<T>(problems[p], p, o));
  const std::vector<double> s = engram::ot::sinkhorn_divergence(be, batch, o);
  std::copy(s.begin(), s.end(), divergences);
}

}  // namespace

extern "C" {

void engram_sinkhorn_options_default(engram_sinkhorn_options* options) {
  if (options == nullptr) return;
  const engram::ot::SinkhornOptions d;
  options->cost = ENGRAM_COST_SQ_EUCLIDEAN;
  options->p = d.power;
  options->dim = 0;
  options->tol = d.tol;
  options->max_iter = d.max_iter;
  options->eps_decay = d.eps_decay;
  options->eps_start = d.eps_start;
  options->check_every = d.check_every;
}

engram_status engram_sinkhorn(engram_backend* backend, engram_sinkhorn_problem* problems, size_t count,
                              const engram_sinkhorn_options* options) {
  return guarded([&] { solve_into<double>(backend, problems, count, options); });
}

engram_status engram_sinkhorn_f32(engram_backend* backend, engram_sinkhorn_problem_f32* problems, size_t count,
                                  const engram_sinkhorn_options* options) {
  return guarded([&] { solve_into<float>(backend, problems, count, options); });
}

engram_status engram_sinkhorn_divergence(engram_backend* backend, const engram_sinkhorn_problem* problems, size_t count,
                                         const engram_sinkhorn_options* options, double* divergences) {
  return guarded([&] { divergences_into<double>(backend, problems, count, options, divergences); });
}

engram_status engram_sinkhorn_divergence_f32(engram_backend* backend, const engram_sinkhorn_problem_f32* problems,
                                             size_t count, const engram_sinkhorn_options* options,
                                             double* divergences) {
  return guarded([&] { divergences_into<float>(backend, problems, count, options, divergences); });
}

engram_status engram_attention_forward(engram_backend* backend, const engram_attention_shape* shape, const float* q,
                                       const float* k, const float* v, float* o, float* lse) {
  return guarded([&] {
    engram::Backend& be = backend_of(backend, "backend");
    engram::nn::attention_forward(be, arrays_of(shape, q, k, v), o, lse);
  });
}

engram_status engram_attention_backward(engram_backend* backend, const engram_attention_shape* shape, const float* q,
                                        const float* k, const float* v, const float* o, const float* lse,
                                        const float* dout, float* dq, float* dk, float* dv) {
  return guarded([&] {
    engram::Backend& be = backend_of(backend, "backend");
    engram::nn::attention_backward(be, arrays_of(shape, q, k, v), o, lse, dout, dq, dk, dv);
  });
}

engram_status engram_kcap(engram_backend* backend, const int64_t* inputs, int64_t batch, int64_t n, int64_t k,
                          uint32_t* winners) {
  return guarded([&] {
    engram::Backend& be = backend_of(backend, "backend");
    engram::assembly::kcap(be, inputs, batch, n, k, winners);
  });
}

}  // extern "C"
