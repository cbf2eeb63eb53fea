"""Hydra callback: when a multirun sweep ends, print and write its summary table, best first."""

import json
from pathlib import Path

import pandas as pd
from hydra.experimental.callback import Callback

from asr.atomic import write_csv


def sweep_summary(sweep_dir) -> pd.DataFrame:
    """One row per job (overrides, dev/test CER, training time), sorted by dev CER."""
    rows = [json.loads(p.read_text()) for p in sorted(Path(sweep_dir).glob("*/job.json"))]
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).sort_values("dev_cer", kind="stable").reset_index(drop=True)
    first = [c for c in ("overrides", "dev_cer", "test_cer", "test_wer", "train_minutes") if c in table]
    return table[first + [c for c in table.columns if c not in first]]


class SweepSummary(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = sweep_summary(sweep_dir)
        if table.empty:
            return
        write_csv(sweep_dir / "summary.csv", table)
        print(f"\nsweep summary ({len(table)} jobs, best first) -> {sweep_dir / 'summary.csv'}")
        print(table.to_string(index=False))
