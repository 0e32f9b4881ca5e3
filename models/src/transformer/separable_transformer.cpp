#include "engram/models/transformer/separable_transformer.hpp"

#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/kernels/core/random.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/dropout.hpp"
#include "engram/kernels/nn/layer_norm.hpp"
#include "engram/kernels/nn/linear.hpp"
#include "engram/kernels/nn/losses.hpp"
#include "engram/models/transformer/ops.hpp"

namespace engram::models::transformer {

namespace {

constexpr float kNormEps = 1e-5f;
using Init = Layout::Named::Init;

void check_positive(std::int64_t v, const char* field) {
  if (v <= 0) throw Error::bad_input(field, std::to_string(v), "must be > 0");
}

void add_into(std::vector<float>& dst, const std::vector<float>& src, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

void grow(std::vector<float>& v, std::int64_t n) {
  if (static_cast<std::int64_t>(v.size()) < n) v.resize(static_cast<std::size_t>(n));
}

}  // namespace

SeparableTransformer::SeparableTransformer(const TransformerConfig& config, Backend& backend, std::uint64_t seed)
    : config_(config), backend_(backend), seed_(seed) {
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
  build_layout();
  params.assign(static_cast<std::size_t>(layout_.total), 0.0f);
  grads.assign(params.size(), 0.0f);
  init_params(seed, 0);
}

void SeparableTransformer::build_layout() {
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
  const std::int64_t W = config_.width, HD = config_.heads * config_.head_dim, F = config_.ff_hidden;
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
  for (std::int64_t l = 0; l < config_.individual_layers; ++l) L.individual.push_back(layer("individual." + std::to_string(l)));
  L.individual_norm_g = add("individual.norm.weight", {W}, Init::ones, 1);
  L.individual_norm_b = add("individual.norm.bias", {W}, Init::zeros, 1);
  L.individual_end = at;
  if (config_.neuron_embedding) L.neuron_embedding = add("neuron_embedding", {config_.neurons, W}, Init::normal, 1);
  for (std::int64_t l = 0; l < config_.population_layers; ++l) L.population.push_back(layer("population." + std::to_string(l)));
  L.population_norm_g = add("population.norm.weight", {W}, Init::ones, 1);
  L.population_norm_b = add("population.norm.bias", {W}, Init::zeros, 1);
  L.head_w = add("head.weight", {config_.outputs, W}, Init::uniform, W);
  L.head_b = add("head.bias", {config_.outputs}, Init::uniform, W);
  L.total = at;
  layout_ = std::move(L);
}

void SeparableTransformer::init_params(std::uint64_t seed, std::int64_t from_tensor) {
  for (std::size_t t = static_cast<std::size_t>(from_tensor); t < layout_.tensors.size(); ++t) {
    const auto& tensor = layout_.tensors[t];
    const double bound = 1.0 / std::sqrt(static_cast<double>(tensor.fan_in));
    for (std::int64_t i = 0; i < tensor.slice.size; ++i) {
      float& p = params[static_cast<std::size_t>(tensor.slice.offset + i)];
      RngStream rng({seed, static_cast<std::uint32_t>(t), Purpose::nn_init, 0, static_cast<std::uint32_t>(i)});
      switch (tensor.init) {
        case Init::ones: p = 1.0f; break;
        case Init::zeros: p = 0.0f; break;
        case Init::normal: p = static_cast<float>(rng.normal()); break;
        case Init::uniform: p = static_cast<float>(bound * (2.0 * rng.uniform() - 1.0)); break;
      }
    }
  }
}

void SeparableTransformer::reset_population(std::int64_t neurons, std::uint64_t seed) {
  check_positive(neurons, "transfer.neurons");
  config_.neurons = neurons;
  std::size_t first = 0;
  const std::int64_t keep = layout_.individual_end;
  build_layout();
  while (first < layout_.tensors.size() && layout_.tensors[first].slice.offset < keep) ++first;
  params.resize(static_cast<std::size_t>(layout_.total));
  grads.assign(params.size(), 0.0f);
  init_params(seed, static_cast<std::int64_t>(first));
}

void SeparableTransformer::block_forward(const LayerSlices& p, LayerCache& c, const std::vector<float>& in,
                                         std::vector<float>& out, std::int64_t S, std::int64_t Lseq) {
  Ops ops{backend_};
  const std::int64_t tokens = S * Lseq, W = config_.width, H = config_.heads, Dh = config_.head_dim, HD = H * Dh,
                     F = config_.ff_hidden;
  const float* P = params.data();
  auto sz = [](std::int64_t n) { return static_cast<std::size_t>(n); };
  c.x.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(tokens * W));
  c.ln1.resize(sz(tokens * W));
  c.mean1.resize(sz(tokens));
  c.rstd1.resize(sz(tokens));
  ops.for_each(tokens, nn::LayerNormForward<float>{c.x.data(), P + p.ln1_g.offset, P + p.ln1_b.offset, c.ln1.data(),
                                                   c.mean1.data(), c.rstd1.data(), W, kNormEps});
  for (auto* v : {&c.q, &c.k, &c.v, &c.att}) v->resize(sz(tokens * HD));
  c.lse.resize(sz(tokens * H));
  nn::linear_forward(ops, c.ln1.data(), P + p.wq.offset, P + p.bq.offset, c.q.data(), tokens, W, HD);
  nn::linear_forward(ops, c.ln1.data(), P + p.wk.offset, P + p.bk.offset, c.k.data(), tokens, W, HD);
  nn::linear_forward(ops, c.ln1.data(), P + p.wv.offset, P + p.bv.offset, c.v.data(), tokens, W, HD);
  offsets_.resize(sz(S + 1));
  for (std::int64_t s = 0; s <= S; ++s) offsets_[sz(s)] = s * Lseq;
  const attention::AttentionShape shape{offsets_.data(), offsets_.data(), S, H, Dh, false, nullptr,
                                        1.0f / std::sqrt(static_cast<float>(Dh))};
  backend_.attention_forward({shape, c.q.data(), c.k.data(), c.v.data(), c.att.data(), c.lse.data()}, tokens);
  c.x1.resize(sz(tokens * W));
  nn::linear_forward(ops, c.att.data(), P + p.wo.offset, P + p.bo.offset, c.x1.data(), tokens, HD, W);
  for (std::int64_t i = 0; i < tokens * W; ++i) c.x1[sz(i)] += c.x[sz(i)];
  c.ln2.resize(sz(tokens * W));
  c.mean2.resize(sz(tokens));
  c.rstd2.resize(sz(tokens));
  ops.for_each(tokens, nn::LayerNormForward<float>{c.x1.data(), P + p.ln2_g.offset, P + p.ln2_b.offset, c.ln2.data(),
                                                   c.mean2.data(), c.rstd2.data(), W, kNormEps});
  c.h.resize(sz(tokens * F));
  c.f.resize(sz(tokens * F));
  nn::linear_forward(ops, c.ln2.data(), P + p.w1.offset, P + p.b1.offset, c.h.data(), tokens, W, F);
  ops.for_each(tokens * F, nn::GeluForward<float>{c.h.data(), c.f.data()});
  out.resize(sz(tokens * W));
  nn::linear_forward(ops, c.f.data(), P + p.w2.offset, P + p.b2.offset, out.data(), tokens, F, W);
  for (std::int64_t i = 0; i < tokens * W; ++i) out[sz(i)] += c.x1[sz(i)];
}

void SeparableTransformer::block_backward(const LayerSlices& p, LayerCache& c, std::vector<float>& dx, std::int64_t S,
                                          std::int64_t Lseq) {
  Ops ops{backend_};
  const std::int64_t tokens = S * Lseq, W = config_.width, H = config_.heads, Dh = config_.head_dim, HD = H * Dh,
                     F = config_.ff_hidden;
  const float* P = params.data();
  float* G = grads.data();
  auto& df = scratch_[0];
  auto& dln = scratch_[1];
  auto& tmp = scratch_[2];
  auto& dq = scratch_[3];
  auto& dk = scratch_[4];
  auto& dv = scratch_[5];
  grow(df, tokens * F);
  grow(dln, tokens * W);
  grow(tmp, tokens * std::max(W, HD));
  for (auto* v : {&dq, &dk, &dv}) grow(*v, tokens * HD);
  // Feed-forward branch: out = x1 + W2 gelu(W1 ln2(x1)).
  nn::linear_backward(ops, c.f.data(), P + p.w2.offset, dx.data(), df.data(), G + p.w2.offset, G + p.b2.offset, tokens, F, W);
  ops.for_each(tokens * F, nn::GeluBackward<float>{c.h.data(), df.data(), df.data()});
  nn::linear_backward(ops, c.ln2.data(), P + p.w1.offset, df.data(), dln.data(), G + p.w1.offset, G + p.b1.offset, tokens, W, F);
  ops.for_each(tokens, nn::LayerNormBackwardInput<float>{c.x1.data(), P + p.ln2_g.offset, dln.data(), c.mean2.data(),
                                                         c.rstd2.data(), tmp.data(), W});
  ops.for_each(W, nn::LayerNormBackwardParams<float>{c.x1.data(), dln.data(), c.mean2.data(), c.rstd2.data(),
                                                     G + p.ln2_g.offset, G + p.ln2_b.offset, tokens, W});
  add_into(dx, tmp, tokens * W);  // dx is now d(x1)
  // Attention branch: x1 = x + Wo attn(q, k, v), q/k/v = W ln1(x).
  std::vector<float>& datt = df;  // free again
  grow(datt, tokens * HD);
  nn::linear_backward(ops, c.att.data(), P + p.wo.offset, dx.data(), datt.data(), G + p.wo.offset, G + p.bo.offset, tokens, HD, W);
  std::vector<float> delta(static_cast<std::size_t>(tokens * H));
  offsets_.resize(static_cast<std::size_t>(S + 1));
  for (std::int64_t s = 0; s <= S; ++s) offsets_[static_cast<std::size_t>(s)] = s * Lseq;
  const attention::AttentionShape shape{offsets_.data(), offsets_.data(), S, H, Dh, false, nullptr,
                                        1.0f / std::sqrt(static_cast<float>(Dh))};
  backend_.attention_backward({shape, c.q.data(), c.k.data(), c.v.data(), c.att.data(), c.lse.data(), datt.data(),
                               delta.data(), dq.data(), dk.data(), dv.data(), tokens},
                              tokens);
  nn::linear_backward(ops, c.ln1.data(), P + p.wq.offset, dq.data(), dln.data(), G + p.wq.offset, G + p.bq.offset, tokens, W, HD);
  nn::linear_backward(ops, c.ln1.data(), P + p.wk.offset, dk.data(), tmp.data(), G + p.wk.offset, G + p.bk.offset, tokens, W, HD);
  add_into(dln, tmp, tokens * W);
  nn::linear_backward(ops, c.ln1.data(), P + p.wv.offset, dv.data(), tmp.data(), G + p.wv.offset, G + p.bv.offset, tokens, W, HD);
  add_into(dln, tmp, tokens * W);
  ops.for_each(tokens, nn::LayerNormBackwardInput<float>{c.x.data(), P + p.ln1_g.offset, dln.data(), c.mean1.data(),
                                                         c.rstd1.data(), tmp.data(), W});
  ops.for_each(W, nn::LayerNormBackwardParams<float>{c.x.data(), dln.data(), c.mean1.data(), c.rstd1.data(),
                                                     G + p.ln1_g.offset, G + p.ln1_b.offset, tokens, W});
  add_into(dx, tmp, tokens * W);
}

void SeparableTransformer::forward(const float* counts, std::int64_t B, std::int64_t T, bool train, std::uint32_t step) {
  Ops ops{backend_};
  const std::int64_t N = config_.neurons, W = config_.width;
  const float* P = params.data();
  batch_ = B;
  time_ = T;
  auto sz = [](std::int64_t n) { return static_cast<std::size_t>(n); };
  const std::int64_t tokens = B * N * T;
  embedded_.resize(sz(tokens * W));
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t n = 0; n < N; ++n) {
      for (std::int64_t t = 0; t < T; ++t) {
        const float x = counts[(b * T + t) * N + n];
        float* e = embedded_.data() + ((b * N + n) * T + t) * W;
        for (std::int64_t w = 0; w < W; ++w) e[w] = x * P[layout_.embed_w.offset + w] + P[layout_.embed_b.offset + w];
      }
    }
  }
  individual_cache_.resize(layout_.individual.size());
  std::vector<float> x = embedded_, y;
  for (std::size_t l = 0; l < layout_.individual.size(); ++l) {
    block_forward(layout_.individual[l], individual_cache_[l], x, y, B * N, T);
    std::swap(x, y);
  }
  individual_out_ = std::move(x);
  individual_norm_out_.resize(sz(tokens * W));
  individual_mean_.resize(sz(tokens));
  individual_rstd_.resize(sz(tokens));
  ops.for_each(tokens, nn::LayerNormForward<float>{individual_out_.data(), P + layout_.individual_norm_g.offset,
                                                   P + layout_.individual_norm_b.offset, individual_norm_out_.data(),
                                                   individual_mean_.data(), individual_rstd_.data(), W, kNormEps});
  population_in_.resize(sz(tokens * W));
  const float* emb = config_.neuron_embedding ? P + layout_.neuron_embedding.offset : nullptr;
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < T; ++t) {
      for (std::int64_t n = 0; n < N; ++n) {
        const float* src = individual_norm_out_.data() + ((b * N + n) * T + t) * W;
        float* dst = population_in_.data() + ((b * T + t) * N + n) * W;
        for (std::int64_t w = 0; w < W; ++w) dst[w] = src[w] + (emb ? emb[n * W + w] : 0.0f);
      }
    }
  }
  population_cache_.resize(layout_.population.size());
  x = population_in_;
  for (std::size_t l = 0; l < layout_.population.size(); ++l) {
    block_forward(layout_.population[l], population_cache_[l], x, y, B * T, N);
    std::swap(x, y);
  }
  population_out_ = std::move(x);
  population_norm_out_.resize(sz(tokens * W));
  population_mean_.resize(sz(tokens));
  population_rstd_.resize(sz(tokens));
  ops.for_each(tokens, nn::LayerNormForward<float>{population_out_.data(), P + layout_.population_norm_g.offset,
                                                   P + layout_.population_norm_b.offset, population_norm_out_.data(),
                                                   population_mean_.data(), population_rstd_.data(), W, kNormEps});
  // Pooling: a mean over neurons (and time, for a label).
  const bool per_bin = config_.task == Task::regress;
  const std::int64_t rows = per_bin ? B * T : B;
  pooled_.assign(sz(rows * W), 0.0f);
  const float inv = 1.0f / static_cast<float>(per_bin ? N : N * T);
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < T; ++t) {
      float* dst = pooled_.data() + (per_bin ? b * T + t : b) * W;
      for (std::int64_t n = 0; n < N; ++n) {
        const float* src = population_norm_out_.data() + ((b * T + t) * N + n) * W;
        for (std::int64_t w = 0; w < W; ++w) dst[w] += src[w] * inv;
      }
    }
  }
  dropped_.resize(pooled_.size());
  if (train && config_.dropout > 0) {
    ops.for_each(rows * W, nn::DropoutForward<float>{pooled_.data(), dropped_.data(), {seed_, 0, step, config_.dropout}});
  } else {
    dropped_ = pooled_;
  }
  output_.resize(sz(rows * config_.outputs));
  nn::linear_forward(ops, dropped_.data(), P + layout_.head_w.offset, P + layout_.head_b.offset, output_.data(), rows, W,
                     config_.outputs);
}

