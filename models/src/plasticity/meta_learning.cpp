#include "engram/models/plasticity/meta_learning.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/plasticity/rule_update.hpp"
#include "engram/models/plasticity/plastic_batch.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

PlasticRule MetaProblem::rule(const std::vector<double>& params) const {
  PlasticRule r;
  r.rounds = shape.rounds;
  r.params = params;
  r.eta = eta;
  r.mode = mode;
  r.only_misclassified = only_misclassified;
  return r;
}

void MetaProblem::check(const std::string& field) const {
  shape.validate(field + ".network.");
  initial.check(shape, field + ".initial");
  batch.check(shape, field + ".batch");
  if (batch.size() == 0) throw Error::bad_input(field + ".batch", "0 examples", "must hold at least one example");
  if (score.size() > 0 || score.features != 0) score.check(shape, field + ".score");
  if (!std::isfinite(eta) || eta <= 0.0) throw Error::bad_input(field + ".eta", to_text(eta), "must be finite and > 0");
}

namespace {

void append_signature(std::vector<std::uint32_t>& signature, const Trace& t) {
  signature.insert(signature.end(), t.state.begin(), t.state.end());
  signature.push_back(t.predicted);
}

// Applies the rule's update for one already-forwarded example (the same functor as rule_step).
void apply_update(const PlasticShape& s, PlasticWeights& w, const PlasticRule& rule, const double* x, std::uint32_t label,
                  const Trace& t) {
  const plasticity::RuleNet net{s.inputs, s.neurons, s.labels, s.cap, w.w_rec.data(), w.mask_rec.data(), w.w_in.data(),
                                w.mask_in.data(), w.bias.data(), w.w_out.data()};
  const plasticity::RuleUpdate update{net, x, t.state.data(), t.logits.data(), &label, rule.params.data(),
                                      rule.layout(), rule.eta, rule.mode, rule.only_misclassified};
  const std::int64_t rows = static_cast<std::int64_t>(s.neurons) + s.labels;
  for (std::int64_t r = 0; r < rows; ++r) update(r);
}

// d weights / d theta: tangents[p * n + e] for parameter p and weight e (recurrent, then input,
// then output weights, each in PlasticWeights order).
class Tangents {
 public:
  Tangents(std::size_t params, std::size_t weights, const PlasticRule& rule)
      : p_(params), n_(weights), t_(params * weights, 0.0), rule_(rule) {}

  // Weight e is about to change by w <- w + coeff * beta[q] (additive) or w <- w (1 + coeff * beta[q]).
  void update(std::size_t e, std::uint32_t q, double coeff, double w_old) {
    if (rule_.mode == plasticity::RuleMode::additive) {
      t_[q * n_ + e] += coeff;
      return;
    }
    const double factor = 1.0 + coeff * rule_.params[q];
    for (std::size_t p = 0; p < p_; ++p) t_[p * n_ + e] *= factor;
    t_[q * n_ + e] += coeff * w_old;
  }

  std::vector<double> contract(const std::vector<double>& dloss_dw) const {
    std::vector<double> g(p_, 0.0);
    for (std::size_t p = 0; p < p_; ++p) {
      const double* row = t_.data() + p * n_;
      double s = 0.0;
      for (std::size_t e = 0; e < n_; ++e) s += row[e] * dloss_dw[e];
      g[p] = s;
    }
    return g;
  }

 private:
  std::size_t p_, n_;
  std::vector<double> t_;
  const PlasticRule& rule_;
};

}  // namespace

double meta_loss(const MetaProblem& problem, const std::vector<double>& params, std::vector<std::uint32_t>* signature) {
  problem.check();
  const PlasticRule rule = problem.rule(params);
  rule.validate("rule");
  const PlasticShape& s = problem.shape;
  PlasticWeights w = problem.initial;
  const Dataset& data = problem.batch;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const Trace t = rule_step(s, w, rule, data.sample(i), data.y[i]);
    if (signature != nullptr) append_signature(*signature, t);
  }
  const Dataset& scored = problem.scored();
  double loss = 0.0;
  for (std::size_t i = 0; i < scored.size(); ++i) {
    const Trace t = forward(s, w, scored.sample(i));
    if (signature != nullptr) append_signature(*signature, t);
    loss += cross_entropy(t.logits, scored.y[i]);
  }
  return loss / static_cast<double>(scored.size());
}

