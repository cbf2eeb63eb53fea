"""Stage `evaluate`: decode the test (and dev) split with the bundle; CER, WER, loss, RTF, plots."""

from stages.entry import rebase_paths, stage_main, sweep_job_dir, write_job_record


def evaluate(cfg) -> dict:
    """Evaluate cfg's bundle on cfg's features and labels, write under paths.eval; return the metrics."""
    from asr.evaluation.report import DecodeSettings, evaluate_bundle

    metrics = evaluate_bundle(cfg.paths.model, cfg.paths.features, cfg.paths.labels, cfg.paths.eval,
                              DecodeSettings(**cfg.decode), cfg.data.get("heldout_engine"), cfg.paths.lm)
    print(f"evaluate: test CER {metrics['test_cer']:.4f}, WER {metrics['test_wer']:.4f}, loss {metrics['test_loss']}, "
          f"dev CER {metrics['dev_cer']}, {metrics['num_utterances']} utterances ({metrics['test_unalignable']} too short "
          f"to align, scored), RTF {metrics['rtf']:.4f} "
          f"({metrics['decode']})")
    print(f"evaluate: with the LM: test CER {metrics['test_cer_lm']:.4f}, WER {metrics['test_wer_lm']:.4f}, "
          f"dev CER {metrics['dev_cer_lm']}, RTF {metrics['rtf_lm']:.4f}")
    for engine, scores in metrics["test_by_engine"].items():
        heldout = " (held out: never heard in training)" if engine == metrics["heldout_engine"] else ""
        print(f"evaluate:   {engine}: CER {scores['cer']:.4f}, WER {scores['wer']:.4f}; with the LM "
              f"CER {scores['cer_lm']:.4f}, WER {scores['wer_lm']:.4f}; {scores['utterances']} utterances{heldout}")
    return metrics


def run(cfg):
    """Evaluate; in a Hydra multirun job, into the job's own directory, returning dev CER."""
    job_dir = sweep_job_dir()
    if job_dir is None:
        evaluate(cfg)
        return None
    metrics = evaluate(rebase_paths(cfg, ("eval",), job_dir))
    write_job_record(job_dir, {k: metrics[k] for k in ("dev_cer", "dev_wer_lm", "test_cer", "test_wer",
                                                        "test_wer_lm", "rtf", "rtf_lm")})
    return metrics["dev_wer_lm"]  # the objective of a decode.lm_weight / decode.word_score sweep


if __name__ == "__main__":
    stage_main(run)
