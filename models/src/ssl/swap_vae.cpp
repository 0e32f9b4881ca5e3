#include "engram/models/ssl/swap_vae.hpp"

#include <cmath>

#include "engram/engine/error.hpp"
#include "engram/kernels/nn/activations.hpp"
#include "engram/kernels/nn/byol.hpp"
#include "engram/kernels/nn/vae.hpp"

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

// Sum of `per_item` over each run's block of `per_run` items, in a fixed order.
template <class T>
std::vector<double> run_sums(const std::vector<T>& per_item, std::int64_t runs) {
  const std::size_t per_run = per_item.size() / static_cast<std::size_t>(runs);
  std::vector<double> out(static_cast<std::size_t>(runs), 0.0);
  for (std::size_t r = 0; r < out.size(); ++r) {
    for (std::size_t i = 0; i < per_run; ++i) out[r] += static_cast<double>(per_item[r * per_run + i]);
  }
  return out;
}

}  // namespace

template <class T>
SwapVaeModel<T>::SwapVaeModel(const SwapVaeConfig& cfg, const ReachRuns& runs, Exec exec)
    : cfg_(cfg),
      runs_(runs),
      exec_(exec),
      enc_({encoder_dims(cfg, runs.data().neurons), cfg.batch_norm}, runs.runs()),
      dec_({decoder_dims(cfg, runs.data().neurons), cfg.batch_norm}, runs.runs()) {
  if (cfg.style <= 0) throw Error::bad_input("model.style", std::to_string(cfg.style), "must be > 0");
  if (cfg.swap && cfg.content <= 0) throw Error::bad_input("model.content", std::to_string(cfg.content), "swap needs a content block");
  enc_p_.allocate(enc_);
  dec_p_.allocate(dec_);
  enc_.init(enc_p_.value.data(), enc_p_.stats.data(), runs.seeds(), 0);
  dec_.init(dec_p_.value.data(), dec_p_.stats.data(), runs.seeds(), 16);
}

