"""recipes/super_convergence.py: LR finder, schedules table."""

import json
import os

from recipes import super_convergence


def test_smoke_runs_finder_and_schedules(run_in):
    super_convergence.main(["--epochs", "1", "--seeds", "2", "--finder-steps", "10", "--target", "0.5",
                            "--model-dir", "out"])
    assert {"comparison.md", "variants.png", "lr_finder.png", "metrics.json", "model.keras"} <= set(os.listdir("out"))
    saved = json.load(open("out/metrics.json"))["results"]
    assert len(saved["rows"]) == 7 and saved["rows"][-1]["variant"].startswith("one-cycle")
    assert saved["lr_finder"]["used"] > 0 and "epochs_to_target" in saved["rows"][0]["seeds"]
    epochs, seconds = saved["judgments"]  # judged in epochs and in seconds, separately
    assert epochs["metric"] == "epochs_to_target" and seconds["metric"] == "seconds_to_target"
    assert epochs["treatment"].startswith("one-cycle") and not epochs["control"].startswith("one-cycle")
    assert "| one-cycle" in open("out/comparison.md").read()
