#include "engram/models/ssl/myow.hpp"

#include <cmath>
#include <numbers>

#include "engram/engine/error.hpp"
#include "engram/kernels/nn/byol.hpp"
#include "engram/kernels/nn/mining.hpp"

namespace engram::ssl {

namespace {

std::vector<std::int64_t> encoder_dims(const MyowConfig& c, std::int64_t neurons) {
  std::vector<std::int64_t> d = {neurons};
  d.insert(d.end(), c.hidden.begin(), c.hidden.end());
  d.push_back(c.representation);
  return d;
}

template <class T>
std::vector<double> run_means(const std::vector<T>& per_row, std::int64_t runs) {
  const std::size_t per_run = per_row.size() / static_cast<std::size_t>(runs);
  std::vector<double> out(static_cast<std::size_t>(runs), 0.0);
  for (std::size_t r = 0; r < out.size(); ++r) {
    for (std::size_t i = 0; i < per_run; ++i) out[r] += static_cast<double>(per_row[r * per_run + i]);
    out[r] /= static_cast<double>(per_run);
  }
  return out;
}

}  // namespace

template <class T>
MyowModel<T>::MyowModel(const MyowConfig& cfg, const ReachRuns& runs, Exec exec)
    : cfg_(cfg),
      runs_(runs),
      exec_(exec),
      enc_({encoder_dims(cfg, runs.data().neurons), true}, runs.runs()),
      proj_({{cfg.representation, cfg.projection_hidden, cfg.projection}, true}, runs.runs()),
      pred_({{cfg.projection, cfg.projection_hidden, cfg.projection}, true}, runs.runs()),
      proj_m_({{cfg.projection, cfg.mined_hidden, cfg.mined_projection}, true}, runs.runs()),
      pred_m_({{cfg.mined_projection, cfg.mined_hidden, cfg.mined_projection}, true}, runs.runs()) {
  if (cfg.miner_k < 1 || cfg.miner_k > nn::kMaxMiningNeighbours) {
    throw Error::bad_input("model.miner_k", std::to_string(cfg.miner_k),
                           "must lie in [1, " + std::to_string(nn::kMaxMiningNeighbours) + "]");
  }
  if (cfg.mining && cfg.pool < cfg.miner_k) {
    throw Error::bad_input("train.pool", std::to_string(cfg.pool), "must be at least model.miner_k");
  }
  const BatchedMlp<T>* nets[5] = {&enc_, &proj_, &pred_, &proj_m_, &pred_m_};
  RunParams<T>* params[5] = {&enc_p_, &proj_p_, &pred_p_, &proj_m_p_, &pred_m_p_};
  for (std::uint32_t i = 0; i < 5; ++i) {
    params[i]->allocate(*nets[i]);
    nets[i]->init(params[i]->value.data(), params[i]->stats.data(), runs.seeds(), 16 * i);
  }
  // The target starts as a copy of the online network.
  enc_t_ = enc_p_;
  proj_t_ = proj_p_;
  proj_m_t_ = proj_m_p_;
}

template <class T>
std::vector<std::vector<double>> MyowModel<T>::loss(std::uint32_t step, double mined_weight, bool gradients) {
  const std::int64_t R = runs_.runs(), B = cfg_.batch, N = runs_.data().neurons, rows = R * B;
  const std::int64_t D = cfg_.representation, P = cfg_.projection, M = cfg_.mined_projection;
  const ReachData& data = runs_.data();
  auto augment = [&](const std::vector<std::int32_t>& bins, std::int64_t per_run, std::uint32_t tag) {
    std::vector<T> x(bins.size() * static_cast<std::size_t>(N));
    exec_.for_each(static_cast<std::int64_t>(bins.size()),
                   AugmentRows<T>{data.counts.data(), bins.data(), runs_.means().data(), runs_.inv_stds().data(),
                                  runs_.seeds().data(), x.data(), per_run, N, step, tag, cfg_.max_dropout,
                                  cfg_.dropout_apply, cfg_.noise, true});
    return x;
  };
  if (gradients) {
    for (RunParams<T>* p : online()) p->zero_grad();
  }
  const auto anchors = runs_.sample_anchors(step, B, 0);
  const auto partners = runs_.sample_neighbours(anchors, step, cfg_.max_offset, 0);
  // Structured augmentation, as the public code: both views share the dropout mask and noise.
  std::vector<T> x[2] = {augment(anchors, B, 1), augment(partners, B, 1)};
  MlpTape<T> te[2], tp[2], tq[2], target_tape;
  std::vector<T> target_z[2];
  for (int v = 0; v < 2; ++v) {
    enc_.forward(exec_, enc_p_.value.data(), enc_p_.stats.data(), x[v].data(), B, NormMode::train, te[v]);
    proj_.forward(exec_, proj_p_.value.data(), proj_p_.stats.data(), te[v].output.data(), B, NormMode::train, tp[v]);
    pred_.forward(exec_, pred_p_.value.data(), pred_p_.stats.data(), tp[v].output.data(), B, NormMode::train, tq[v]);
    enc_.forward(exec_, enc_t_.value.data(), nullptr, x[v].data(), B, NormMode::batch, target_tape);
    MlpTape<T> tz;
    proj_.forward(exec_, proj_t_.value.data(), nullptr, target_tape.output.data(), B, NormMode::batch, tz);
    target_z[v] = std::move(tz.output);
  }
  const double byol_weight = 1.0 / (1.0 + mined_weight) / 2.0;
  std::vector<std::vector<double>> terms(static_cast<std::size_t>(R), std::vector<double>(4, 0.0));
  std::vector<T> item(static_cast<std::size_t>(rows)), dq(static_cast<std::size_t>(rows * P)),
      dz(static_cast<std::size_t>(rows * P)), dy(static_cast<std::size_t>(rows * D));
  for (int v = 0; v < 2; ++v) {
    const T scale = static_cast<T>(byol_weight / static_cast<double>(B));
    exec_.for_each(rows, nn::ByolLoss<T>{tq[v].output.data(), target_z[1 - v].data(), item.data(),
                                         gradients ? dq.data() : nullptr, P, scale, T(1e-12)});
    const auto means = run_means(item, R);
    for (std::size_t r = 0; r < terms.size(); ++r) {
      terms[r][1] += 0.5 * means[r];
      terms[r][0] += byol_weight * means[r];
    }
    if (!gradients) continue;
    pred_.backward(exec_, pred_p_.value.data(), tq[v], dq.data(), pred_p_.grad.data(), dz.data());
    proj_.backward(exec_, proj_p_.value.data(), tp[v], dz.data(), proj_p_.grad.data(), dy.data());
    enc_.backward(exec_, enc_p_.value.data(), te[v], dy.data(), enc_p_.grad.data(), nullptr);
  }
  for (auto& t : terms) t[3] = mined_weight;
  if (!cfg_.mining || mined_weight <= 0) return terms;
  // Mined views: queries from one half of the run's training trials, the pool from the other.
  std::vector<std::int32_t> queries, pool;
  runs_.sample_query_and_pool(step, B, cfg_.pool, queries, pool);
  const std::vector<T> x3 = augment(queries, B, 2), x4 = augment(pool, cfg_.pool, 3);
  MlpTape<T> e3, p3, pm3, qm3, pool_tape;
  enc_.forward(exec_, enc_p_.value.data(), enc_p_.stats.data(), x3.data(), B, NormMode::train, e3);
  enc_.forward(exec_, enc_t_.value.data(), nullptr, x4.data(), cfg_.pool, NormMode::batch, pool_tape);
  std::vector<std::int32_t> selected(static_cast<std::size_t>(rows));
  std::vector<T> mined(static_cast<std::size_t>(rows * D));
  for (std::int64_t r = 0; r < R; ++r) {
    const nn::MiningKey key{runs_.seeds()[static_cast<std::size_t>(r)], 0, purpose::mining, step};
    exec_.for_each(B, nn::MineNearest<T>{e3.output.data() + r * B * D, pool_tape.output.data() + r * cfg_.pool * D,
                                         selected.data() + r * B, D, cfg_.pool, cfg_.miner_k, key});
    exec_.for_each(B, nn::GatherRows<T>{pool_tape.output.data() + r * cfg_.pool * D, selected.data() + r * B,
                                        mined.data() + r * B * D, D});
  }
  // Target of the mined view: the target projectors (cascaded) of the mined representation.
  MlpTape<T> tz, tv;
  proj_.forward(exec_, proj_t_.value.data(), nullptr, mined.data(), B, NormMode::batch, tz);
  proj_m_.forward(exec_, proj_m_t_.value.data(), nullptr, tz.output.data(), B, NormMode::batch, tv);
  proj_.forward(exec_, proj_p_.value.data(), proj_p_.stats.data(), e3.output.data(), B, NormMode::train, p3);
  proj_m_.forward(exec_, proj_m_p_.value.data(), proj_m_p_.stats.data(), p3.output.data(), B, NormMode::train, pm3);
  pred_m_.forward(exec_, pred_m_p_.value.data(), pred_m_p_.stats.data(), pm3.output.data(), B, NormMode::train, qm3);
  const double mined_scale = mined_weight / (1.0 + mined_weight);
  std::vector<T> dqm(static_cast<std::size_t>(rows * M)), dvm(dqm.size());
  exec_.for_each(rows, nn::ByolLoss<T>{qm3.output.data(), tv.output.data(), item.data(), gradients ? dqm.data() : nullptr,
                                       M, static_cast<T>(mined_scale / static_cast<double>(B)), T(1e-12)});
  const auto means = run_means(item, R);
  for (std::size_t r = 0; r < terms.size(); ++r) {
    terms[r][2] = means[r];
    terms[r][0] += mined_scale * means[r];
  }
  if (!gradients) return terms;
  pred_m_.backward(exec_, pred_m_p_.value.data(), qm3, dqm.data(), pred_m_p_.grad.data(), dvm.data());
  proj_m_.backward(exec_, proj_m_p_.value.data(), pm3, dvm.data(), proj_m_p_.grad.data(), dz.data());
  proj_.backward(exec_, proj_p_.value.data(), p3, dz.data(), proj_p_.grad.data(), dy.data());
  enc_.backward(exec_, enc_p_.value.data(), e3, dy.data(), enc_p_.grad.data(), nullptr);
  return terms;
}

template <class T>
std::vector<std::vector<double>> MyowModel<T>::train_step(std::uint32_t step, double mined_weight, double momentum,
                                                          const std::vector<double>& lr) {
  auto terms = loss(step, mined_weight, true);
  ++t_;
  const nn::AdamWConfig adam{cfg_.lr, 0.9, 0.999, 1e-8, cfg_.weight_decay};
  for (RunParams<T>* p : online()) p->adamw(exec_, lr, adam, t_);
  const T m = static_cast<T>(momentum);
  exec_.for_each(static_cast<std::int64_t>(enc_t_.value.size()), nn::EmaUpdate<T>{enc_t_.value.data(), enc_p_.value.data(), m});
  exec_.for_each(static_cast<std::int64_t>(proj_t_.value.size()), nn::EmaUpdate<T>{proj_t_.value.data(), proj_p_.value.data(), m});
  exec_.for_each(static_cast<std::int64_t>(proj_m_t_.value.size()),
                 nn::EmaUpdate<T>{proj_m_t_.value.data(), proj_m_p_.value.data(), m});
  return terms;
}

template <class T>
std::vector<double> MyowModel<T>::represent(std::int64_t run) {
  const ReachData& data = runs_.data();
  const std::int64_t R = runs_.runs(), bins = data.bins, N = data.neurons, D = cfg_.representation;
  std::vector<T> x(static_cast<std::size_t>(R * bins * N));
  for (std::int64_t r = 0; r < R; ++r) {
    const auto& s = runs_.split(r);
    for (std::int64_t b = 0; b < bins; ++b) {
      for (std::int64_t n = 0; n < N; ++n) {
        x[static_cast<std::size_t>((r * bins + b) * N + n)] =
            static_cast<T>((data.count(b, n) - s.mean[static_cast<std::size_t>(n)]) * s.inv_std[static_cast<std::size_t>(n)]);
      }
    }
  }
  MlpTape<T> tape;
  enc_.forward(exec_, enc_p_.value.data(), enc_p_.stats.data(), x.data(), bins, NormMode::eval, tape);
  const T* out = tape.output.data() + run * bins * D;
  return std::vector<double>(out, out + bins * D);
}

template class MyowModel<float>;
template class MyowModel<double>;

SslRecord train_myow(const MyowConfig& cfg, const ReachRuns& runs, Backend& backend,
                     const std::function<void(std::int64_t, std::int64_t)>& progress) {
  Exec exec{backend};
  MyowModel<float> model(cfg, runs, exec);
  const std::int64_t per_epoch = std::max<std::int64_t>(1, runs.min_train_bins() / cfg.batch);
  const std::int64_t total = cfg.epochs * per_epoch;
  const std::int64_t mining_warmup = cfg.mining_warmup_epochs * per_epoch;
  const std::int64_t mining_rampup = std::max(cfg.mining_rampup_epochs * per_epoch, mining_warmup + 1);
  SslRecord rec;
  rec.method = cfg.mining ? "myow" : "byol";
  rec.curve_names = {"loss", "byol", "mined", "mined_weight"};
  rec.curves.assign(static_cast<std::size_t>(runs.runs()), {});
  std::uint32_t step = 0;
  for (std::int64_t e = 0; e < cfg.epochs; ++e) {
    std::vector<std::vector<double>> sum(static_cast<std::size_t>(runs.runs()), std::vector<double>(4, 0.0));
    for (std::int64_t i = 0; i < per_epoch; ++i, ++step) {
      const std::int64_t k = step;
      double w = 0;
      if (cfg.mining && k >= mining_warmup) {
        w = k >= mining_rampup ? cfg.mining_weight
                               : cfg.mining_weight * static_cast<double>(k - mining_warmup) /
                                     static_cast<double>(mining_rampup - mining_warmup);
      }
      const double momentum =
          1.0 - (1.0 - cfg.ema_base) * (std::cos(std::numbers::pi * static_cast<double>(k) / static_cast<double>(total)) + 1.0) / 2.0;
      const double lr = scheduled_lr(cfg.lr, k, cfg.warmup_epochs * per_epoch, total, true);
      const auto terms = model.train_step(step, w, momentum, std::vector<double>(static_cast<std::size_t>(runs.runs()), lr));
      for (std::size_t r = 0; r < sum.size(); ++r) {
        for (std::size_t j = 0; j < 4; ++j) sum[r][j] += terms[r][j] / static_cast<double>(per_epoch);
      }
      if (progress) progress(k + 1, total);
    }
    for (std::size_t r = 0; r < sum.size(); ++r) rec.curves[r].push_back(sum[r]);
  }
  rec.dim = cfg.representation;
  for (std::int64_t r = 0; r < runs.runs(); ++r) rec.representation.push_back(model.represent(r));
  return rec;
}

}  // namespace engram::ssl