template <class T>
std::vector<std::vector<double>> SwapVaeModel<T>::loss(std::uint32_t step, bool gradients) {
  const std::int64_t R = runs_.runs(), B = cfg_.batch, N = runs_.data().neurons;
  const std::int64_t C = cfg_.content, S = cfg_.style, L = C + S, E = C + 2 * S, rows = R * B;
  const auto anchors = runs_.sample_anchors(step, B, 0);
  const auto partners = runs_.sample_neighbours(anchors, step, cfg_.max_offset, 0);
  const std::vector<std::int32_t>* bins[2] = {&anchors, &partners};
  std::vector<T> x[2];
  MlpTape<T> enc_tape[2];
  std::vector<T> content[2], mu[2], logvar[2], eps[2], s[2];
  for (int v = 0; v < 2; ++v) {
    x[v].resize(static_cast<std::size_t>(rows * N));
    exec_.for_each(rows, AugmentRows<T>{runs_.data().counts.data(), bins[v]->data(), runs_.means().data(),
                                        runs_.inv_stds().data(), runs_.seeds().data(), x[v].data(), B, N, step,
                                        static_cast<std::uint32_t>(v + 1), cfg_.max_dropout, cfg_.dropout_apply, 0.0,
                                        false});
    enc_.forward(exec_, enc_p_.value.data(), enc_p_.stats.data(), x[v].data(), B, NormMode::train, enc_tape[v]);
    const T* out = enc_tape[v].output.data();
    content[v].resize(static_cast<std::size_t>(rows * C));
    mu[v].resize(static_cast<std::size_t>(rows * S));
    logvar[v].resize(static_cast<std::size_t>(rows * S));
    copy_columns(exec_, rows, out, E, 0, content[v].data(), C, 0, C);
    copy_columns(exec_, rows, out, E, C, mu[v].data(), S, 0, S);
    copy_columns(exec_, rows, out, E, C + S, logvar[v].data(), S, 0, S);
    eps[v].resize(static_cast<std::size_t>(rows * S));
    for (std::int64_t r = 0; r < R; ++r) {
      for (std::int64_t b = 0; b < B; ++b) {
        RngStream rng(RngKey{runs_.seeds()[static_cast<std::size_t>(r)], static_cast<std::uint32_t>(v), purpose::latent,
                             step, static_cast<std::uint32_t>(b)});
        for (std::int64_t j = 0; j < S; ++j) eps[v][static_cast<std::size_t>((r * B + b) * S + j)] = static_cast<T>(rng.normal());
      }
    }
    s[v].resize(eps[v].size());
    exec_.for_each(rows * S, nn::Reparameterize<T>{mu[v].data(), logvar[v].data(), eps[v].data(), s[v].data()});
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
  std::vector<std::vector<double>> terms(static_cast<std::size_t>(R), std::vector<double>(5, 0.0));
  std::vector<T> dcontent[2], ds[2];
  for (int v = 0; v < 2; ++v) {
    dcontent[v].assign(content[v].size(), T(0));
    ds[v].assign(s[v].size(), T(0));
  }
  if (gradients) {
    enc_p_.zero_grad();
    dec_p_.zero_grad();
  }
  std::vector<T> z(static_cast<std::size_t>(rows * L)), rate(static_cast<std::size_t>(rows * N)), item(rate.size()),
      drate(rate.size()), dpre(rate.size()), dz(z.size());
  MlpTape<T> dec_tape;
  for (std::size_t k = 0; k < decodes.size(); ++k) {
    const Decode& d = decodes[k];
    copy_columns(exec_, rows, content[d.content_of].data(), C, 0, z.data(), L, 0, C);
    copy_columns(exec_, rows, s[d.style_of].data(), S, 0, z.data(), L, C, S);
    dec_.forward(exec_, dec_p_.value.data(), dec_p_.stats.data(), z.data(), B, NormMode::train, dec_tape);
    const T* pre = dec_tape.output.data();
    exec_.for_each(rows * N, nn::SoftplusForward<T>{pre, rate.data()});
    // The reconstruction target is the (augmented) view itself, as in the public code.
    const T scale = static_cast<T>(d.weight / static_cast<double>(B));
    exec_.for_each(rows * N, nn::PoissonNllRate<T>{rate.data(), x[d.style_of].data(), item.data(),
                                                   gradients ? drate.data() : nullptr, scale, T(1e-7)});
    const auto sums = run_sums(item, R);
    for (std::int64_t r = 0; r < R; ++r) {
      const double mean = sums[static_cast<std::size_t>(r)] / static_cast<double>(B);
      terms[static_cast<std::size_t>(r)][k < 2 ? 1 : 2] += 0.5 * mean;
      terms[static_cast<std::size_t>(r)][0] += d.weight * mean;
    }
    if (!gradients) continue;
    exec_.for_each(rows * N, nn::SoftplusBackward<T>{pre, drate.data(), dpre.data()});
    dec_.backward(exec_, dec_p_.value.data(), dec_tape, dpre.data(), dec_p_.grad.data(), dz.data());
    copy_columns(exec_, rows, dz.data(), L, 0, dcontent[d.content_of].data(), C, 0, C, true);
    copy_columns(exec_, rows, dz.data(), L, C, ds[d.style_of].data(), S, 0, S, true);
  }
  // Style KL (mean over the two views) and content alignment.
  std::vector<T> dmu[2], dlogvar[2], kl(static_cast<std::size_t>(rows)), align(static_cast<std::size_t>(rows));
  for (int v = 0; v < 2; ++v) {
    dmu[v].assign(mu[v].size(), T(0));
    dlogvar[v].assign(mu[v].size(), T(0));
    const T kl_scale = static_cast<T>(cfg_.alpha * 0.5 / static_cast<double>(B));
    exec_.for_each(rows, nn::GaussianKl<T>{mu[v].data(), logvar[v].data(), kl.data(), gradients ? dmu[v].data() : nullptr,
                                           gradients ? dlogvar[v].data() : nullptr, S, kl_scale});
    const auto sums = run_sums(kl, R);
    for (std::int64_t r = 0; r < R; ++r) {
      const double mean = sums[static_cast<std::size_t>(r)] / static_cast<double>(B);
      terms[static_cast<std::size_t>(r)][3] += 0.5 * mean;
      terms[static_cast<std::size_t>(r)][0] += cfg_.alpha * 0.5 * mean;
    }
  }
  if (C > 0 && cfg_.beta > 0) {
    // 2 - 2 cos(c1, c2) is symmetric: each side's gradient comes from the loss with it as p.
    std::vector<T> dalign(content[0].size());
    const T scale = static_cast<T>(cfg_.beta / static_cast<double>(B));
    for (int v = 0; v < 2; ++v) {
      exec_.for_each(rows, nn::ByolLoss<T>{content[v].data(), content[1 - v].data(), align.data(),
                                           gradients ? dalign.data() : nullptr, C, scale, T(1e-12)});
      if (gradients) {
        exec_.for_each(rows, CopyColumns<T>{dalign.data(), dcontent[v].data(), C, 0, C, 0, C, true});
      }
    }
    const auto sums = run_sums(align, R);
    for (std::int64_t r = 0; r < R; ++r) {
      const double mean = sums[static_cast<std::size_t>(r)] / static_cast<double>(B);
      terms[static_cast<std::size_t>(r)][4] = mean;
      terms[static_cast<std::size_t>(r)][0] += cfg_.beta * mean;
    }
  }
  if (!gradients) return terms;
  std::vector<T> dout(static_cast<std::size_t>(rows * E));
  for (int v = 0; v < 2; ++v) {
    exec_.for_each(rows * S, nn::ReparameterizeBackward<T>{logvar[v].data(), eps[v].data(), ds[v].data(), dmu[v].data(),
                                                           dlogvar[v].data()});
    copy_columns(exec_, rows, dcontent[v].data(), C, 0, dout.data(), E, 0, C);
    copy_columns(exec_, rows, dmu[v].data(), S, 0, dout.data(), E, C, S);
    copy_columns(exec_, rows, dlogvar[v].data(), S, 0, dout.data(), E, C + S, S);
    enc_.backward(exec_, enc_p_.value.data(), enc_tape[v], dout.data(), enc_p_.grad.data(), nullptr);
  }
  return terms;
}

template <class T>
std::vector<std::vector<double>> SwapVaeModel<T>::train_step(std::uint32_t step, const std::vector<double>& lr) {
  auto terms = loss(step, true);
  ++t_;
  const nn::AdamWConfig adam{cfg_.lr, 0.9, 0.999, 1e-8, cfg_.weight_decay};
  enc_p_.adamw(exec_, lr, adam, t_);
  dec_p_.adamw(exec_, lr, adam, t_);
  return terms;
}

template <class T>
void SwapVaeModel<T>::represent(std::int64_t run, std::vector<double>& content_out, std::vector<double>& style_out) {
  const ReachData& data = runs_.data();
  const std::int64_t R = runs_.runs(), bins = data.bins, N = data.neurons, C = cfg_.content, S = cfg_.style,
                     E = C + 2 * S;
  // Every run's encoder sees the same rows (all bins, no augmentation); only run `run` is kept.
  std::vector<T> x(static_cast<std::size_t>(R * bins * N));
  for (std::int64_t r = 0; r < R; ++r) {
    for (std::size_t i = 0; i < data.counts.size(); ++i) x[static_cast<std::size_t>(r * bins * N) + i] = static_cast<T>(data.counts[i]);
  }
  MlpTape<T> tape;
  enc_.forward(exec_, enc_p_.value.data(), enc_p_.stats.data(), x.data(), bins, NormMode::eval, tape);
  const T* out = tape.output.data() + run * bins * E;
  // Without a content block (the beta-VAE) the representation is the posterior mean, which then
  // starts at column 0 as the content would.
  const std::int64_t content_cols = C > 0 ? C : S;
  content_out.resize(static_cast<std::size_t>(bins * content_cols));
  style_out.resize(static_cast<std::size_t>(bins * S));
  for (std::int64_t b = 0; b < bins; ++b) {
    for (std::int64_t j = 0; j < content_cols; ++j) content_out[static_cast<std::size_t>(b * content_cols + j)] = out[b * E + j];
    for (std::int64_t j = 0; j < S; ++j) style_out[static_cast<std::size_t>(b * S + j)] = out[b * E + C + j];
  }
}

template class SwapVaeModel<float>;
template class SwapVaeModel<double>;

SslRecord train_swap_vae(const SwapVaeConfig& cfg, const ReachRuns& runs, Backend& backend,
                         const std::function<void(std::int64_t, std::int64_t)>& progress) {
  Exec exec{backend};
  SwapVaeModel<float> model(cfg, runs, exec);
  const std::int64_t per_epoch = std::max<std::int64_t>(1, runs.min_train_bins() / cfg.batch);
  const std::int64_t total = cfg.epochs * per_epoch;
  SslRecord rec;
  rec.method = cfg.swap ? "swap_vae" : "beta_vae";
  rec.curve_names = {"loss", "recon", "recon_swap", "kl", "align"};
  rec.curves.assign(static_cast<std::size_t>(runs.runs()), {});
  std::uint32_t step = 0;
  for (std::int64_t e = 0; e < cfg.epochs; ++e) {
    std::vector<std::vector<double>> sum(static_cast<std::size_t>(runs.runs()), std::vector<double>(5, 0.0));
    for (std::int64_t i = 0; i < per_epoch; ++i, ++step) {
      const std::vector<double> lr(static_cast<std::size_t>(runs.runs()), cfg.lr);
      const auto terms = model.train_step(step, lr);
      for (std::size_t r = 0; r < sum.size(); ++r) {
        for (std::size_t k = 0; k < 5; ++k) sum[r][k] += terms[r][k] / static_cast<double>(per_epoch);
      }
      if (progress) progress(static_cast<std::int64_t>(step) + 1, total);
    }
    for (std::size_t r = 0; r < sum.size(); ++r) rec.curves[r].push_back(sum[r]);
  }
  rec.dim = cfg.content > 0 ? cfg.content : cfg.style;
  rec.style_dim = cfg.style;
  for (std::int64_t r = 0; r < runs.runs(); ++r) {
    std::vector<double> content, style;
    model.represent(r, content, style);
    rec.representation.push_back(std::move(content));
    rec.style.push_back(std::move(style));
  }
  return rec;
}

}  // namespace engram::ssl
