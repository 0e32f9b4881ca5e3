#include "engram/models/ssl/swap_vae.hpp"

#include <algorithm>
#include <cmath>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/byol.hpp"
#include "engram/kernels/nn/losses.hpp"
#include "engram/kernels/nn/vae.hpp"
#include "ssl_kernels.hpp"

namespace engram::ssl {

namespace {

std::vector<std::int64_t> encoder_dims(const SwapVaeConfig& c, std::int64_t neurons) {
  std::vector<std::int64_t> d = {neurons};
  d.insert(d.end(), c.hidden.begin(), c.hidden.end());
  d.push_back(c.content + 2 * c.style);
  return d;
}

std::vector<std::int64_t> decoder_dims(const SwapVaeConfig& c, std::int64_t neurons) {
  std::vector<std::int64_t> d = {c.content + c.style};
  d.insert(d.end(), c.hidden.rbegin(), c.hidden.rend());
  d.push_back(neurons);
  return d;
}

// Launches of fewer items run inline on the CPU (a fork/join costs more than that much work).
constexpr std::int64_t kRowGrain = 64;
constexpr std::int64_t kElementGrain = 8192;

// Loss sums of a step, one slot of R doubles each: the decodes, the two KL terms, the alignment.
constexpr std::int64_t kDecodeSlot = 0, kKlSlot = 4, kAlignSlot = 6, kSlots = 7;

}  // namespace

template <class T>
struct SwapVaeModel<T>::State {
  Buffer<std::int32_t> bins[2];
  Buffer<T> x[2], content[2], mu[2], logvar[2], eps[2], s[2];
  MlpTape<T> enc_tape[2], dec_tape;
  Buffer<T> z, rate, item, drate, dpre, dz;
  Buffer<T> dcontent[2], ds[2], dmu[2], dlogvar[2], kl, align, dalign, dout;
  Buffer<double> sums;
  Buffer<T> all_bins;
  MlpTape<T> represent_tape;
};

template <class T>
SwapVaeModel<T>::SwapVaeModel(const SwapVaeConfig& cfg, const ReachRuns& runs, Backend& backend)
    : cfg_(cfg),
      runs_(runs),
      backend_(backend),
      enc_(backend, {encoder_dims(cfg, runs.data().neurons), cfg.batch_norm}, runs.runs(), 0, 0),
      dec_(backend, {decoder_dims(cfg, runs.data().neurons), cfg.batch_norm}, runs.runs(), enc_.param_end(),
           enc_.stats_end()),
      weights_(backend, runs.runs(), dec_.param_end()),
      stats_stride_(models::runs::padded(dec_.stats_end())),
      reach_(backend, runs),
      state_(std::make_unique<State>()) {
  if (cfg.style <= 0) throw Error::bad_input("model.style", std::to_string(cfg.style), "must be > 0");
  if (cfg.swap && cfg.content <= 0) throw Error::bad_input("model.content", std::to_string(cfg.content), "swap needs a content block");
  const std::int64_t R = runs.runs();
  weights_.set_seeds(runs.seeds());
  std::vector<T> stats_host(static_cast<std::size_t>(R * stats_stride_), T(0));
  for (std::int64_t r = 0; r < R; ++r) {
    std::vector<T> p(static_cast<std::size_t>(weights_.params()), T(0)), s(static_cast<std::size_t>(stats_stride_), T(0));
    const std::uint64_t seed = runs.seeds()[static_cast<std::size_t>(r)];
    enc_.init_run(p, s, seed, 0);
    dec_.init_run(p, s, seed, 16);
    weights_.upload_run(r, p);
    std::copy(s.begin(), s.end(), stats_host.begin() + r * stats_stride_);
  }
  stats_ = Buffer<T>(backend, stats_host);
  // Every array of a step has a fixed size: allocate once.
  State& st = *state_;
  const std::int64_t B = cfg.batch, N = runs.data().neurons, C = cfg.content, S = cfg.style, rows = R * B;
  auto alloc = [&](Buffer<T>& b, std::int64_t n) { b = Buffer<T>(backend, static_cast<std::size_t>(std::max<std::int64_t>(n, 1))); };
  for (int v = 0; v < 2; ++v) {
    alloc(st.x[v], rows * N);
    alloc(st.content[v], rows * C);
    alloc(st.dcontent[v], rows * C);
    for (Buffer<T>* b : {&st.mu[v], &st.logvar[v], &st.eps[v], &st.s[v], &st.ds[v], &st.dmu[v], &st.dlogvar[v]}) alloc(*b, rows * S);
  }
  alloc(st.z, rows * (C + S));
  alloc(st.dz, rows * (C + S));
  for (Buffer<T>* b : {&st.rate, &st.item, &st.drate, &st.dpre}) alloc(*b, rows * N);
  alloc(st.kl, rows);
  alloc(st.align, rows);
  alloc(st.dalign, rows * C);
  alloc(st.dout, rows * (C + 2 * S));
  st.sums = Buffer<double>(backend, static_cast<std::size_t>(kSlots * R));
}

template <class T>
SwapVaeModel<T>::~SwapVaeModel() = default;

template <class T>
std::vector<models::runs::Span> SwapVaeModel<T>::networks() const {
  return {{0, enc_.param_end()}, {dec_.param_offset(), dec_.param_end() - dec_.param_offset()}};
}

template <class T>
std::vector<std::vector<double>> SwapVaeModel<T>::loss(std::uint32_t step, bool gradients) {
  Backend& be = backend_;
  State& st = *state_;
  const std::int64_t R = runs_.runs(), B = cfg_.batch, N = runs_.data().neurons;
  const std::int64_t C = cfg_.content, S = cfg_.style, L = C + S, E = C + 2 * S, rows = R * B;
  // Encoder and decoder are slices of the same parameter vectors and statistics.
  const MlpWeights<T> w{weights_.values(), weights_.grads(), weights_.stride(), stats_.data(), stats_stride_};
  auto copy_columns = [&](const T* src, std::int64_t src_cols, std::int64_t src_offset, T* dst, std::int64_t dst_cols,
                          std::int64_t dst_offset, std::int64_t count, bool accumulate) {
    if (count > 0) {
      launch(be, rows, kernels::CopyColumns<T>{src, dst, src_cols, src_offset, dst_cols, dst_offset, count, accumulate},
             kRowGrain);
    }
  };
  auto run_sum = [&](const Buffer<T>& values, std::int64_t per_run, std::int64_t slot) {
    launch(be, R, nn::RunSum<T>{values.data(), st.sums.data() + slot * R, per_run});
  };
  const auto anchors = runs_.sample_anchors(step, B, 0);
  const auto partners = runs_.sample_neighbours(anchors, step, cfg_.max_offset, 0);
  const std::vector<std::int32_t>* bins[2] = {&anchors, &partners};
  for (int v = 0; v < 2; ++v) {
    reach_.augment(*bins[v], st.bins[v], B, step, static_cast<std::uint32_t>(v + 1), cfg_.max_dropout,
                   cfg_.dropout_apply, 0.0, false, st.x[v]);
    enc_.forward(w, st.x[v].data(), B, NormMode::train, st.enc_tape[v]);
    const T* out = st.enc_tape[v].output();
    copy_columns(out, E, 0, st.content[v].data(), C, 0, C, false);
    copy_columns(out, E, C, st.mu[v].data(), S, 0, S, false);
    copy_columns(out, E, C + S, st.logvar[v].data(), S, 0, S, false);
    launch(be, rows, kernels::LatentNoise<T>{reach_.seeds().data(), st.eps[v].data(), B, S, static_cast<std::uint32_t>(v), step},
           kRowGrain);
    launch(be, rows * S, nn::Reparameterize<T>{st.mu[v].data(), st.logvar[v].data(), st.eps[v].data(), st.s[v].data()},
           kElementGrain);
  }
  // Decodes: (own content, own style) for both views, and with swap (other content, own style).
  struct Decode {
    int content_of, style_of;
    double weight;
  };
  std::vector<Decode> decodes;
  const double recon_weight = cfg_.swap ? 0.5 : 1.0;
  for (int v = 0; v < 2; ++v) decodes.push_back({v, v, recon_weight});
  if (cfg_.swap) {
    for (int v = 0; v < 2; ++v) decodes.push_back({1 - v, v, 0.5});
  }
  if (gradients) {
    weights_.zero_grads();
    for (int v = 0; v < 2; ++v) {
      for (Buffer<T>* b : {&st.dcontent[v], &st.ds[v], &st.dmu[v], &st.dlogvar[v]}) b->zero();
    }
  }
  for (std::size_t k = 0; k < decodes.size(); ++k) {
    const Decode& d = decodes[k];
    copy_columns(st.content[d.content_of].data(), C, 0, st.z.data(), L, 0, C, false);
    copy_columns(st.s[d.style_of].data(), S, 0, st.z.data(), L, C, S, false);
    dec_.forward(w, st.z.data(), B, NormMode::train, st.dec_tape);
    const T* pre = st.dec_tape.output();
    launch(be, rows * N, nn::SoftplusForward<T>{pre, st.rate.data()}, kElementGrain);
    // The reconstruction target is the (augmented) view itself, as in the public code.
    const T scale = static_cast<T>(d.weight / static_cast<double>(B));
    launch(be, rows * N,
           nn::PoissonNllRate<T>{st.rate.data(), st.x[d.style_of].data(), st.item.data(),
                                 gradients ? st.drate.data() : nullptr, scale, T(1e-7)},
           kElementGrain);
    run_sum(st.item, B * N, kDecodeSlot + static_cast<std::int64_t>(k));
    if (!gradients) continue;
    launch(be, rows * N, nn::SoftplusBackward<T>{pre, st.drate.data(), st.dpre.data()}, kElementGrain);
    dec_.backward(w, st.dec_tape, st.dpre.data(), st.dz.data());
    copy_columns(st.dz.data(), L, 0, st.dcontent[d.content_of].data(), C, 0, C, true);
    copy_columns(st.dz.data(), L, C, st.ds[d.style_of].data(), S, 0, S, true);
  }
  // Style KL (mean over the two views) and content alignment.
  for (int v = 0; v < 2; ++v) {
    const T kl_scale = static_cast<T>(cfg_.alpha * 0.5 / static_cast<double>(B));
    launch(be, rows,
           nn::GaussianKl<T>{st.mu[v].data(), st.logvar[v].data(), st.kl.data(), gradients ? st.dmu[v].data() : nullptr,
                             gradients ? st.dlogvar[v].data() : nullptr, S, kl_scale},
           kRowGrain);
    run_sum(st.kl, B, kKlSlot + v);
  }
  const bool align = C > 0 && cfg_.beta > 0;
  if (align) {
    // 2 - 2 cos(c1, c2) is symmetric: each side's gradient comes from the loss with it as p.
    const T scale = static_cast<T>(cfg_.beta / static_cast<double>(B));
    for (int v = 0; v < 2; ++v) {
      launch(be, rows,
             nn::ByolLoss<T>{st.content[v].data(), st.content[1 - v].data(), st.align.data(),
                             gradients ? st.dalign.data() : nullptr, C, scale, T(1e-12)},
             kRowGrain);
      if (gradients) copy_columns(st.dalign.data(), C, 0, st.dcontent[v].data(), C, 0, C, true);
    }
    run_sum(st.align, B, kAlignSlot);
  }
  // The step's only download: R sums per loss term, assembled on the host in a fixed order.
  const std::vector<double> sums = st.sums.to_host();
  auto mean_of = [&](std::int64_t slot, std::int64_t r) { return sums[static_cast<std::size_t>(slot * R + r)] / static_cast<double>(B); };
  std::vector<std::vector<double>> terms(static_cast<std::size_t>(R), std::vector<double>(5, 0.0));
  for (std::size_t k = 0; k < decodes.size(); ++k) {
    for (std::int64_t r = 0; r < R; ++r) {
      const double mean = mean_of(kDecodeSlot + static_cast<std::int64_t>(k), r);
      terms[static_cast<std::size_t>(r)][k < 2 ? 1 : 2] += 0.5 * mean;
      terms[static_cast<std::size_t>(r)][0] += decodes[k].weight * mean;
    }
  }
  for (std::int64_t v = 0; v < 2; ++v) {
    for (std::int64_t r = 0; r < R; ++r) {
      const double mean = mean_of(kKlSlot + v, r);
      terms[static_cast<std::size_t>(r)][3] += 0.5 * mean;
      terms[static_cast<std::size_t>(r)][0] += cfg_.alpha * 0.5 * mean;
    }
  }
  if (align) {
    for (std::int64_t r = 0; r < R; ++r) {
      const double mean = mean_of(kAlignSlot, r);
      terms[static_cast<std::size_t>(r)][4] = mean;
      terms[static_cast<std::size_t>(r)][0] += cfg_.beta * mean;
    }
  }
  if (!gradients) return terms;
  for (int v = 0; v < 2; ++v) {
    launch(be, rows * S,
           nn::ReparameterizeBackward<T>{st.logvar[v].data(), st.eps[v].data(), st.ds[v].data(), st.dmu[v].data(),
                                         st.dlogvar[v].data()},
           kElementGrain);
    copy_columns(st.dcontent[v].data(), C, 0, st.dout.data(), E, 0, C, false);
    copy_columns(st.dmu[v].data(), S, 0, st.dout.data(), E, C, S, false);
    copy_columns(st.dlogvar[v].data(), S, 0, st.dout.data(), E, C + S, S, false);
    enc_.backward(w, st.enc_tape[v], st.dout.data(), nullptr);
  }
  return terms;
}

template <class T>
std::vector<std::vector<double>> SwapVaeModel<T>::train_step(std::uint32_t step, const std::vector<double>& lr) {
  auto terms = loss(step, true);
  weights_.set_learning_rates(lr);
  weights_.adamw_step({0, weights_.params()}, {cfg_.lr, 0.9, 0.999, 1e-8, cfg_.weight_decay});
  return terms;
}

template <class T>
void SwapVaeModel<T>::represent(std::vector<std::vector<double>>& content_out, std::vector<std::vector<double>>& style_out) {
  const ReachData& data = runs_.data();
  const std::int64_t R = runs_.runs(), bins = data.bins, N = data.neurons, C = cfg_.content, S = cfg_.style,
                     E = C + 2 * S;
  State& st = *state_;
  // Every run's encoder sees the same rows (all bins, no augmentation).
  std::vector<T> x(static_cast<std::size_t>(R * bins * N));
  for (std::int64_t r = 0; r < R; ++r) {
    for (std::size_t i = 0; i < data.counts.size(); ++i) x[static_cast<std::size_t>(r * bins * N) + i] = static_cast<T>(data.counts[i]);
  }
  st.all_bins = Buffer<T>(backend_, x);
  const MlpWeights<T> w{weights_.values(), nullptr, weights_.stride(), stats_.data(), stats_stride_};
  enc_.forward(w, st.all_bins.data(), bins, NormMode::eval, st.represent_tape);
  std::vector<T> out(static_cast<std::size_t>(R * bins * E));
  backend_.copy_to_host(out.data(), st.represent_tape.output(), out.size() * sizeof(T));
  // Without a content block (the beta-VAE) the representation is the posterior mean, which then
  // starts at column 0 as the content would.
  const std::int64_t content_cols = C > 0 ? C : S;
  content_out.assign(static_cast<std::size_t>(R), std::vector<double>(static_cast<std::size_t>(bins * content_cols)));
  style_out.assign(static_cast<std::size_t>(R), std::vector<double>(static_cast<std::size_t>(bins * S)));
  for (std::int64_t r = 0; r < R; ++r) {
    const T* o = out.data() + r * bins * E;
    auto& c = content_out[static_cast<std::size_t>(r)];
    auto& s = style_out[static_cast<std::size_t>(r)];
    for (std::int64_t b = 0; b < bins; ++b) {
      for (std::int64_t j = 0; j < content_cols; ++j) c[static_cast<std::size_t>(b * content_cols + j)] = o[b * E + j];
      for (std::int64_t j = 0; j < S; ++j) s[static_cast<std::size_t>(b * S + j)] = o[b * E + C + j];
    }
  }
  st.all_bins = Buffer<T>();
  st.represent_tape = MlpTape<T>();
}

template <class T>
RunState SwapVaeModel<T>::save_run(std::int64_t r) const {
  RunState s;
  s.params = save_row(backend_, weights_.values(), weights_.stride(), r, weights_.params());
  s.stats = save_row(backend_, stats_.data(), stats_stride_, r, dec_.stats_end());
  s.mean = runs_.split(r).mean;
  s.inv_std = runs_.split(r).inv_std;
  return s;
}

template <class T>
void SwapVaeModel<T>::load_run(std::int64_t r, const RunState& state) {
  load_row(backend_, weights_.values(), weights_.stride(), r, state.params, weights_.params(), "state.params");
  load_row(backend_, stats_.data(), stats_stride_, r, state.stats, dec_.stats_end(), "state.stats");
}

template <class T>
MlpSpec SwapVaeModel<T>::encoder_spec(const SwapVaeConfig& cfg, std::int64_t neurons) {
  return {encoder_dims(cfg, neurons), cfg.batch_norm};
}

template <class T>
std::vector<NamedTensor> SwapVaeModel<T>::tensors(const SwapVaeConfig& cfg, std::int64_t neurons, Backend& backend) {
  // The same offsets as the constructor's networks.
  const BatchedMlp<T> enc(backend, encoder_spec(cfg, neurons), 1, 0, 0);
  const BatchedMlp<T> dec(backend, {decoder_dims(cfg, neurons), cfg.batch_norm}, 1, enc.param_end(), enc.stats_end());
  std::vector<NamedTensor> out;
  enc.name_tensors("encoder", StateStore::params, true, out);
  dec.name_tensors("decoder", StateStore::params, true, out);
  return out;
}

template class SwapVaeModel<float>;
template class SwapVaeModel<double>;

SslRecord train_swap_vae(const SwapVaeConfig& cfg, const ReachRuns& runs, Backend& backend,
                         const std::function<void(std::int64_t, std::int64_t)>& progress) {
  SwapVaeModel<float> model(cfg, runs, backend);
  return train_swap_vae(model, progress, {});
}

SslRecord train_swap_vae(SwapVaeModel<float>& model, const std::function<void(std::int64_t, std::int64_t)>& progress,
                         const std::function<bool()>& keep_going) {
  const SwapVaeConfig& cfg = model.config();
  const ReachRuns& runs = model.runs();
  const std::int64_t per_epoch = std::max<std::int64_t>(1, runs.min_train_bins() / cfg.batch);
  const std::int64_t total = cfg.epochs * per_epoch;
  SslRecord rec;
  rec.method = cfg.swap ? "swap_vae" : "beta_vae";
  rec.curve_names = {"loss", "recon", "recon_swap", "kl", "align"};
  rec.curves.assign(static_cast<std::size_t>(runs.runs()), {});
  std::uint32_t step = 0;
  bool going = true;
  for (std::int64_t e = 0; e < cfg.epochs && going; ++e) {
    std::vector<std::vector<double>> sum(static_cast<std::size_t>(runs.runs()), std::vector<double>(5, 0.0));
    for (std::int64_t i = 0; i < per_epoch; ++i, ++step) {
      const std::vector<double> lr(static_cast<std::size_t>(runs.runs()), cfg.lr);
      const auto terms = model.train_step(step, lr);
      for (std::size_t r = 0; r < sum.size(); ++r) {
        for (std::size_t k = 0; k < 5; ++k) sum[r][k] += terms[r][k] / static_cast<double>(per_epoch);
      }
      if (progress) progress(static_cast<std::int64_t>(step) + 1, total);
      if (keep_going && !keep_going()) {
        going = false;
        break;
      }
    }
    if (going) {
      for (std::size_t r = 0; r < sum.size(); ++r) rec.curves[r].push_back(sum[r]);
    }
  }
  rec.dim = cfg.content > 0 ? cfg.content : cfg.style;
  rec.style_dim = cfg.style;
  model.represent(rec.representation, rec.style);
  return rec;
}

}  // namespace engram::ssl
