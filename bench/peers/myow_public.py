#!/usr/bin/env python3
"""The MYOW authors' own code (github nerdslab/myow) trained on the very splits of an engram myow run.

engram's `myow` experiment is engram's own MYOW (docs/self_supervised.md). This script asks what
the authors' implementation reads on the same data under the same protocol: it imports their
unmodified modules from the checkout you give (nothing of it is vendored here; PyTorch, CPU),
trains their `MYOWTrainer` with the configuration of their `docs/monkey_reach.md` command
(encoder 174 -> 128 -> 128 -> 128 -> 128 with batch norm, projectors 32/256 and 16/64, LARS at
0.8, batch 256, pool 512, k = 3, mining weight 0.1 after 10 epochs ramped to epoch 110,
jitter <= 4 bins, noise 0.1, randomised dropout <= 0.8 applied with probability 0.9, the
structured transform, 1000 epochs of their four-worker loader = 20,000 steps) on each split's
training trials from the run's `splits.csv`, and scores the eval-mode online encoder by engram's
readout: least squares with a bias from the representation of clean standardised bins to
(cos, sin) of the reach angle, fit on the moving (> 5 cm/s) training bins, accuracy within pi/8
on the moving test bins. It prints each split's accuracy every --eval-every epochs and, at the end,
the mean over the splits beside the run's own MYOW, BYOL and PCA rows (accuracy.csv).

Differences from the authors' script, all outside their modules: the data are engram's NPZ of the
same recording (their binned pickle, 100 ms bins), split by engram's trial splits instead of
their first 80% of trials; their TensorBoard writer is replaced by one that drops the scalars,
and the two modules that import tensorflow/torchvision (embedding logging, the CIFAR ResNet)
are not loaded; the loader's workers persist across epochs (the same draws per epoch, without
four process starts per epoch); their own evaluation (a linear layer trained by Adam on augmented
inputs, a moving average of its test accuracy) is replaced by engram's readout above.

    python3 bench/peers/myow_public.py --checkout /path/to/myow --run DIR/myow-out [--splits 0,1,2,3,4]
    # needs torch (bench/peers/requirements.txt), scipy and tqdm (imported by their modules);
    # about 18 minutes per split on one core of the 2-core machine
"""
import argparse
import importlib.machinery
import json
import os
import statistics
import sys
import time
import types

import numpy as np

from reach_run import DEFAULT_DATA, load_recording, read_run, within


def empty_module(name, **attrs):
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attrs)
    sys.modules[name] = module


