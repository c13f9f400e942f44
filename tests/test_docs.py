"""The documentation builds with warnings as errors, executing every tutorial (sphinx-gallery)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_with_warnings_as_errors_and_run_every_tutorial(tmp_path):
    pytest.importorskip("sphinx_gallery", reason="the docs extra is not installed "
                        "(pip install -c constraints.txt '.[test,docs]', as the README says)")
    # Build a copy, so that the generated pages never go stale in the source tree.
    source = tmp_path / "repo" / "docs"
    shutil.copytree(ROOT / "docs", source,
                    ignore=shutil.ignore_patterns("_build", "generated", "tutorials", "sg_execution_times.rst"))
    for name in ("benchmarks", "galcolor"):  # literalinclude'd results and model card
        (tmp_path / "repo" / name).symlink_to(ROOT / name)
    html = tmp_path / "html"
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d",
         str(tmp_path / "doctrees"), str(source), str(html)],
        capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-8000:]
    tutorials = sorted(path.name for path in (html / "tutorials").glob("plot_*.html"))
    assert tutorials == [f"{path.stem}.html" for path in sorted((ROOT / "docs" / "examples").glob("plot_*.py"))]
    assert len(tutorials) == 6
    for page in tutorials:
        text = (html / "tutorials" / page).read_text()
        assert "sphx-glr-single-img" in text or "sphx-glr-multi-img" in text, f"{page} has no figure"
    api = (html / "api" / "pipeline.html").read_text()
    assert "run_pipeline" in api