float SeparableTransformer::train_step_loss(const float* counts, const std::int32_t* labels, const float* targets,
                                            std::int64_t B, std::int64_t T, std::uint32_t step, bool freeze_individual) {
  Ops ops{backend_};
  forward(counts, B, T, true, step);
  const std::int64_t N = config_.neurons, W = config_.width, C = config_.outputs;
  const bool per_bin = config_.task == Task::regress;
  const std::int64_t rows = per_bin ? B * T : B;
  auto sz = [](std::int64_t n) { return static_cast<std::size_t>(n); };
  std::fill(grads.begin(), grads.end(), 0.0f);
  std::vector<float> dout(sz(rows * C)), loss;
  double total = 0;
  if (!per_bin) {
    if (labels == nullptr) throw Error::internal("classification training needs labels");
    loss.resize(sz(rows));
    ops.for_each(rows, nn::SoftmaxCrossEntropy<float>{output_.data(), labels, loss.data(), dout.data(), C,
                                                      1.0f / static_cast<float>(rows)});
  } else {
    if (targets == nullptr) throw Error::internal("regression training needs targets");
    loss.resize(sz(rows * C));
    ops.for_each(rows * C, nn::MeanSquaredError<float>{output_.data(), targets, loss.data(), dout.data(),
                                                       1.0f / static_cast<float>(rows * C)});
  }
  for (float l : loss) total += l;
  total /= static_cast<double>(loss.size());
  float* G = grads.data();
  const float* P = params.data();
  std::vector<float> ddropped(sz(rows * W)), dpooled(sz(rows * W));
  nn::linear_backward(ops, dropped_.data(), P + layout_.head_w.offset, dout.data(), ddropped.data(),
                      G + layout_.head_w.offset, G + layout_.head_b.offset, rows, W, C);
  if (config_.dropout > 0) {
    ops.for_each(rows * W, nn::DropoutBackward<float>{ddropped.data(), dpooled.data(), {seed_, 0, step, config_.dropout}});
  } else {
    dpooled = ddropped;
  }
  const std::int64_t tokens = B * N * T;
  std::vector<float> dnorm(sz(tokens * W)), dx(sz(tokens * W));
  const float inv = 1.0f / static_cast<float>(per_bin ? N : N * T);
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < T; ++t) {
      const float* src = dpooled.data() + (per_bin ? b * T + t : b) * W;
      for (std::int64_t n = 0; n < N; ++n) {
        float* dst = dnorm.data() + ((b * T + t) * N + n) * W;
        for (std::int64_t w = 0; w < W; ++w) dst[w] = src[w] * inv;
      }
    }
  }
  ops.for_each(tokens, nn::LayerNormBackwardInput<float>{population_out_.data(), P + layout_.population_norm_g.offset,
                                                         dnorm.data(), population_mean_.data(), population_rstd_.data(),
                                                         dx.data(), W});
  ops.for_each(W, nn::LayerNormBackwardParams<float>{population_out_.data(), dnorm.data(), population_mean_.data(),
                                                     population_rstd_.data(), G + layout_.population_norm_g.offset,
                                                     G + layout_.population_norm_b.offset, tokens, W});
  for (std::size_t l = layout_.population.size(); l-- > 0;) {
    block_backward(layout_.population[l], population_cache_[l], dx, B * T, N);
  }
  if (config_.neuron_embedding) {
    float* dE = G + layout_.neuron_embedding.offset;
    for (std::int64_t bt = 0; bt < B * T; ++bt) {
      for (std::int64_t n = 0; n < N; ++n) {
        for (std::int64_t w = 0; w < W; ++w) dE[n * W + w] += dx[sz((bt * N + n) * W + w)];
      }
    }
  }
  if (freeze_individual) return static_cast<float>(total);
  // Back to the individual module's layout [B, N, T, W].
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < T; ++t) {
      for (std::int64_t n = 0; n < N; ++n) {
        const float* src = dx.data() + ((b * T + t) * N + n) * W;
        float* dst = dnorm.data() + ((b * N + n) * T + t) * W;
        for (std::int64_t w = 0; w < W; ++w) dst[w] = src[w];
      }
    }
  }
  ops.for_each(tokens, nn::LayerNormBackwardInput<float>{individual_out_.data(), P + layout_.individual_norm_g.offset,
                                                         dnorm.data(), individual_mean_.data(), individual_rstd_.data(),
                                                         dx.data(), W});
  ops.for_each(W, nn::LayerNormBackwardParams<float>{individual_out_.data(), dnorm.data(), individual_mean_.data(),
                                                     individual_rstd_.data(), G + layout_.individual_norm_g.offset,
                                                     G + layout_.individual_norm_b.offset, tokens, W});
  for (std::size_t l = layout_.individual.size(); l-- > 0;) {
    block_backward(layout_.individual[l], individual_cache_[l], dx, B * N, T);
  }
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t n = 0; n < N; ++n) {
      for (std::int64_t t = 0; t < T; ++t) {
        const float x = counts[(b * T + t) * N + n];
        const float* d = dx.data() + ((b * N + n) * T + t) * W;
        for (std::int64_t w = 0; w < W; ++w) {
          G[layout_.embed_w.offset + w] += x * d[w];
          G[layout_.embed_b.offset + w] += d[w];
        }
      }
    }
  }
  return static_cast<float>(total);
}

void SeparableTransformer::predict(const float* counts, std::int64_t batch, std::int64_t time, std::vector<float>& out) {
  forward(counts, batch, time, false, 0);
  out = output_;
}

void SeparableTransformer::population_output(const float* counts, std::int64_t batch, std::int64_t time,
                                             std::vector<float>& out) {
  forward(counts, batch, time, false, 0);
  out = population_norm_out_;
}

}  // namespace engram::models::transformer