MetaGradient meta_gradient(const MetaProblem& problem, const std::vector<double>& params) {
  problem.check();
  const PlasticRule rule = problem.rule(params);
  rule.validate("rule");
  const PlasticShape& s = problem.shape;
  const plasticity::RuleLayout layout = s.layout();
  const std::size_t v = s.neurons, d = s.inputs, m = s.labels;
  const std::size_t n_rec = v * v, n_in = v * d, n_out = m * v;
  Tangents tangents(layout.size(), n_rec + n_in + n_out, rule);
  PlasticWeights w = problem.initial;
  const Dataset& data = problem.batch;
  MetaGradient result;

  for (std::size_t n = 0; n < data.size(); ++n) {
    const double* x = data.sample(n);
    const std::uint32_t label = data.y[n];
    const Trace t = forward(s, w, x);
    append_signature(result.signature, t);
    if (rule.only_misclassified && t.predicted == label) continue;
    // Tangents first: the multiplicative rule's derivative needs the weights before the update.
    for (std::size_t j = 0; j < v; ++j) {
      const std::uint32_t post = t.state[j];
      for (std::size_t i = 0; i < v; ++i) {
        const std::size_t e = j * v + i;
        if (w.mask_rec[e]) tangents.update(e, layout.recurrent(t.state[i], post), rule.eta, w.w_rec[e]);
      }
      for (std::size_t k = 0; k < d; ++k) {
        const std::size_t e = j * d + k;
        if (w.mask_in[e]) tangents.update(n_rec + e, layout.input(post), rule.eta * x[k], w.w_in[e]);
      }
    }
    for (std::uint32_t c = 0; c < m; ++c) {
      std::uint32_t which = 0;
      if (c == label) {
        which = 0;
      } else if (c == t.predicted) {
        which = 1;
      } else {
        continue;
      }
      for (std::size_t j = 0; j < v; ++j) {
        const std::size_t e = c * v + j;
        tangents.update(n_rec + n_in + e, layout.output(t.state[j], which), rule.eta, w.w_out[e]);
      }
    }
    apply_update(s, w, rule, x, label, t);
  }

  Gradients g;
  g.resize(s);
  const Dataset& scored = problem.scored();
  const double scale = 1.0 / static_cast<double>(scored.size());
  for (std::size_t n = 0; n < scored.size(); ++n) {
    append_signature(result.signature, forward(s, w, scored.sample(n)));
    result.loss += scale * backward(s, w, scored.sample(n), scored.y[n], g, scale);
  }
  std::vector<double> dloss_dw;
  dloss_dw.reserve(n_rec + n_in + n_out);
  dloss_dw.insert(dloss_dw.end(), g.w_rec.begin(), g.w_rec.end());
  dloss_dw.insert(dloss_dw.end(), g.w_in.begin(), g.w_in.end());
  dloss_dw.insert(dloss_dw.end(), g.w_out.begin(), g.w_out.end());
  result.gradient = tangents.contract(dloss_dw);
  return result;
}

std::vector<double> population_losses(const MetaProblem& problem, const std::vector<double>& tables,
                                      std::uint32_t population, Backend& backend) {
  problem.check();
  PlasticBatch batch(backend, problem.shape, population);
  batch.set_weights(problem.initial);
  batch.set_rules(tables, problem.eta, problem.mode, problem.only_misclassified);
  const Dataset& data = problem.batch;
  const std::size_t d = data.features, m = problem.shape.labels;
  std::vector<double> x(d);
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::copy(data.sample(i), data.sample(i) + d, x.begin());
    batch.learn(x, {data.y[i]});
  }
  const Dataset& scored = problem.scored();
  std::vector<double> losses(population, 0.0), logits(m);
  for (std::size_t i = 0; i < scored.size(); ++i) {
    std::copy(scored.sample(i), scored.sample(i) + d, x.begin());
    const std::vector<double> all = batch.logits_for(x);
    for (std::uint32_t b = 0; b < population; ++b) {
      std::copy(all.begin() + static_cast<std::ptrdiff_t>(b * m), all.begin() + static_cast<std::ptrdiff_t>((b + 1) * m),
                logits.begin());
      losses[b] += cross_entropy(logits, scored.y[i]) / static_cast<double>(scored.size());
    }
  }
  return losses;
}

