"""Packaging: the license, an sdist that carries the tests and their data, .gitignore, changelog."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SKIP_PARTS = {
    "__pycache__", "artifacts", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints",
    "node_modules",  # tests/timescale's npm install (.ci/run makes it; never shipped)
}  # fmt: skip


def _source_files(folder: str) -> set[str]:
    out = set()
    for path in (ROOT / folder).rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and not _SKIP_PARTS & set(rel.parts) and path.suffix != ".pyc":
            out.add(rel.as_posix())
    return out


def test_license_matches_the_metadata() -> None:
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(ROOT / "setup.cfg")
    assert meta["metadata"]["license"] == "MIT"
    assert meta["metadata"]["license_files"].strip() == "LICENSE"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_changelog_names_the_current_version() -> None:
    from tradedata import __version__

    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text and f"## [{__version__}]" in text


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_demo_cache_is_ignored_by_git() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(
        ["git", "check-ignore", "-q", "demo-cache/store/cache.db"], cwd=ROOT, check=False
    )
    assert proc.returncode == 0


@pytest.mark.slow
def test_sdist_carries_the_tests_and_their_data(tmp_path: Path) -> None:
    pytest.importorskip("build")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--skip-dependency-check",
         "-o", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (sdist,) = tmp_path.glob("tradedata-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    wanted = _source_files("tests") | _source_files("examples") | _source_files("tradedata")
    wanted |= {"LICENSE", "README.md", "CHANGELOG.md", "setup.cfg", "pyproject.toml", ".ci/run"}
    missing = sorted(wanted - names)
    assert not missing, f"not in the sdist: {missing[:10]}"
    assert "tests/data/orcl-2014.txt" in names and "tests/conftest.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("tests/artifacts/", "demo-cache/"))]
    assert not [n for n in names if "node_modules" in n]
