#include "engram/models/transformer/separable_transformer.hpp"

#include <algorithm>
#include <cmath>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/attention/flash_attention.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/dropout.hpp"
#include "engram/kernels/nn/layer_norm.hpp"
#include "engram/kernels/nn/losses.hpp"
#include "engram/models/nn/attention.hpp"
#include "engram/models/nn/run_linear.hpp"
#include "engram/kernels/nn/purposes.hpp"
#include "transformer_kernels.hpp"

namespace engram::models::transformer {

// One block's saved activations for every run, [R, tokens, ...].
struct LayerCache {
  Buffer<float> x, ln1, mean1, rstd1, q, k, v, att, lse, x1, ln2, mean2, rstd2, h, f;
};

namespace {

constexpr float kNormEps = 1e-5f;
// Launches of fewer items run inline on the CPU (a fork/join costs more than that much work).
constexpr std::int64_t kRowGrain = 256;
constexpr std::int64_t kElementGrain = 8192;
using Init = Layout::Named::Init;

void check_positive(std::int64_t v, const char* field) {
  if (v <= 0) throw Error::bad_input(field, std::to_string(v), "must be > 0");
}

const TransformerConfig& validated(const TransformerConfig& config) {
  check_positive(config.width, "model.width");
  check_positive(config.heads, "model.heads");
  check_positive(config.ff_hidden, "model.ff_hidden");
  check_positive(config.neurons, "model.neurons");
  check_positive(config.outputs, "model.outputs");
  if (config.individual_layers < 0) throw Error::bad_input("model.individual_layers", std::to_string(config.individual_layers), "must be >= 0");
  if (config.population_layers < 0) throw Error::bad_input("model.population_layers", std::to_string(config.population_layers), "must be >= 0");
  if (config.head_dim < attention::kMinHeadDim || config.head_dim > attention::kMaxHeadDim) {
    throw Error::bad_input("model.head_dim", std::to_string(config.head_dim),
                           "must lie in [" + std::to_string(attention::kMinHeadDim) + ", " +
                               std::to_string(attention::kMaxHeadDim) + "]");
  }
  if (!(config.dropout >= 0.0 && config.dropout < 1.0)) {
    throw Error::bad_input("model.dropout", to_text(config.dropout), "must lie in [0, 1)");
  }
  return config;
}

template <class T>
T* ensure(Backend& backend, Buffer<T>& buffer, std::int64_t count) {
  if (static_cast<std::int64_t>(buffer.size()) < count) buffer = Buffer<T>(backend, static_cast<std::size_t>(count));
  return buffer.data();
}

}  // namespace

SeparableTransformer::SeparableTransformer(const TransformerConfig& config, Backend& backend,
                                           const std::vector<std::uint64_t>& seeds)
    : config_(validated(config)),
      backend_(backend),
      layout_(build_layout(config)),
      weights_(backend, static_cast<std::int64_t>(seeds.size()), layout_.total) {
  weights_.set_seeds(seeds);
  for (std::size_t r = 0; r < seeds.size(); ++r) weights_.upload_run(static_cast<std::int64_t>(r), initial_params(seeds[r]));
}

SeparableTransformer::~SeparableTransformer() = default;

Layout SeparableTransformer::build_layout(const TransformerConfig& config) {
  Layout L;
  std::int64_t at = 0;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, Init init, std::int64_t fan_in) {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    const Slice s{at, n};
    at += n;
    L.tensors.push_back({name, std::move(shape), s, init, fan_in});
    return s;
  };
  const std::int64_t W = config.width, HD = config.heads * config.head_dim, F = config.ff_hidden;
  auto layer = [&](const std::string& prefix) {
    LayerSlices p;
    p.ln1_g = add(prefix + ".ln1.weight", {W}, Init::ones, 1);
    p.ln1_b = add(prefix + ".ln1.bias", {W}, Init::zeros, 1);
    p.wq = add(prefix + ".q.weight", {HD, W}, Init::uniform, W);
    p.bq = add(prefix + ".q.bias", {HD}, Init::uniform, W);
    p.wk = add(prefix + ".k.weight", {HD, W}, Init::uniform, W);
    p.bk = add(prefix + ".k.bias", {HD}, Init::uniform, W);
    p.wv = add(prefix + ".v.weight", {HD, W}, Init::uniform, W);
    p.bv = add(prefix + ".v.bias", {HD}, Init::uniform, W);
    p.wo = add(prefix + ".o.weight", {W, HD}, Init::uniform, HD);
    p.bo = add(prefix + ".o.bias", {W}, Init::uniform, HD);
    p.ln2_g = add(prefix + ".ln2.weight", {W}, Init::ones, 1);
    p.ln2_b = add(prefix + ".ln2.bias", {W}, Init::zeros, 1);
    p.w1 = add(prefix + ".ff1.weight", {F, W}, Init::uniform, W);
    p.b1 = add(prefix + ".ff1.bias", {F}, Init::uniform, W);
    p.w2 = add(prefix + ".ff2.weight", {W, F}, Init::uniform, F);
    p.b2 = add(prefix + ".ff2.bias", {W}, Init::uniform, F);
    return p;
  };
  L.embed_w = add("embed.weight", {W, 1}, Init::uniform, 1);
  L.embed_b = add("embed.bias", {W}, Init::uniform, 1);
  for (std::int64_t l = 0; l < config.individual_layers; ++l) L.individual.push_back(layer("individual." + std::to_string(l)));
  L.individual_norm_g = add("individual.norm.weight", {W}, Init::ones, 1);
  L.individual_norm_b = add("individual.norm.bias", {W}, Init::zeros, 1);
  L.individual_end = at;
  if (config.neuron_embedding) L.neuron_embedding = add("neuron_embedding", {config.neurons, W}, Init::normal, 1);
  for (std::int64_t l = 0; l < config.population_layers; ++l) L.population.push_back(layer("population." + std::to_string(l)));
  L.population_norm_g = add("population.norm.weight", {W}, Init::ones, 1);
  L.population_norm_b = add("population.norm.bias", {W}, Init::zeros, 1);
  L.head_w = add("head.weight", {config.outputs, W}, Init::uniform, W);
  L.head_b = add("head.bias", {config.outputs}, Init::uniform, W);
  L.total = at;
  return L;
}

