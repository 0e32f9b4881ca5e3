#pragma once
// The separable population transformer (Liu et al. 2022, "Seeing the forest and the tree"):
// binned spike counts [batch, time, neurons] pass through
//   individual module: every neuron is its own sequence over time; each bin's count is one
//     token, embedded by a linear map 1 -> width (no temporal position encoding), then L pre-norm
//     transformer layers whose weights all neurons share;
//   population module: at every time step the neurons form a sequence (no neuron identity, so
//     permutation-equivariant; an optional learned per-neuron embedding breaks this), L more layers;
//   head: mean pooling (over neurons and time for a label, over neurons for behaviour per bin),
//     dropout, a linear read-out; softmax cross-entropy or mean squared error.
// Every layer is one explicit forward and backward (kernels/nn, kernels/attention, this model's
// transformer_kernels.hpp) run through launch() and strided-batched GEMMs, on either backend.
// One object holds R independent runs of one shape (runs::TrainingRuns): parameters, gradients,
// AdamW moments and activations live in backend memory as [R, ...] arrays, and a run is the same
// bits alone or in a batch. Each run's parameters are one flat vector, named slice by slice
// (`layout().tensors`), so optimisers, freezing and checkpoints see one array.
//
//   engram::models::transformer::TransformerConfig cfg;   // width 16, 6 heads x 64, 2 + 2 layers
//   cfg.neurons = 100; cfg.outputs = 8;
//   SeparableTransformer net(cfg, backend, {1, 2, 3});    // three runs, seeds 1, 2, 3
//   auto losses = net.train_step(counts, labels, nullptr, batch, time, /*step=*/0);  // per run; fills grads
//   net.predict(counts, batch, time, out);                                           // eval mode
// Inputs hold every run's minibatch: counts [R, batch, time, neurons], labels [R, batch].
#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/memory/buffer.hpp"
#include "engram/models/nn/training_runs.hpp"

namespace engram::models::transformer {

enum class Task { classify, regress };

struct TransformerConfig {
  std::int64_t width = 16;
  std::int64_t heads = 6;
  std::int64_t head_dim = 64;
  std::int64_t ff_hidden = 64;  // feed-forward width (4 x width)
  std::int64_t individual_layers = 2;
  std::int64_t population_layers = 2;
  double dropout = 0.5;         // before the head
  bool neuron_embedding = false;
  std::int64_t neurons = 0;     // size of the neuron-embedding table (when used) and of the input
  std::int64_t outputs = 8;     // classes (classify) or behaviour dimensions (regress)
  Task task = Task::classify;
};

struct Slice {
  std::int64_t offset = 0, size = 0;
};

struct LayerSlices {
  Slice ln1_g, ln1_b, wq, bq, wk, bk, wv, bv, wo, bo, ln2_g, ln2_b, w1, b1, w2, b2;
};

struct Layout {
  Slice embed_w, embed_b;
  std::vector<LayerSlices> individual;
  Slice individual_norm_g, individual_norm_b;
  Slice neuron_embedding;  // size 0 when unused
  std::vector<LayerSlices> population;
  Slice population_norm_g, population_norm_b;
  Slice head_w, head_b;
  std::int64_t individual_end = 0;  // params [0, individual_end) are the individual module
  std::int64_t total = 0;
  // Every tensor in order: name ("individual.0.wq") and shape (torch.nn.Linear layout [out, in]).
  struct Named {
    std::string name;
    std::vector<std::int64_t> shape;
    Slice slice;
    enum class Init { uniform, ones, zeros, normal } init = Init::uniform;
    std::int64_t fan_in = 1;  // uniform init bound 1/sqrt(fan_in)
  };
  std::vector<Named> tensors;
};

struct LayerCache;

class SeparableTransformer {
 public:
  // Checks the config (bad_input naming `model.<field>`) and initialises every run like PyTorch:
  // linear weights and biases U(-1/sqrt(in), 1/sqrt(in)), norms 1 and 0, embeddings N(0, 1),
  // every draw keyed by (run seed, tensor, element). The run seeds also key dropout.
  SeparableTransformer(const TransformerConfig& config, Backend& backend, const std::vector<std::uint64_t>& seeds);
  SeparableTransformer(const TransformerConfig& config, Backend& backend, std::uint64_t seed)
      : SeparableTransformer(config, backend, std::vector<std::uint64_t>{seed}) {}
  ~SeparableTransformer();
  SeparableTransformer(const SeparableTransformer&) = delete;
  SeparableTransformer& operator=(const SeparableTransformer&) = delete;