class DroppedScalars:
    def __init__(self, *args, **kwargs):
        pass

    def add_scalar(self, *args, **kwargs):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkout", required=True, help="a clone of github.com/nerdslab/myow")
    ap.add_argument("--run", required=True, help="an engram myow output folder (splits.csv, accuracy.csv)")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--splits", default=None, help="comma-separated split ids (default: every split of the run)")
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4, help="their loader's workers; each yields a full epoch")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.checkout, "self_supervised", "trainer", "myow_trainer.py")):
        sys.exit(f"myow_public.py: --checkout {args.checkout} is not a clone of nerdslab/myow "
                 "(self_supervised/trainer/myow_trainer.py not found)")

    import torch
    empty_module("torch.utils.tensorboard", SummaryWriter=DroppedScalars)
    empty_module("self_supervised.tensorboard", embedding_projector=None)
    empty_module("self_supervised.nets.resnets", resnet_cifar=None)
    sys.path.insert(0, os.path.abspath(args.checkout))
    from torch.utils.data import DataLoader
    from self_supervised.data import generators, utils
    from self_supervised.nets import MLP
    from self_supervised.trainer import MYOWTrainer
    from self_supervised.transforms import neural_transforms as transforms
    from self_supervised.utils import set_random_seeds
    torch.set_num_threads(1)

    recording = load_recording(args.data)
    counts, trial, time_bin = recording["counts"], recording["trial"], recording["time_bin"]
    angle, cos_sin, moving = recording["angle"], recording["cos_sin"], recording["moving"]
    splits, engram_rows = read_run(args.run)
    chosen = sorted(splits) if args.splits is None else [int(s) for s in args.splits.split(",")]

    final = {}
    for s in chosen:
        set_random_seeds(100 + s)  # their script's default seed is 100
        train_trials = sorted(splits[s][0])
        # Bins of each training trial in time order, trial after trial, as their generator expects.
        order = np.concatenate([np.flatnonzero(trial == t)[np.argsort(time_bin[trial == t])] for t in train_trials])
        lengths = np.array([int((trial == t).sum()) for t in train_trials])
        mean, std = counts[order].mean(0), counts[order].std(0)
        kept = std > 1e-3  # their dataset drops units without variance on the training trials
        rates, mean, std = counts[order][:, kept], mean[kept], std[kept]
        transform = transforms.Compose(transforms.RandomizedDropout(0.8, apply_p=0.9),
                                       transforms.Normalize(torch.tensor(mean), torch.tensor(std)),
                                       transforms.Noise(0.1),
                                       transforms.Pepper(0.0, 0.3, apply_p=0.0))
        pairs = utils.onlywithin_indices(lengths, k_min=-4, k_max=4)
        generator = generators.LocalGlobalGenerator(rates, pairs, lengths, num_examples=rates.shape[0], batch_size=256,
                                                    pool_batch_size=512, transform=transform,
                                                    num_workers=args.workers, structured_transform=True)
        loader = DataLoader(generator, num_workers=args.workers, drop_last=True, persistent_workers=args.workers > 0)
        encoder = MLP([rates.shape[1], 128, 128, 128, 128], batchnorm=True)
        trainer = MYOWTrainer(encoder=encoder, representation_size=128, projection_size=32, projection_hidden_size=256,
                              projection_size_2=16, projection_hidden_size_2=64, base_lr=0.8, base_momentum=0.9,
                              momentum=0.9, weight_decay=1e-6, optimizer_type="lars", batch_size=256,
                              total_epochs=args.epochs, exclude_bias_and_bn=True, train_dataloader=loader,
                              prepare_views=generator.prepare_views, warmup_epochs=10, myow_warmup_epochs=10,
                              myow_rampup_epochs=110, myow_max_weight=0.1, view_miner_k=3, gpu=0, log_step=10,
                              log_dir=None)

        clean = torch.tensor((counts[:, kept] - mean) / std, dtype=torch.float32)
        fit = np.isin(trial, train_trials) & moving
        evaluate = np.isin(trial, splits[s][1]) & moving
        start = time.time()
        for epoch in range(args.epochs + 1):  # their loop runs num_epochs + 1 epochs
            trainer.model.train()
            trainer.train_epoch()
            if epoch % args.eval_every != 0 and epoch != args.epochs:
                continue
            trainer.model.eval()
            with torch.no_grad():
                rep = trainer.model.online_encoder(clean).numpy().astype(np.float64)
            rep = np.hstack([rep, np.ones((len(rep), 1))])
            w = np.linalg.lstsq(rep[fit], cos_sin[fit], rcond=None)[0]
            test_p, train_p = rep[evaluate] @ w, rep[fit] @ w
            test_angle = np.arctan2(test_p[:, 1], test_p[:, 0])
            row = {"split": s, "epoch": epoch, "step": trainer.step,
                   "accuracy": round(100 * within(test_angle, angle[evaluate], np.pi / 8), 2),
                   "delta_accuracy": round(100 * within(test_angle, angle[evaluate], 3 * np.pi / 16), 2),
                   "train_accuracy": round(100 * within(np.arctan2(train_p[:, 1], train_p[:, 0]), angle[fit], np.pi / 8), 2),
                   "seconds": round(time.time() - start, 1)}
            print(json.dumps(row), flush=True)
            final[s] = row["accuracy"]

    def line(name, values):
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{name:34s} {statistics.mean(values):5.1f} ± {sd:4.1f}%   " + " ".join(f"{v:5.1f}" for v in values))

    print(f"\naccuracy within pi/8 on splits {chosen} (mean ± sd, then per split)")
    line("MYOW, the authors' code", [final[s] for s in chosen])
    for method in ("myow", "byol", "pca"):
        if method in engram_rows:
            line(f"{method} (engram, the run's row)", [engram_rows[method][s] for s in chosen])


if __name__ == "__main__":
    main()
