"""`benchmarks/run_all.py --only` replaces its sections and keeps the others."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import run_all  # noqa: E402


def fake_run_one(texts):
    def run_one(name, flags, quick, folder):
        return texts[name], 1.0, True
    return run_one


@pytest.fixture
def fresh_texts():
    return {name: f"## {name} title\n\nnew figures of {name}\n" for name, _ in run_all.SUITE}


def test_only_replaces_named_sections_and_keeps_the_rest(tmp_path, monkeypatch, fresh_texts):
    out = tmp_path / "results.md"
    old = {name: f"## {name} title\n\nold figures of {name}\n" for name, _ in run_all.SUITE}
    monkeypatch.setattr(run_all, "run_one", fake_run_one(old))
    assert run_all.main(["--out", str(out)]) == 0

    monkeypatch.setattr(run_all, "run_one", fake_run_one(fresh_texts))
    assert run_all.main(["--out", str(out), "--only", "scaling"]) == 0
    text = out.read_text()
    assert "new figures of scaling" in text and "old figures of scaling" not in text
    for name, _ in run_all.SUITE:
        if name != "scaling":
            assert f"old figures of {name}" in text
    # The order of the suite is kept, and the rerun section says how it was made.
    positions = [text.index(f"## {name} title") for name, _ in run_all.SUITE]
    assert positions == sorted(positions)
    assert "--only scaling" in text.split("## scaling title")[1]
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_old_header_date_moves_onto_kept_sections(tmp_path):
    out = tmp_path / "results.md"
    out.write_text("# Benchmarks\n\nWritten by `make bench`, started 2026-11-25 16:57 UTC, on X.\n\n"
                   "## Scaling\n\nfigures\n\n_`scaling.py` took 76 s._\n")
    sections = run_all.read_sections(str(out))
    assert list(sections) == ["scaling"]
    assert "started 2026-11-25 16:57 UTC" in sections["scaling"]
