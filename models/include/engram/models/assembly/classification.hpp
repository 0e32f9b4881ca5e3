#pragma once
// Learning to classify with class assemblies (Dabagia, Papadimitriou & Vempala, "Assemblies of
// neurons learn to classify well-separated distributions", COLT 2022).
//
// Two areas: "input" (one neuron per input feature; a sample is the set of features that fire,
// imposed with set_firing) and "class" (n neurons, cap k), joined by the fiber input -> class and
// the recurrent fiber class -> class, both G(n, p) with Hebbian rate beta.
//  - train: for each class in turn, its training samples are presented one per step, `rounds`
//    times, plasticity on. The first step of a class is driven by the input alone (the
//    recurrent fiber is silenced, so the previous class's assembly does not leak in); later steps
//    add recurrence. The class's winners after its last step are its class assembly. (Or, with
//    Assemblies::designated, the class area is made to fire neurons [c*k, (c+1)*k) and fixed.)
//  - classify: plasticity off; the sample fires for `steps` steps (the first input-only, the
//    rest with recurrence); the prediction is the class whose assembly shares the most neurons
//    with the final winners (ties: the lower class index).
// All B brains of a batch step together; each brain sees its own samples (ragged firing lists).
//
//   Classifier clf(backend, config, {{seed, 0}, {seed, 1}});
//   clf.train(samples);                       // samples[brain][class][i]
//   auto predictions = clf.classify(test);    // test[brain]: one sample per brain
//
// The experiment (parse_classification / run_classification) draws the data — synthetic classes
// or an IDX image set — per brain, trains, tests `test.samples_per_class` fresh samples per class
// and yields one accuracy record per brain.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engram/engine/backend/backend.hpp"
#include "engram/engine/io/config_node.hpp"
#include "engram/engine/progress.hpp"
#include "engram/models/assembly/brain_batch.hpp"
#include "engram/models/assembly/datasets.hpp"

namespace engram::assembly {

struct ClassifierConfig {
  std::uint32_t features = 0;  // input neurons (n_in); set from the data by the experiment
  NeuronId n = 1000;           // neurons of the class area
  std::uint32_t k = 100;       // its cap
  double p = 0.1;              // edge probability of both fibers
  double beta = 0.1;           // Hebbian rate of both fibers
  std::uint32_t rounds = 1;    // presentations of each class's training samples
  bool recurrence = true;      // the class area excites itself (training and classification)
  std::uint32_t classify_steps = 1;  // steps per test sample: 1 input-only, then recurrent ones
  // How a class assembly arises. formed (the paper's procedure): the class area's own k-cap picks
  // it while the class's samples fire. designated: assembly c is neurons [c*k, (c+1)*k), activated
  // and fixed while class c's samples fire, so only the synapses into it learn (a supervised
  // variant that keeps assemblies disjoint; needs classes * k <= n).
  enum class Assemblies { formed, designated };
  Assemblies assemblies = Assemblies::formed;
  GraphMode mode = GraphMode::implicit_graph;

  // Dabagia et al.'s own procedure (their MNIST notebook; examples/classify_digits_formed.yaml),
  // without which formed assemblies of overlapping classes collapse onto one:
  //  - normalise: each class neuron's in-edges of each fiber are scaled to sum to 1 when the brain
  //    is built and again after each class's training, so no neuron wins every class by in-degree
  //    or by weights grown for an earlier class (explicit mode: it needs every edge stored);
  bool normalise = false;
  //  - formed_bias (train.bias, the paper's -1): while later classes train, every neuron of an
  //    assembly formed so far gets this added to its input (a tonic stimulus "bias" with one edge to
  //    each class neuron), so each class recruits fresh neurons; off (0) at test;
  double formed_bias = 0.0;
  //  - readout frequent (train.readout): after training, with plasticity off, each training sample
  //    is classified once and class c's assembly becomes the k neurons that fired most often for c's
  //    samples (ties: the lower index); winners: the last training step's winners;
  enum class Readout { winners, frequent };
  Readout readout = Readout::winners;
  //  - self_loops false: the recurrent fiber joins no neuron to itself.
  bool self_loops = true;