std::vector<float> SeparableTransformer::initial_params(std::uint64_t seed) const {
  std::vector<float> params(static_cast<std::size_t>(layout_.total), 0.0f);
  for (std::size_t t = 0; t < layout_.tensors.size(); ++t) {
    const auto& tensor = layout_.tensors[t];
    const double bound = 1.0 / std::sqrt(static_cast<double>(tensor.fan_in));
    for (std::int64_t i = 0; i < tensor.slice.size; ++i) {
      float& p = params[static_cast<std::size_t>(tensor.slice.offset + i)];
      RngStream rng({seed, static_cast<std::uint32_t>(t), purpose::nn_init, 0, static_cast<std::uint32_t>(i)});
      switch (tensor.init) {
        case Init::ones: p = 1.0f; break;
        case Init::zeros: p = 0.0f; break;
        case Init::normal: p = static_cast<float>(rng.normal()); break;
        case Init::uniform: p = static_cast<float>(bound * (2.0 * rng.uniform() - 1.0)); break;
      }
    }
  }
  return params;
}

void SeparableTransformer::reset_population(std::int64_t neurons, const std::vector<std::uint64_t>& seeds) {
  check_positive(neurons, "transfer.neurons");
  if (static_cast<std::int64_t>(seeds.size()) != runs()) {
    throw Error::internal("reset_population: " + std::to_string(seeds.size()) + " seeds for " + std::to_string(runs()) + " runs");
  }
  config_.neurons = neurons;
  const std::int64_t keep = layout_.individual_end;
  layout_ = build_layout(config_);
  weights_.resize(layout_.total, keep);
  for (std::int64_t r = 0; r < runs(); ++r) {
    std::vector<float> values = weights_.run_values(r);
    const std::vector<float> fresh = initial_params(seeds[static_cast<std::size_t>(r)]);
    std::copy(fresh.begin() + keep, fresh.end(), values.begin() + keep);
    weights_.upload_run(r, values);
  }
}

float* SeparableTransformer::scratch(int which, std::int64_t count) { return ensure(backend_, scratch_[which], count); }

