#!/usr/bin/env python3
"""Converts scikit-learn's bundled 8x8 digits (1797 images, UCI optdigits test set) into the
MNIST IDX format, so engram's C++ IDX loader reads them without Python:

  data/digits-images.idx3-ubyte   magic 0x00000803, dims (1797, 8, 8), one byte per pixel (0..16)
  data/digits-labels.idx1-ubyte   magic 0x00000801, dims (1797,), one byte per label (0..9)

IDX (http://yann.lecun.com/exdb/mnist/): a big-endian 32-bit magic (two zero bytes, the type
code 0x08 = unsigned byte, the number of dimensions), one big-endian 32-bit size per dimension,
then the data in row-major order. Images keep sklearn's order and intensities (0..16); the
classifier binarises them (pixel >= threshold fires).

Run once from the repository root (the output is committed; rerunning gives the same bytes):
  pip install scikit-learn==1.5.2
  python3 scripts/make_digits.py [--out data]
"""
import argparse
import hashlib
import pathlib
import struct

import numpy as np
from sklearn.datasets import load_digits


def write_idx(path: pathlib.Path, array: np.ndarray) -> None:
    data = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, data.ndim) + struct.pack(">" + "I" * data.ndim, *data.shape)
    path.write_bytes(header + data.tobytes())
    print(f"wrote {path} {data.shape} sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    args = parser.parse_args()
    digits = load_digits()
    images = digits.images.astype(np.int64)
    labels = digits.target.astype(np.int64)
    assert images.shape[1:] == (8, 8) and images.min() >= 0 and images.max() <= 16
    assert labels.min() == 0 and labels.max() == 9
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_idx(out / "digits-images.idx3-ubyte", images)
    write_idx(out / "digits-labels.idx1-ubyte", labels)


if __name__ == "__main__":
    main()