std::vector<double> es_gradient(const MetaProblem& problem, const std::vector<double>& params, const EsOptions& o,
                                Backend& backend) {
  if (o.population < 2 || o.population % 2 != 0) {
    throw Error::bad_input("meta.population", to_text(o.population), "must be an even number of at least 2 (antithetic pairs)");
  }
  if (!std::isfinite(o.sigma) || o.sigma <= 0.0) throw Error::bad_input("meta.sigma", to_text(o.sigma), "must be finite and > 0");
  problem.rule(params).validate("rule");
  const std::size_t p = params.size();
  const std::uint32_t pairs = o.population / 2;
  std::vector<double> eps(pairs * p), tables(o.population * p);
  for (std::uint32_t i = 0; i < pairs; ++i) {
    RngStream rng({o.seed, i, purpose::plasticity_rule, o.step + 1, 0});
    for (std::size_t k = 0; k < p; ++k) {
      const double e = rng.normal();
      eps[i * p + k] = e;
      tables[(2 * i) * p + k] = params[k] + o.sigma * e;
      tables[(2 * i + 1) * p + k] = params[k] - o.sigma * e;
    }
  }
  const std::vector<double> losses = population_losses(problem, tables, o.population, backend);
  std::vector<double> g(p, 0.0);
  for (std::uint32_t i = 0; i < pairs; ++i) {
    const double diff = (losses[2 * i] - losses[2 * i + 1]) / (2.0 * o.sigma * pairs);
    for (std::size_t k = 0; k < p; ++k) g[k] += diff * eps[i * p + k];
  }
  return g;
}

SelectionResult natural_selection(const std::function<MetaProblem(std::uint32_t)>& problem,
                                  const std::vector<double>& params, const SelectionOptions& o, Backend& backend) {
  if (o.population < 2 || o.population % 2 != 0) {
    throw Error::bad_input("selection.population", to_text(o.population), "must be an even number of at least 2");
  }
  if (o.index >= params.size()) {
    throw Error::bad_input("selection.index", to_text(o.index), "must be below the rule's size " + to_text(params.size()));
  }
  const std::size_t p = params.size();
  std::vector<double> values(o.population);
  for (std::uint32_t b = 0; b < o.population; ++b) {
    RngStream rng({o.seed, b, purpose::plasticity_rule, 0, 0x80000000u});
    values[b] = params[o.index] + o.mutation * rng.normal();
  }
  SelectionResult result;
  std::vector<std::uint32_t> order(o.population);
  for (std::uint32_t gen = 0; gen < o.generations; ++gen) {
    std::vector<double> tables(o.population * p);
    for (std::uint32_t b = 0; b < o.population; ++b) {
      std::copy(params.begin(), params.end(), tables.begin() + static_cast<std::ptrdiff_t>(b * p));
      tables[b * p + o.index] = values[b];
    }
    const std::vector<double> losses = population_losses(problem(gen), tables, o.population, backend);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return losses[a] < losses[b]; });
    result.best_loss.push_back(losses[order[0]]);
    result.best_value = values[order[0]];
    // The fitter half survives unchanged; each survivor's mutated copy replaces one of the rest.
    std::vector<double> next(o.population);
    const std::uint32_t half = o.population / 2;
    for (std::uint32_t r = 0; r < half; ++r) {
      next[r] = values[order[r]];
      RngStream rng({o.seed, r, purpose::plasticity_rule, gen + 1, 0x80000000u});
      next[half + r] = values[order[r]] + o.mutation * rng.normal();
    }
    values.swap(next);
  }
  return result;
}

std::vector<MetaStep> meta_train(const std::function<MetaProblem(std::uint32_t)>& problem, std::vector<double>& params,
                                 const MetaTraining& options, Backend* backend,
                                 const std::function<void(std::uint32_t)>& progress) {
  std::vector<std::vector<MetaStep>> logs = meta_train_runs({MetaRun{problem, options}}, params, backend, progress);
  return std::move(logs.front());
}