void SeparableTransformer::block_forward(const LayerSlices& p, LayerCache& c, const float* in, float* out,
                                         std::int64_t S, std::int64_t L) {
  Backend& be = backend_;
  const std::int64_t R = runs(), tokens = S * L, RT = R * tokens, W = config_.width, H = config_.heads,
                     Dh = config_.head_dim, HD = H * Dh, F = config_.ff_hidden, st = weights_.stride();
  const float* P = weights_.values();
  float* x = ensure(be, c.x, RT * W);
  be.copy_within(x, in, static_cast<std::size_t>(RT * W) * sizeof(float));
  float* ln1 = ensure(be, c.ln1, RT * W);
  float* mean1 = ensure(be, c.mean1, RT);
  float* rstd1 = ensure(be, c.rstd1, RT);
  launch(be, RT, nn::LayerNormForward<float>{x, P + p.ln1_g.offset, P + p.ln1_b.offset, ln1, mean1, rstd1, W, kNormEps, tokens, st}, kRowGrain);
  float* q = ensure(be, c.q, RT * HD);
  float* k = ensure(be, c.k, RT * HD);
  float* v = ensure(be, c.v, RT * HD);
  float* att = ensure(be, c.att, RT * HD);
  float* lse = ensure(be, c.lse, RT * H);
  runs::linear_forward(be, R, ln1, P + p.wq.offset, P + p.bq.offset, st, q, tokens, W, HD);
  runs::linear_forward(be, R, ln1, P + p.wk.offset, P + p.bk.offset, st, k, tokens, W, HD);
  runs::linear_forward(be, R, ln1, P + p.wv.offset, P + p.bv.offset, st, v, tokens, W, HD);
  std::int64_t* offsets = ensure(be, offsets_, R * S + 1);
  launch(be, R * S + 1, kernels::SequenceOffsets{offsets, L}, kRowGrain);
  const attention::AttentionShape shape{offsets, offsets, R * S, H, Dh, false, nullptr, 1.0f / std::sqrt(static_cast<float>(Dh))};
  attention_forward(be, {shape, q, k, v, att, lse}, RT);
  float* x1 = ensure(be, c.x1, RT * W);
  runs::linear_forward(be, R, att, P + p.wo.offset, P + p.bo.offset, st, x1, tokens, HD, W);
  launch(be, RT * W, kernels::AddInPlace{x1, x}, kElementGrain);
  float* ln2 = ensure(be, c.ln2, RT * W);
  float* mean2 = ensure(be, c.mean2, RT);
  float* rstd2 = ensure(be, c.rstd2, RT);
  launch(be, RT, nn::LayerNormForward<float>{x1, P + p.ln2_g.offset, P + p.ln2_b.offset, ln2, mean2, rstd2, W, kNormEps, tokens, st}, kRowGrain);
  float* h = ensure(be, c.h, RT * F);
  float* f = ensure(be, c.f, RT * F);
  runs::linear_forward(be, R, ln2, P + p.w1.offset, P + p.b1.offset, st, h, tokens, W, F);
  launch(be, RT * F, nn::GeluForward<float>{h, f}, kElementGrain);
  runs::linear_forward(be, R, f, P + p.w2.offset, P + p.b2.offset, st, out, tokens, F, W);
  launch(be, RT * W, kernels::AddInPlace{out, x1}, kElementGrain);
}

