"""Training throughput of the default network: the hand-written GRU gradient against TensorFlow's autodiff of the loop.

    python -m bench.gru_gradient                      # 6 turns of 30 s each per variant, about 8 min
    python -m bench.gru_gradient --rounds 4 --seconds 20

Both variants train the default network (params.yaml) from seed 0 on the same real batches
(data/features, data/labels), under op determinism as stages/train.py runs, taking turns so that a slow
spell of a shared machine falls on both. Writes bench/gru_gradient.json; `python -m bench` has the same
row, from its own training turns.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from asr.atomic import write_json  # noqa: E402
from bench.training import bench_training  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gru_gradient", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="turns each variant takes")
    parser.add_argument("--seconds", type=float, default=30, help="seconds of training in each turn")
    parser.add_argument("--output", default="bench/gru_gradient.json")
    args = parser.parse_args(argv)
    tf.config.experimental.enable_op_determinism()
    params = OmegaConf.load("params.yaml")
    result = bench_training(params, args.seconds * args.rounds, args.rounds, only=("project", "project_autodiff_gru"))
    written, autodiff = result["project"]["median"], result["project_autodiff_gru"]["median"]
    result.update(written_over_autodiff=round(written / autodiff, 3), cpus=os.cpu_count(),
                  load_average=[round(load, 2) for load in os.getloadavg()])
    write_json(args.output, result)
    print(f"hand-written GRU gradient {written:.0f} frames/s, autodiff of the loop {autodiff:.0f} frames/s: "
          f"{written / autodiff:.2f}x (median of {args.rounds} turns each); written to {args.output}")


if __name__ == "__main__":
    main()
