#include "engram/models/ssl/myow.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "engram/engine/backend/launch.hpp"
#include "engram/engine/error.hpp"
#include "engram/kernels/nn/byol.hpp"
#include "engram/kernels/nn/losses.hpp"
#include "engram/kernels/nn/mining.hpp"
#include "ssl_kernels.hpp"

namespace engram::ssl {

namespace {

std::vector<std::int64_t> encoder_dims(const MyowConfig& c, std::int64_t neurons) {
  std::vector<std::int64_t> d = {neurons};
  d.insert(d.end(), c.hidden.begin(), c.hidden.end());
  d.push_back(c.representation);
  return d;
}

// Launches of fewer items run inline on the CPU (a fork/join costs more than that much work).
constexpr std::int64_t kRowGrain = 64;

// Loss sums of a step, one slot of R doubles each: the two BYOL directions, the mined view.
constexpr std::int64_t kByolSlot = 0, kMinedSlot = 2, kSlots = 3;

}  // namespace

template <class T>
struct MyowModel<T>::State {
  Buffer<std::int32_t> bins[2], query_bins, pool_bins, selected;
  Buffer<T> x[2], x3, x4, mined;
  MlpTape<T> te[2], tp[2], tq[2], target_e[2], target_p[2];
  MlpTape<T> e3, p3, pm3, qm3, pool_tape, tz, tv;
  Buffer<T> item, dq, dz, dy, dqm, dvm;
  Buffer<T> unit_queries, unit_pool, cosines;  // mining: [R, B, D], [R, pool, D], [R, B, pool]
  Buffer<double> sums;
  Buffer<T> all_bins;
  MlpTape<T> represent_tape;
};

template <class T>
MyowModel<T>::MyowModel(const MyowConfig& cfg, const ReachRuns& runs, Backend& backend)
    : cfg_(cfg),
      runs_(runs),
      backend_(backend),
      // The networks the target copies come first, so its EMA is one span of every run.
      enc_(backend, {encoder_dims(cfg, runs.data().neurons), true}, runs.runs(), 0, 0),
      proj_(backend, {{cfg.representation, cfg.projection_hidden, cfg.projection}, true}, runs.runs(), enc_.param_end(),
            enc_.stats_end()),
      proj_m_(backend, {{cfg.projection, cfg.mined_hidden, cfg.mined_projection}, true}, runs.runs(), proj_.param_end(),
              proj_.stats_end()),
      pred_(backend, {{cfg.projection, cfg.projection_hidden, cfg.projection}, true}, runs.runs(), proj_m_.param_end(),
            proj_m_.stats_end()),
      pred_m_(backend, {{cfg.mined_projection, cfg.mined_hidden, cfg.mined_projection}, true}, runs.runs(),
              pred_.param_end(), pred_.stats_end()),
      weights_(backend, runs.runs(), pred_m_.param_end()),
      stats_stride_(models::runs::padded(pred_m_.stats_end())),
      reach_(backend, runs),
      state_(std::make_unique<State>()) {
  if (cfg.miner_k < 1 || cfg.miner_k > nn::kMaxMiningNeighbours) {
    throw Error::bad_input("model.miner_k", std::to_string(cfg.miner_k),
                           "must lie in [1, " + std::to_string(nn::kMaxMiningNeighbours) + "]");
  }
  if (cfg.mining && cfg.pool < cfg.miner_k) {
    throw Error::bad_input("train.pool", std::to_string(cfg.pool), "must be at least model.miner_k");
  }
  const std::int64_t R = runs.runs();
  weights_.set_seeds(runs.seeds());
  if (cfg.lars) {
    std::vector<models::runs::LarsTensor> tensors;
    for (const BatchedMlp<T>* net : {&enc_, &proj_, &proj_m_, &pred_, &pred_m_}) {
      const auto t = net->lars_tensors();
      tensors.insert(tensors.end(), t.begin(), t.end());
    }
    weights_.set_lars_tensors(tensors);
  }
  // Each network draws its initial weights from its own tensor block of the run's seed.
  const std::pair<const BatchedMlp<T>*, std::uint32_t> nets[5] = {{&enc_, 0}, {&proj_, 16}, {&pred_, 32}, {&proj_m_, 48}, {&pred_m_, 64}};
  std::vector<T> stats_host(static_cast<std::size_t>(R * stats_stride_), T(0));
  for (std::int64_t r = 0; r < R; ++r) {
    std::vector<T> p(static_cast<std::size_t>(weights_.params()), T(0)), s(static_cast<std::size_t>(stats_stride_), T(0));
    for (const auto& [net, tensor_base] : nets) net->init_run(p, s, runs.seeds()[static_cast<std::size_t>(r)], tensor_base);
    weights_.upload_run(r, p);
    std::copy(s.begin(), s.end(), stats_host.begin() + r * stats_stride_);
  }
  stats_ = Buffer<T>(backend, stats_host);
  // The target starts as a copy of the online network.
  target_ = Buffer<T>(backend, static_cast<std::size_t>(R * weights_.stride()));
  backend.copy_within(target_.data(), weights_.values(), target_.bytes());
  State& st = *state_;
  const std::int64_t B = cfg.batch, N = runs.data().neurons, rows = R * B;
  auto alloc = [&](Buffer<T>& b, std::int64_t n) { b = Buffer<T>(backend, static_cast<std::size_t>(std::max<std::int64_t>(n, 1))); };
  for (int v = 0; v < 2; ++v) alloc(st.x[v], rows * N);
  alloc(st.item, rows);
  alloc(st.dq, rows * cfg.projection);
  alloc(st.dz, rows * cfg.projection);
  alloc(st.dy, rows * cfg.representation);
  alloc(st.dqm, rows * cfg.mined_projection);
  alloc(st.dvm, rows * cfg.mined_projection);
  alloc(st.mined, rows * cfg.representation);
  if (cfg.mining) {
    alloc(st.unit_queries, rows * cfg.representation);
    alloc(st.unit_pool, R * cfg.pool * cfg.representation);
    alloc(st.cosines, rows * cfg.pool);
  }
  st.selected = Buffer<std::int32_t>(backend, static_cast<std::size_t>(rows));
  st.sums = Buffer<double>(backend, static_cast<std::size_t>(kSlots * R));
}

template <class T>
MyowModel<T>::~MyowModel() = default;

template <class T>
std::vector<models::runs::Span> MyowModel<T>::networks() const {
  std::vector<models::runs::Span> spans;
  for (const BatchedMlp<T>* net : {&enc_, &proj_, &proj_m_, &pred_, &pred_m_}) {
    spans.push_back({net->param_offset(), net->param_end() - net->param_offset()});
  }
  return spans;
}

template <class T>
std::vector<std::vector<double>> MyowModel<T>::loss(std::uint32_t step, double mined_weight, bool gradients) {
  Backend& be = backend_;
  State& st = *state_;
  const std::int64_t R = runs_.runs(), B = cfg_.batch, rows = R * B;
  const std::int64_t D = cfg_.representation, P = cfg_.projection, M = cfg_.mined_projection;
  const MlpWeights<T> online{weights_.values(), weights_.grads(), weights_.stride(), stats_.data(), stats_stride_};
  const MlpWeights<T> target{target_.data(), nullptr, weights_.stride(), nullptr, 0};
  auto augment = [&](const std::vector<std::int32_t>& bins, Buffer<std::int32_t>& on_device, std::int64_t per_run,
                     std::uint32_t tag, Buffer<T>& out) {
    reach_.augment(bins, on_device, per_run, step, tag, cfg_.max_dropout, cfg_.dropout_apply, cfg_.noise, true, out);
  };
  auto byol_loss = [&](const T* p, const T* z, T* dp, std::int64_t dim, double scale, std::int64_t slot) {
    launch(be, rows, nn::ByolLoss<T>{p, z, st.item.data(), gradients ? dp : nullptr, dim, static_cast<T>(scale), T(1e-12)},
           kRowGrain);
    launch(be, R, nn::RunSum<T>{st.item.data(), st.sums.data() + slot * R, B});
  };
  if (gradients) weights_.zero_grads();
  const auto anchors = runs_.sample_anchors(step, B, 0);
  const auto partners = runs_.sample_neighbours(anchors, step, cfg_.max_offset, 0, cfg_.min_offset);
  // Structured augmentation (the public code's default): both views share the dropout mask and
  // noise (the same draw keys); otherwise the second view draws its own (tag 4).
  if (cfg_.shared_augmentation) {
    const ReachOnDevice::SharedView<T> second{&partners, &st.bins[1], &st.x[1]};
    reach_.augment(anchors, st.bins[0], B, step, 1, cfg_.max_dropout, cfg_.dropout_apply, cfg_.noise, true, st.x[0],
                   &second);
  } else {
    augment(anchors, st.bins[0], B, 1, st.x[0]);
    augment(partners, st.bins[1], B, 4, st.x[1]);
  }
  // Direction v: online(view v) predicts target(view 1 - v). One-directional trains v = 0 only.
  const int directions = cfg_.symmetric_loss ? 2 : 1;
  for (int v = 0; v < directions; ++v) {
    enc_.forward(online, st.x[v].data(), B, NormMode::train, st.te[v]);
    proj_.forward(online, st.te[v].output(), B, NormMode::train, st.tp[v]);
    pred_.forward(online, st.tp[v].output(), B, NormMode::train, st.tq[v]);
    enc_.forward(target, st.x[1 - v].data(), B, NormMode::batch, st.target_e[1 - v]);
    proj_.forward(target, st.target_e[1 - v].output(), B, NormMode::batch, st.target_p[1 - v]);
  }
  const double byol_weight = 1.0 / (1.0 + mined_weight) / static_cast<double>(directions);
  for (int v = 0; v < directions; ++v) {
    byol_loss(st.tq[v].output(), st.target_p[1 - v].output(), st.dq.data(), P, byol_weight / static_cast<double>(B),
              kByolSlot + v);
    if (!gradients) continue;
    pred_.backward(online, st.tq[v], st.dq.data(), st.dz.data());
    proj_.backward(online, st.tp[v], st.dz.data(), st.dy.data());
    enc_.backward(online, st.te[v], st.dy.data(), nullptr);
  }
  const bool mine = cfg_.mining && mined_weight > 0;
  const double mined_scale = mined_weight / (1.0 + mined_weight);
  if (mine) {
    // Mined views: queries from one half of the run's training trials, the pool from the other.
    std::vector<std::int32_t> queries, pool;
    runs_.sample_query_and_pool(step, B, cfg_.pool, queries, pool);
    augment(queries, st.query_bins, B, 2, st.x3);
    augment(pool, st.pool_bins, cfg_.pool, 3, st.x4);
    enc_.forward(online, st.x3.data(), B, NormMode::train, st.e3);
    enc_.forward(target, st.x4.data(), cfg_.pool, NormMode::batch, st.pool_tape);
    // Cosines of every query with every pool row of its run: unit rows, one batched GEMM.
    const std::int64_t pool_rows = R * cfg_.pool;
    launch(be, rows, nn::NormalizeRows<T>{st.e3.output(), st.unit_queries.data(), D}, kRowGrain);
    launch(be, pool_rows, nn::NormalizeRows<T>{st.pool_tape.output(), st.unit_pool.data(), D}, kRowGrain);
    be.gemm_batched(false, true, B, cfg_.pool, D, T(1), st.unit_queries.data(), B * D, st.unit_pool.data(), cfg_.pool * D,
                    T(0), st.cosines.data(), B * cfg_.pool, R);
    launch(be, rows,
           kernels::RunsSelectMined<T>{st.cosines.data(), st.pool_tape.output(), reach_.seeds().data(), st.selected.data(),
                                       st.mined.data(), B, D, cfg_.pool, cfg_.miner_k, step},
           kRowGrain);
    // Target of the mined view: the target projectors (cascaded) of the mined representation.
    proj_.forward(target, st.mined.data(), B, NormMode::batch, st.tz);
    proj_m_.forward(target, st.tz.output(), B, NormMode::batch, st.tv);
    proj_.forward(online, st.e3.output(), B, NormMode::train, st.p3);
    proj_m_.forward(online, st.p3.output(), B, NormMode::train, st.pm3);
    pred_m_.forward(online, st.pm3.output(), B, NormMode::train, st.qm3);
    byol_loss(st.qm3.output(), st.tv.output(), st.dqm.data(), M, mined_scale / static_cast<double>(B), kMinedSlot);
    if (gradients) {
      pred_m_.backward(online, st.qm3, st.dqm.data(), st.dvm.data());
      proj_m_.backward(online, st.pm3, st.dvm.data(), st.dz.data());
      proj_.backward(online, st.p3, st.dz.data(), st.dy.data());
      enc_.backward(online, st.e3, st.dy.data(), nullptr);
    }
  }
  // The step's only download: R sums per loss term, assembled on the host in a fixed order.
  const std::vector<double> sums = st.sums.to_host();
  auto mean_of = [&](std::int64_t slot, std::int64_t r) { return sums[static_cast<std::size_t>(slot * R + r)] / static_cast<double>(B); };
  std::vector<std::vector<double>> terms(static_cast<std::size_t>(R), std::vector<double>(4, 0.0));
  for (std::int64_t v = 0; v < directions; ++v) {
    for (std::int64_t r = 0; r < R; ++r) {
      const double mean = mean_of(kByolSlot + v, r);
      terms[static_cast<std::size_t>(r)][1] += mean / static_cast<double>(directions);
      terms[static_cast<std::size_t>(r)][0] += byol_weight * mean;
    }
  }
  for (auto& t : terms) t[3] = mined_weight;
  if (!mine) return terms;
  for (std::int64_t r = 0; r < R; ++r) {
    const double mean = mean_of(kMinedSlot, r);
    terms[static_cast<std::size_t>(r)][2] = mean;
    terms[static_cast<std::size_t>(r)][0] += mined_scale * mean;
  }
  return terms;
}

template <class T>
std::vector<std::vector<double>> MyowModel<T>::train_step(std::uint32_t step, double mined_weight, double momentum,
                                                          const std::vector<double>& lr) {
  auto terms = loss(step, mined_weight, true);
  weights_.set_learning_rates(lr);
  if (cfg_.lars) {
    weights_.lars_step({cfg_.momentum, cfg_.weight_decay, cfg_.lars_eta});
  } else {
    weights_.adamw_step({0, weights_.params()}, {cfg_.lr, 0.9, 0.999, 1e-8, cfg_.weight_decay});
  }
  const std::int64_t target_count = proj_m_.param_end();
  const std::int64_t chunk = backend_.kind() == BackendKind::cpu ? 4096 : 1;
  launch(backend_, runs_.runs() * ((target_count + chunk - 1) / chunk),
         kernels::RunsEmaUpdate<T>{target_.data(), weights_.values(), 0, target_count, weights_.stride(), chunk,
                                   static_cast<T>(momentum)},
         2);
  return terms;
}

template <class T>
std::vector<std::vector<double>> MyowModel<T>::represent() {
  const ReachData& data = runs_.data();
  const std::int64_t R = runs_.runs(), bins = data.bins, N = data.neurons, D = cfg_.representation;
  State& st = *state_;
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
  st.all_bins = Buffer<T>(backend_, x);
  const MlpWeights<T> w{weights_.values(), nullptr, weights_.stride(), stats_.data(), stats_stride_};
  enc_.forward(w, st.all_bins.data(), bins, NormMode::eval, st.represent_tape);
  std::vector<T> out(static_cast<std::size_t>(R * bins * D));
  backend_.copy_to_host(out.data(), st.represent_tape.output(), out.size() * sizeof(T));
  st.all_bins = Buffer<T>();
  st.represent_tape = MlpTape<T>();
  std::vector<std::vector<double>> reps;
  for (std::int64_t r = 0; r < R; ++r) reps.emplace_back(out.begin() + r * bins * D, out.begin() + (r + 1) * bins * D);
  return reps;
}

template <class T>
RunState MyowModel<T>::save_run(std::int64_t r) const {
  RunState s;
  s.params = save_row(backend_, weights_.values(), weights_.stride(), r, weights_.params());
  s.target = save_row(backend_, target_.data(), weights_.stride(), r, weights_.params());
  s.stats = save_row(backend_, stats_.data(), stats_stride_, r, pred_m_.stats_end());
  s.mean = runs_.split(r).mean;
  s.inv_std = runs_.split(r).inv_std;
  return s;
}

template <class T>
void MyowModel<T>::load_run(std::int64_t r, const RunState& state) {
  load_row(backend_, weights_.values(), weights_.stride(), r, state.params, weights_.params(), "state.params");
  load_row(backend_, target_.data(), weights_.stride(), r, state.target, weights_.params(), "state.target");
  load_row(backend_, stats_.data(), stats_stride_, r, state.stats, pred_m_.stats_end(), "state.stats");
}

template <class T>
MlpSpec MyowModel<T>::encoder_spec(const MyowConfig& cfg, std::int64_t neurons) {
  return {encoder_dims(cfg, neurons), true};
}

template <class T>
std::vector<NamedTensor> MyowModel<T>::tensors(const MyowConfig& cfg, std::int64_t neurons, Backend& backend) {
  // The same networks, in the same order and at the same offsets, as the constructor's.
  const BatchedMlp<T> enc(backend, encoder_spec(cfg, neurons), 1, 0, 0);
  const BatchedMlp<T> proj(backend, {{cfg.representation, cfg.projection_hidden, cfg.projection}, true}, 1, enc.param_end(),
                           enc.stats_end());
  const BatchedMlp<T> proj_m(backend, {{cfg.projection, cfg.mined_hidden, cfg.mined_projection}, true}, 1,
                             proj.param_end(), proj.stats_end());
  const BatchedMlp<T> pred(backend, {{cfg.projection, cfg.projection_hidden, cfg.projection}, true}, 1,
                           proj_m.param_end(), proj_m.stats_end());
  const BatchedMlp<T> pred_m(backend, {{cfg.mined_projection, cfg.mined_hidden, cfg.mined_projection}, true}, 1,
                             pred.param_end(), pred.stats_end());
  std::vector<NamedTensor> out;
  enc.name_tensors("encoder", StateStore::params, true, out);
  proj.name_tensors("projector", StateStore::params, true, out);
  proj_m.name_tensors("mined_projector", StateStore::params, true, out);
  pred.name_tensors("predictor", StateStore::params, true, out);
  pred_m.name_tensors("mined_predictor", StateStore::params, true, out);
  // The target normalises with batch statistics only (NormMode::batch): no running statistics.
  enc.name_tensors("target_encoder", StateStore::target, false, out);
  proj.name_tensors("target_projector", StateStore::target, false, out);
  proj_m.name_tensors("target_mined_projector", StateStore::target, false, out);
  return out;
}

template class MyowModel<float>;
template class MyowModel<double>;

SslRecord train_myow(const MyowConfig& cfg, const ReachRuns& runs, Backend& backend,
                     const std::function<void(std::int64_t, std::int64_t)>& progress) {
  MyowModel<float> model(cfg, runs, backend);
  return train_myow(model, progress, {});
}

SslRecord train_myow(MyowModel<float>& model, const std::function<void(std::int64_t, std::int64_t)>& progress,
                     const std::function<bool()>& keep_going) {
  const MyowConfig& cfg = model.config();
  const ReachRuns& runs = model.runs();
  const std::int64_t per_epoch = std::max<std::int64_t>(1, runs.min_train_bins() / cfg.batch);
  const std::int64_t total = cfg.epochs * per_epoch;
  const std::int64_t mining_warmup = cfg.mining_warmup_epochs * per_epoch;
  const std::int64_t mining_rampup = std::max(cfg.mining_rampup_epochs * per_epoch, mining_warmup + 1);
  SslRecord rec;
  rec.method = cfg.mining ? "myow" : "byol";
  rec.curve_names = {"loss", "byol", "mined", "mined_weight"};
  rec.curves.assign(static_cast<std::size_t>(runs.runs()), {});
  std::uint32_t step = 0;
  bool going = true;
  for (std::int64_t e = 0; e < cfg.epochs && going; ++e) {
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
      if (keep_going && !keep_going()) {
        going = false;
        break;
      }
    }
    if (going) {
      for (std::size_t r = 0; r < sum.size(); ++r) rec.curves[r].push_back(sum[r]);
    }
  }
  rec.dim = cfg.representation;
  rec.representation = model.represent();
  return rec;
}

}  // namespace engram::ssl
