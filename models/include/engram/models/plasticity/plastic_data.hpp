#pragma once
// Data sets for learned-plasticity experiments. Synthetic samples are keyed Philox draws
// (seed, purpose::plasticity_data, stream, index): the teacher depends on the seed only, and each
// stream (a meta-learning step's batch, a test set) is an independent sample of the same task.
//   halfspace:       x ~ N(0, I_d), y = [w . x > 0] for a random direction w
//   relu_teacher:    x ~ N(0, I_d), y = argmax C ReLU(A x) for a random one-layer ReLU network
//   plastic_teacher: x ~ N(0, I_d), y = the prediction of a random plastic network
//   images:          IDX files (scikit-learn's 8x8 digits in data/, MNIST, Fashion-MNIST), pixels
//                    scaled to [0, 1]
//
//   Dataset train = halfspace_data({.inputs = 20}, /*n=*/100, /*seed=*/1, /*stream=*/0);
//   Dataset digits = image_data(assembly::load_idx(images, labels));
#include <cstdint>
#include <string>

#include "engram/models/assembly/datasets.hpp"
#include "engram/models/plasticity/plastic_network.hpp"
#include "engram/models/plasticity/purposes.hpp"

namespace engram::plastic {

Dataset halfspace_data(std::uint32_t inputs, std::size_t n, std::uint64_t seed, std::uint32_t stream);
Dataset relu_teacher_data(std::uint32_t inputs, std::uint32_t labels, std::uint32_t hidden, std::size_t n,
                          std::uint64_t seed, std::uint32_t stream);
// The teacher is random_weights(shape, seed, brain = 0xFFFFFFFF) with a readout of unit scale.
Dataset plastic_teacher_data(const PlasticShape& shape, std::size_t n, std::uint64_t seed, std::uint32_t stream);

// Pixels / 255 (or / the largest pixel when that is below 255, as for the 0..16 digits).
Dataset image_data(const assembly::LabeledImages& images);
// The bundled scikit-learn digits (1797 images, 8x8, 10 classes) from engram's data folder
// (engine/io/data_dir.hpp: $ENGRAM_DATA_DIR, the Python package's, or share/engram/data).
Dataset digits_data();

// A keyed shuffle of `data` split into train (the first n_train after shuffling) and test (the rest).
void shuffle_split(const Dataset& data, std::size_t n_train, std::uint64_t seed, Dataset& train, Dataset& test);

// Per-feature z-scores with the training part's mean and sd, applied to both parts; image pixels
// are all non-negative, and a rule learned on centred synthetic inputs expects centred inputs.
void standardize(Dataset& train, Dataset& test);

}  // namespace engram::plastic
