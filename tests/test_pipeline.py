"""The real pipeline under real DVC in a temporary git repository, on a tiny configuration."""

import json

import pytest

from tests.conftest import ran_stages, run_command

pytestmark = pytest.mark.slow


def test_repro_writes_metrics_predictions_and_plots(repo):
    metrics = json.loads((repo / "eval/metrics.json").read_text())
    assert {"test_cer", "test_wer", "test_loss", "dev_cer", "num_utterances", "rtf"} <= set(metrics)
    assert (repo / "eval/predictions.csv").read_text().startswith(
        "id,speaker,engine,reference,hypothesis,cer,hypothesis_lm,cer_lm")
    assert {"test_cer_lm", "test_wer_lm", "heldout_cer", "heldout_cer_lm", "test_by_engine"} <= set(metrics)
    assert set(metrics["test_by_engine"]) <= {"espeak", "hibari"} and metrics["heldout_engine"] == "hibari"
    assert sorted(p.name for p in (repo / "models/bundle").iterdir()) == [
        "cmvn.json", "features.json", "model.json", "model.keras", "training.json", "vocab.json"]
    assert (repo / "dvclive/plots/metrics/dev/cer.tsv").is_file()


def test_second_repro_has_nothing_to_do(repo):
    result = run_command(["dvc", "repro"], cwd=repo)
    assert ran_stages(result.stdout) == []
    assert "up to date" in result.stdout
    assert "Data and pipelines are up to date" in run_command(["dvc", "status"], cwd=repo).stdout


def test_metrics_show_lists_loss_and_cer(repo):
    output = run_command(["dvc", "metrics", "show"], cwd=repo).stdout
    for column in ("test_cer", "test_wer", "test_loss", "dev_cer", "eval/metrics.json", "dvclive/metrics.json",
                   "models/base/metrics.json"):
        assert column in output


def test_plots_show_renders_curves_and_posteriorgrams(repo, tmp_path):
    run_command(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], cwd=repo)
    html = (tmp_path / "plots" / "index.html").read_text()
    for title in ("Training curves", "Dev CER per epoch", "CER per speaker", "CER per engine", "CER against duration",
                  "Base model, CER against training hours"):
        assert title in html
    assert html.count("<img") >= 2  # posteriorgram images


def test_exp_run_with_new_units_reruns_only_train_and_evaluate(serial_experiments):
    # `dvc exp run -n units6 -S model.units=6` in a copy of the baseline (conftest.serial_experiments)
    experiment = serial_experiments[6]
    repo = experiment.repo
    assert ran_stages(experiment.stdout) == ["train", "evaluate"]
    assert "units: 6" in experiment.params
    diff = run_command(["dvc", "metrics", "diff", "--all"], cwd=repo).stdout
    assert "test_cer" in diff and "eval/metrics.json" in diff
    params_diff = run_command(["dvc", "params", "diff"], cwd=repo).stdout
    assert "model.units" in params_diff and "8" in params_diff and "6" in params_diff