void SeparableTransformer::block_backward(const LayerSlices& p, LayerCache& c, float* dx, std::int64_t S, std::int64_t L) {
  Backend& be = backend_;
  const std::int64_t R = runs(), tokens = S * L, RT = R * tokens, W = config_.width, H = config_.heads,
                     Dh = config_.head_dim, HD = H * Dh, F = config_.ff_hidden, st = weights_.stride();
  const float* P = weights_.values();
  float* G = weights_.grads();
  float* df = scratch(0, RT * std::max(F, HD));
  float* dln = scratch(1, RT * W);
  float* tmp = scratch(2, RT * W);
  float* dq = scratch(3, RT * HD);
  float* dk = scratch(4, RT * HD);
  float* dv = scratch(5, RT * HD);
  float* delta = scratch(6, RT * H);
  // Feed-forward branch: out = x1 + W2 gelu(W1 ln2(x1)).
  runs::linear_backward(be, R, c.f.data(), P + p.w2.offset, dx, df, G + p.w2.offset, G + p.b2.offset, st, tokens, F, W);
  launch(be, RT * F, nn::GeluBackward<float>{c.h.data(), df, df}, kElementGrain);
  runs::linear_backward(be, R, c.ln2.data(), P + p.w1.offset, df, dln, G + p.w1.offset, G + p.b1.offset, st, tokens, W, F);
  launch(be, RT, nn::LayerNormBackwardInput<float>{c.x1.data(), P + p.ln2_g.offset, dln, c.mean2.data(), c.rstd2.data(), tmp, W, tokens, st}, kRowGrain);
  launch(be, R * W, nn::LayerNormBackwardParams<float>{c.x1.data(), dln, c.mean2.data(), c.rstd2.data(), G + p.ln2_g.offset,
                                                       G + p.ln2_b.offset, tokens, W, st});
  launch(be, RT * W, kernels::AddInPlace{dx, tmp}, kElementGrain);  // dx is now d(x1)
  // Attention branch: x1 = x + Wo attn(q, k, v), q/k/v = W ln1(x).
  float* datt = df;  // free again
  runs::linear_backward(be, R, c.att.data(), P + p.wo.offset, dx, datt, G + p.wo.offset, G + p.bo.offset, st, tokens, HD, W);
  std::int64_t* offsets = ensure(be, offsets_, R * S + 1);
  launch(be, R * S + 1, kernels::SequenceOffsets{offsets, L}, kRowGrain);
  const attention::AttentionShape shape{offsets, offsets, R * S, H, Dh, false, nullptr, 1.0f / std::sqrt(static_cast<float>(Dh))};
  attention_backward(be, {shape, c.q.data(), c.k.data(), c.v.data(), c.att.data(), c.lse.data(), datt, delta, dq, dk, dv, RT}, RT);
  runs::linear_backward(be, R, c.ln1.data(), P + p.wq.offset, dq, dln, G + p.wq.offset, G + p.bq.offset, st, tokens, W, HD);
  runs::linear_backward(be, R, c.ln1.data(), P + p.wk.offset, dk, tmp, G + p.wk.offset, G + p.bk.offset, st, tokens, W, HD);
  launch(be, RT * W, kernels::AddInPlace{dln, tmp}, kElementGrain);
  runs::linear_backward(be, R, c.ln1.data(), P + p.wv.offset, dv, tmp, G + p.wv.offset, G + p.bv.offset, st, tokens, W, HD);
  launch(be, RT * W, kernels::AddInPlace{dln, tmp}, kElementGrain);
  launch(be, RT, nn::LayerNormBackwardInput<float>{c.x.data(), P + p.ln1_g.offset, dln, c.mean1.data(), c.rstd1.data(), tmp, W, tokens, st}, kRowGrain);
  launch(be, R * W, nn::LayerNormBackwardParams<float>{c.x.data(), dln, c.mean1.data(), c.rstd1.data(), G + p.ln1_g.offset,
                                                       G + p.ln1_b.offset, tokens, W, st});
  launch(be, RT * W, kernels::AddInPlace{dx, tmp}, kElementGrain);
}

