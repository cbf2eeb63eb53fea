"""The learning curve of a run from its dvclive logs: dev and tracked test CER against training hours."""

from pathlib import Path

import pandas as pd

from asr.csvio import read_text_table


def metric_series(live_dir, name: str) -> pd.Series | None:
    """dvclive's plots/metrics/<name>.tsv as a float series indexed by step, or None if not logged."""
    path = Path(live_dir) / "plots" / "metrics" / f"{name}.tsv"
    if not path.is_file():
        return None
    table = read_text_table(path, sep="\t")
    return pd.Series(table[Path(name).name].astype(float).values, index=table["step"].astype(int).values)


def learning_curve(live_dir, columns: dict) -> pd.DataFrame:
    """epoch, train_hours and one column per `columns` item (column name -> dvclive metric name), by epoch."""
    hours = metric_series(live_dir, "train_hours")
    if hours is None:
        raise FileNotFoundError(f"{live_dir}: no train_hours logged")
    curve = pd.DataFrame({"epoch": hours.index + 1, "train_hours": hours.round(4).values})
    for column, metric in columns.items():
        series = metric_series(live_dir, metric)
        if series is not None:
            curve[column] = series.reindex(hours.index).round(5).values
    return curve