  const TransformerConfig& config() const { return config_; }
  const Layout& layout() const { return layout_; }
  std::int64_t runs() const { return weights_.runs(); }
  Backend& backend() const { return backend_; }
  runs::TrainingRuns& weights() { return weights_; }

  // Host copies of one run's parameters and gradients, and replacing its parameters.
  std::vector<float> params(std::int64_t run = 0) const { return weights_.run_values(run); }
  std::vector<float> grads(std::int64_t run = 0) const { return weights_.run_grads(run); }
  void set_params(const std::vector<float>& values, std::int64_t run = 0) { weights_.upload_run(run, values); }

  // Training-mode forward and backward of every run on its minibatch: counts [R, batch, time,
  // neurons]; labels [R, batch] (classify) or targets [R, batch, time, outputs] (regress). Sets
  // the gradients (overwriting) and returns each run's mean loss. Dropout masks are keyed by
  // (run seed, step). With freeze_individual the individual module's gradients stay zero and its
  // backward pass is skipped.
  std::vector<float> train_step(const float* counts, const std::int32_t* labels, const float* targets,
                                std::int64_t batch, std::int64_t time, std::uint32_t step, bool freeze_individual = false);
  // One run (R = 1): its loss.
  float train_step_loss(const float* counts, const std::int32_t* labels, const float* targets, std::int64_t batch,
                        std::int64_t time, std::uint32_t step, bool freeze_individual = false);

  // Eval-mode forward: logits [R, batch, outputs] or predictions [R, batch, time, outputs].
  void predict(const float* counts, std::int64_t batch, std::int64_t time, std::vector<float>& out);

  // Eval-mode forward up to the population module's final norm: [R, batch, time, neurons, width].
  void population_output(const float* counts, std::int64_t batch, std::int64_t time, std::vector<float>& out);

  // Replaces the population module, neuron embedding and head of every run with freshly
  // initialised ones (seeds[r] for run r) for a population of `neurons` (transfer: the individual
  // module is kept). The optimiser state starts afresh.
  void reset_population(std::int64_t neurons, const std::vector<std::uint64_t>& seeds);
  void reset_population(std::int64_t neurons, std::uint64_t seed) { reset_population(neurons, std::vector<std::uint64_t>{seed}); }

  // Which parameters a training run updates: everything, or all but the individual module.
  Slice trainable(bool freeze_individual) const {
    return freeze_individual ? Slice{layout_.individual_end, layout_.total - layout_.individual_end} : Slice{0, layout_.total};
  }

 private:
  static Layout build_layout(const TransformerConfig& config);
  std::vector<float> initial_params(std::uint64_t seed) const;
  void forward(const float* counts, std::int64_t batch, std::int64_t time, bool train, std::uint32_t step);
  void block_forward(const LayerSlices& p, LayerCache& c, const float* in, float* out, std::int64_t sequences,
                     std::int64_t length);
  void block_backward(const LayerSlices& p, LayerCache& c, float* dx, std::int64_t sequences, std::int64_t length);
  float* scratch(int which, std::int64_t count);

  TransformerConfig config_;
  Backend& backend_;
  Layout layout_;
  runs::TrainingRuns weights_;
  std::uint32_t dropout_layer_ = 0;
  // Activations of the last forward pass, [R, ...] in backend memory.
  std::int64_t batch_ = 0, time_ = 0;
  Buffer<float> counts_, embedded_, individual_out_, individual_norm_out_, individual_mean_, individual_rstd_;
  Buffer<float> population_in_, population_out_, population_norm_out_, population_mean_, population_rstd_;
  Buffer<float> pooled_, dropped_, output_, loss_rows_, dout_, layer_io_[2];
  Buffer<std::int32_t> labels_;
  Buffer<double> run_losses_;
  Buffer<std::int64_t> offsets_;
  std::vector<std::unique_ptr<LayerCache>> individual_cache_, population_cache_;
  Buffer<float> scratch_[8];
};

}  // namespace engram::models::transformer