void SeparableTransformer::forward(const float* counts, std::int64_t B, std::int64_t T, bool train, std::uint32_t step) {
  Backend& be = backend_;
  const std::int64_t R = runs(), N = config_.neurons, W = config_.width, st = weights_.stride();
  const std::int64_t tokens = B * N * T, RT = R * tokens;
  const float* P = weights_.values();
  batch_ = B;
  time_ = T;
  float* d_counts = ensure(be, counts_, RT);
  be.copy_from_host(d_counts, counts, static_cast<std::size_t>(RT) * sizeof(float));
  float* embedded = ensure(be, embedded_, RT * W);
  launch(be, RT, kernels::Embed{d_counts, P, embedded, layout_.embed_w.offset, layout_.embed_b.offset, st, B, N, T, W}, kRowGrain);
  for (auto* caches : {&individual_cache_, &population_cache_}) {
    const std::size_t layers = caches == &individual_cache_ ? layout_.individual.size() : layout_.population.size();
    while (caches->size() < layers) caches->push_back(std::make_unique<LayerCache>());
  }
  ensure(be, layer_io_[0], RT * W);
  ensure(be, layer_io_[1], RT * W);
  const float* x = embedded;
  for (std::size_t l = 0; l < layout_.individual.size(); ++l) {
    float* y = layer_io_[l % 2].data();
    block_forward(layout_.individual[l], *individual_cache_[l], x, y, B * N, T);
    x = y;
  }
  const std::size_t bytes = static_cast<std::size_t>(RT * W) * sizeof(float);
  float* ind_out = ensure(be, individual_out_, RT * W);
  be.copy_within(ind_out, x, bytes);
  float* ind_norm = ensure(be, individual_norm_out_, RT * W);
  launch(be, RT, nn::LayerNormForward<float>{ind_out, P + layout_.individual_norm_g.offset, P + layout_.individual_norm_b.offset,
                                             ind_norm, ensure(be, individual_mean_, RT), ensure(be, individual_rstd_, RT), W,
                                             kNormEps, tokens, st}, kRowGrain);
  float* pop_in = ensure(be, population_in_, RT * W);
  const std::int64_t emb = config_.neuron_embedding ? layout_.neuron_embedding.offset : -1;
  launch(be, RT, kernels::ToPopulation{ind_norm, P, pop_in, emb, st, B, T, N, W}, kRowGrain);
  x = pop_in;
  for (std::size_t l = 0; l < layout_.population.size(); ++l) {
    float* y = layer_io_[l % 2].data();
    block_forward(layout_.population[l], *population_cache_[l], x, y, B * T, N);
    x = y;
  }
  float* pop_out = ensure(be, population_out_, RT * W);
  be.copy_within(pop_out, x, bytes);
  float* pop_norm = ensure(be, population_norm_out_, RT * W);
  launch(be, RT, nn::LayerNormForward<float>{pop_out, P + layout_.population_norm_g.offset, P + layout_.population_norm_b.offset,
                                             pop_norm, ensure(be, population_mean_, RT), ensure(be, population_rstd_, RT), W,
                                             kNormEps, tokens, st}, kRowGrain);
  // Pooling: a mean over neurons (and time, for a label).
  const bool per_bin = config_.task == Task::regress;
  const std::int64_t rows = per_bin ? B * T : B;
  const float inv = 1.0f / static_cast<float>(per_bin ? N : N * T);
  float* pooled = ensure(be, pooled_, R * rows * W);
  launch(be, R * rows * W, kernels::Pool{pop_norm, pooled, B, T, N, W, per_bin, inv}, kRowGrain);
  float* dropped = ensure(be, dropped_, R * rows * W);
  if (train && config_.dropout > 0) {
    launch(be, R * rows * W,
           nn::RunDropoutForward<float>{pooled, dropped, {weights_.seeds(), rows * W, {0, dropout_layer_, step, config_.dropout}}},
           kElementGrain);
  } else {
    be.copy_within(dropped, pooled, static_cast<std::size_t>(R * rows * W) * sizeof(float));
  }
  runs::linear_forward(be, R, dropped, P + layout_.head_w.offset, P + layout_.head_b.offset, st,
                       ensure(be, output_, R * rows * config_.outputs), rows, W, config_.outputs);
}

