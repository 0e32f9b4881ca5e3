#include "engram/models/plasticity/gradient_training.hpp"

#include <numeric>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

double train_by_gradient(const PlasticShape& shape, PlasticWeights& w, const Dataset& data, const GradientTraining& o) {
  shape.validate("network.");
  w.check(shape);
  data.check(shape);
  if (o.batch == 0) throw Error::bad_input("baseline.batch", "0", "must be at least 1");
  if (data.size() == 0) throw Error::bad_input("data", "0 examples", "the baseline needs training data");
  Gradients g;
  g.resize(shape);
  // All trainable arrays as one parameter vector, so one AdamW state covers them.
  std::vector<std::vector<double>*> arrays{&w.w_out};
  std::vector<const std::vector<double>*> gradients{&g.w_out};
  if (!o.readout_only) {
    arrays.insert(arrays.begin(), {&w.w_rec, &w.w_in, &w.bias});
    gradients.insert(gradients.begin(), {&g.w_rec, &g.w_in, &g.bias});
  }
  std::size_t total = 0;
  for (auto* a : arrays) total += a->size();
  std::vector<double> params(total), grads(total);
  nn::AdamWState<double> state(total);
  std::vector<std::size_t> order(data.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  double last_loss = 0.0;
  for (std::uint32_t epoch = 0; epoch < o.epochs; ++epoch) {
    RngStream rng({o.seed, 0, purpose::plasticity_data, 0xFFFFFFFDu, epoch});
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[static_cast<std::size_t>(rng.next_u64() % i)]);
    double epoch_loss = 0.0;
    for (std::size_t start = 0; start < order.size(); start += o.batch) {
      const std::size_t end = std::min(order.size(), start + o.batch);
      g.zero();
      const double scale = 1.0 / static_cast<double>(end - start);
      for (std::size_t r = start; r < end; ++r) {
        epoch_loss += backward(shape, w, data.sample(order[r]), data.y[order[r]], g, scale);
      }
      std::size_t at = 0;
      for (std::size_t a = 0; a < arrays.size(); ++a) {
        const std::vector<double>& ga = *gradients[a];
        std::copy(arrays[a]->begin(), arrays[a]->end(), params.begin() + static_cast<std::ptrdiff_t>(at));
        std::copy(ga.begin(), ga.end(), grads.begin() + static_cast<std::ptrdiff_t>(at));
        at += arrays[a]->size();
      }
      nn::adamw_host_step(params, grads, state, o.adam);
      at = 0;
      for (auto* a : arrays) {
        std::copy(params.begin() + static_cast<std::ptrdiff_t>(at), params.begin() + static_cast<std::ptrdiff_t>(at + a->size()),
                  a->begin());
        at += a->size();
      }
    }
    last_loss = epoch_loss / static_cast<double>(data.size());
  }
  // Non-edges receive zero gradients and zero moments, so AdamW leaves them at exactly 0.
  return last_loss;
}

}  // namespace engram::plastic