  // Throws engram::Error naming the bad field (config names: n, k, p, beta, train.rounds, ...).
  void validate() const;
  // Areas "input" {features, k = features} and "class" {n, k}; fibers input -> class and, with
  // recurrence, class -> class; with a formed_bias, the stimulus "bias" (1 neuron) -> class (p = 1).
  BrainSpec brain_spec() const;
};

struct Prediction {
  std::uint32_t label = 0;
  std::vector<std::uint32_t> overlap;  // [class]: neurons shared by the winners and the class assembly
};

class Classifier {
 public:
  Classifier(Backend& backend, ClassifierConfig config, std::vector<BrainId> brains);

  // samples[b][c][i]: brain b's i-th training sample of class c. Every brain has the same number
  // of classes (>= 2), and each class the same number of samples in every brain. Call once.
  void train(const std::vector<std::vector<std::vector<Sample>>>& samples);
  // One sample per brain, plasticity off; a prediction per brain.
  std::vector<Prediction> classify(const std::vector<Sample>& per_brain);

  std::uint32_t classes() const { return classes_; }
  std::size_t size() const { return batch_->size(); }
  // The class assembly of class `cls` in brain `brain` (k neurons, increasing).
  const std::vector<NeuronId>& assembly(std::size_t brain, std::uint32_t cls) const;
  const ClassifierConfig& config() const { return config_; }
  BrainBatch& batch() { return *batch_; }

 private:
  void present(const std::vector<const Sample*>& per_brain, bool first_step);
  void normalise_fibers();
  // Uploads bias_[b] as the weights of brain b's "bias" row.
  void upload_bias(std::size_t brain);
  // Readout frequent: the k neurons that fire most often for each class's training samples.
  void frequent_assemblies(const std::vector<std::vector<std::vector<Sample>>>& samples);

  ClassifierConfig config_;
  std::unique_ptr<BrainBatch> batch_;
  std::uint32_t classes_ = 0;
  std::vector<std::vector<std::vector<NeuronId>>> assemblies_;  // [brain][class]
  std::vector<std::vector<float>> bias_;                         // [brain][class neuron], with formed_bias
};

// ---- The experiment behind `experiment: classify` ----
struct ClassificationData {
  enum class Kind { synthetic, idx };
  Kind kind = Kind::synthetic;
  SyntheticClasses synthetic;    // kind synthetic
  std::string images, labels;    // kind idx: resolved paths
  ImageEncoding encoding;        // kind idx
  std::uint32_t classes = 0;     // kind idx: keep labels < classes (0: every label)
};

struct ClassificationExperiment {
  ClassifierConfig classifier;  // features comes from the data (synthetic: data.features)
  ClassificationData data;
  std::uint32_t train_per_class = 5;
  std::uint32_t test_per_class = 100;
  std::uint64_t seed = 0;
  std::uint32_t brains = 1;
  std::uint32_t batch_size = 1;
  std::string backend = "auto";
};

struct ClassificationRecord {
  std::uint32_t brain = 0;  // index within the run
  std::uint64_t seed = 0;
  std::uint32_t classes = 0;
  std::uint32_t train_per_class = 0;
  std::uint32_t tested = 0;   // test samples (classes * test_per_class)
  std::uint32_t correct = 0;
  double accuracy = 0.0;      // correct / tested
  double assembly_overlap = 0.0;  // mean over class pairs of |A_i ∩ A_j| / k
};

// Reads and fully validates a config (strict keys; errors name the field). Relative data paths
// resolve against the config's folder (ConfigNode::base_dir), or `config_dir` when given; the
// files must exist.
ClassificationExperiment parse_classification(const io::ConfigNode& root, const std::filesystem::path& config_dir = {});

using ClassificationSink = std::function<void(const ClassificationRecord&)>;

// Records arrive ordered by brain. Progress counts brain-presentations (training and test steps).
void run_classification(const ClassificationExperiment& experiment, Backend& backend, const ClassificationSink& sink,
                        const Progress& progress = {});

}  // namespace engram::assembly