std::vector<std::vector<MetaStep>> meta_train_runs(const std::vector<MetaRun>& runs, std::vector<double>& tables,
                                                   Backend* backend, const std::function<void(std::uint32_t)>& progress) {
  const std::size_t R = runs.size();
  if (R == 0) return {};
  const MetaTraining& lead = runs.front().options;
  if (lead.method == MetaMethod::es && backend == nullptr) throw Error::internal("meta_train: ES needs a backend");
  if (lead.problems_per_step == 0) throw Error::bad_input("meta.problems_per_step", "0", "must be at least 1");
  for (const MetaRun& run : runs) {
    const MetaTraining& o = run.options;
    if (o.method != lead.method || o.steps != lead.steps || o.problems_per_step != lead.problems_per_step) {
      throw Error::internal("meta_train_runs: runs of one batch must share method, steps and problems_per_step");
    }
  }
  if (tables.size() % R != 0) {
    throw Error::internal("meta_train_runs: " + to_text(tables.size()) + " table values do not split into " +
                          to_text(R) + " runs");
  }
  const std::size_t P = tables.size() / R;
  std::vector<nn::AdamWState<double>> states(R, nn::AdamWState<double>(P));
  std::vector<std::vector<MetaStep>> logs(R);
  std::vector<std::vector<double>> gradients(R);
  std::vector<MetaStep> entries(R);
  std::vector<std::exception_ptr> errors(R);
  const double share = 1.0 / lead.problems_per_step;

  // Run r's gradient and loss of one step, written only to slot r.
  const auto run_step = [&](std::size_t r, std::uint32_t step) {
    try {
      const MetaTraining& options = runs[r].options;
      const std::vector<double> params(tables.begin() + static_cast<std::ptrdiff_t>(r * P),
                                       tables.begin() + static_cast<std::ptrdiff_t>((r + 1) * P));
      MetaStep& entry = entries[r];
      entry = MetaStep{};
      entry.step = step;
      std::vector<double>& gradient = gradients[r];
      gradient.assign(P, 0.0);
      for (std::uint32_t i = 0; i < options.problems_per_step; ++i) {
        const std::uint32_t index = step * options.problems_per_step + i;
        const MetaProblem prob = runs[r].problem(index);
        std::vector<double> g;
        if (options.method == MetaMethod::exact) {
          MetaGradient exact = meta_gradient(prob, params);
          entry.loss += share * exact.loss;
          g = std::move(exact.gradient);
        } else {
          EsOptions es = options.es;
          es.step = index;
          g = es_gradient(prob, params, es, *backend);
          entry.loss += share * meta_loss(prob, params);
        }
        for (std::size_t k = 0; k < g.size(); ++k) gradient[k] += share * g[k];
      }
    } catch (...) {
      errors[r] = std::current_exception();
    }
  };

  const auto runs_count = static_cast<std::int64_t>(R);
  for (std::uint32_t step = 0; step < lead.steps; ++step) {
    if (lead.method == MetaMethod::exact) {
#pragma omp parallel for schedule(dynamic, 1) if (runs_count > 1)
      for (std::int64_t r = 0; r < runs_count; ++r) run_step(static_cast<std::size_t>(r), step);
    } else {
      for (std::size_t r = 0; r < R; ++r) run_step(r, step);
    }
    for (const std::exception_ptr& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    for (std::size_t r = 0; r < R; ++r) {
      const MetaTraining& options = runs[r].options;
      std::vector<double>& gradient = gradients[r];
      if (!options.learn.empty()) {
        if (options.learn.size() != gradient.size()) {
          throw Error::bad_input("meta.learn", to_text(options.learn.size()) + " flags", "must have one per rule entry = " + to_text(gradient.size()));
        }
        for (std::size_t k = 0; k < gradient.size(); ++k) {
          if (!options.learn[k]) gradient[k] = 0.0;
        }
      }
      double norm = 0.0;
      for (double x : gradient) norm += x * x;
      entries[r].gradient_norm = std::sqrt(norm);
      logs[r].push_back(entries[r]);
      std::vector<double> params(tables.begin() + static_cast<std::ptrdiff_t>(r * P),
                                 tables.begin() + static_cast<std::ptrdiff_t>((r + 1) * P));
      nn::adamw_host_step(params, gradient, states[r], options.adam);
      std::copy(params.begin(), params.end(), tables.begin() + static_cast<std::ptrdiff_t>(r * P));
    }
    if (progress) progress(step + 1);
  }
  return logs;
}

}  // namespace engram::plastic