std::vector<float> SeparableTransformer::train_step(const float* counts, const std::int32_t* labels, const float* targets,
                                                    std::int64_t B, std::int64_t T, std::uint32_t step, bool freeze_individual) {
  Backend& be = backend_;
  forward(counts, B, T, true, step);
  const std::int64_t R = runs(), N = config_.neurons, W = config_.width, C = config_.outputs, st = weights_.stride();
  const bool per_bin = config_.task == Task::regress;
  const std::int64_t rows = per_bin ? B * T : B, tokens = B * N * T, RT = R * tokens;
  float* dout = ensure(be, dout_, R * rows * C);
  std::int64_t per_run = 0;
  if (!per_bin) {
    if (labels == nullptr) throw Error::internal("classification training needs labels");
    std::int32_t* d_labels = ensure(be, labels_, R * rows);
    be.copy_from_host(d_labels, labels, static_cast<std::size_t>(R * rows) * sizeof(std::int32_t));
    per_run = rows;
    launch(be, R * rows, nn::SoftmaxCrossEntropy<float>{output_.data(), d_labels, ensure(be, loss_rows_, R * per_run), dout, C,
                                                        1.0f / static_cast<float>(rows)}, kRowGrain);
  } else {
    if (targets == nullptr) throw Error::internal("regression training needs targets");
    float* d_targets = scratch(7, R * rows * C);
    be.copy_from_host(d_targets, targets, static_cast<std::size_t>(R * rows * C) * sizeof(float));
    per_run = rows * C;
    launch(be, R * per_run, nn::MeanSquaredError<float>{output_.data(), d_targets, ensure(be, loss_rows_, R * per_run), dout,
                                                        1.0f / static_cast<float>(rows * C)}, kElementGrain);
  }
  launch(be, R, nn::RunSum<float>{loss_rows_.data(), ensure(be, run_losses_, R), per_run});
  std::vector<double> run_losses(static_cast<std::size_t>(R));
  be.copy_to_host(run_losses.data(), run_losses_.data(), run_losses.size() * sizeof(double));
  for (double& loss : run_losses) loss /= static_cast<double>(per_run);
  weights_.zero_grads();
  float* G = weights_.grads();
  const float* P = weights_.values();
  float* ddropped = scratch(0, R * rows * W);
  float* dpooled = scratch(1, R * rows * W);
  runs::linear_backward(be, R, dropped_.data(), P + layout_.head_w.offset, dout, ddropped, G + layout_.head_w.offset,
                        G + layout_.head_b.offset, st, rows, W, C);
  if (config_.dropout > 0) {
    launch(be, R * rows * W,
           nn::RunDropoutBackward<float>{ddropped, dpooled, {weights_.seeds(), rows * W, {0, dropout_layer_, step, config_.dropout}}},
           kElementGrain);
  } else {
    be.copy_within(dpooled, ddropped, static_cast<std::size_t>(R * rows * W) * sizeof(float));
  }
  // The layer ping-pong buffers are free after the forward pass (each block keeps its input).
  float* dnorm = layer_io_[0].data();
  float* dx = layer_io_[1].data();
  const float inv = 1.0f / static_cast<float>(per_bin ? N : N * T);
  launch(be, RT, kernels::PoolBackward{dpooled, dnorm, B, T, N, W, per_bin, inv}, kRowGrain);
  launch(be, RT, nn::LayerNormBackwardInput<float>{population_out_.data(), P + layout_.population_norm_g.offset, dnorm,
                                                   population_mean_.data(), population_rstd_.data(), dx, W, tokens, st}, kRowGrain);
  launch(be, R * W, nn::LayerNormBackwardParams<float>{population_out_.data(), dnorm, population_mean_.data(), population_rstd_.data(),
                                                       G + layout_.population_norm_g.offset, G + layout_.population_norm_b.offset,
                                                       tokens, W, st});
  for (std::size_t l = layout_.population.size(); l-- > 0;) block_backward(layout_.population[l], *population_cache_[l], dx, B * T, N);
  if (config_.neuron_embedding) {
    launch(be, R * N * W, kernels::NeuronEmbeddingGrad{dx, G, layout_.neuron_embedding.offset, st, B * T, N, W}, kRowGrain);
  }
  std::vector<float> losses(run_losses.begin(), run_losses.end());
  if (freeze_individual) return losses;
  launch(be, RT, kernels::ToIndividual{dx, dnorm, B, T, N, W}, kRowGrain);
  launch(be, RT, nn::LayerNormBackwardInput<float>{individual_out_.data(), P + layout_.individual_norm_g.offset, dnorm,
                                                   individual_mean_.data(), individual_rstd_.data(), dx, W, tokens, st}, kRowGrain);
  launch(be, R * W, nn::LayerNormBackwardParams<float>{individual_out_.data(), dnorm, individual_mean_.data(), individual_rstd_.data(),
                                                       G + layout_.individual_norm_g.offset, G + layout_.individual_norm_b.offset,
                                                       tokens, W, st});
  for (std::size_t l = layout_.individual.size(); l-- > 0;) block_backward(layout_.individual[l], *individual_cache_[l], dx, B * N, T);
  launch(be, R * W, kernels::EmbedGrad{counts_.data(), dx, G, layout_.embed_w.offset, layout_.embed_b.offset, st, B, N, T, W});
  return losses;
}

float SeparableTransformer::train_step_loss(const float* counts, const std::int32_t* labels, const float* targets,
                                            std::int64_t B, std::int64_t T, std::uint32_t step, bool freeze_individual) {
  if (runs() != 1) throw Error::internal("train_step_loss is for one run; use train_step for " + std::to_string(runs()));
  return train_step(counts, labels, targets, B, T, step, freeze_individual)[0];
}

void SeparableTransformer::predict(const float* counts, std::int64_t batch, std::int64_t time, std::vector<float>& out) {
  forward(counts, batch, time, false, 0);
  const std::int64_t rows = config_.task == Task::regress ? batch * time : batch;
  out.resize(static_cast<std::size_t>(runs() * rows * config_.outputs));
  backend_.copy_to_host(out.data(), output_.data(), out.size() * sizeof(float));
}

void SeparableTransformer::population_output(const float* counts, std::int64_t batch, std::int64_t time,
                                             std::vector<float>& out) {
  forward(counts, batch, time, false, 0);
  out.resize(static_cast<std::size_t>(runs() * batch * time * config_.neurons * config_.width));
  backend_.copy_to_host(out.data(), population_norm_out_.data(), out.size() * sizeof(float));
}

}  // namespace engram::models::transformer
