"""The one header every benchmark result records: command, git commit, weights, version, date, machine.

Every script in ``benchmarks/`` builds the header once, when its run starts,
with :func:`record_header`, and writes every result file through this module:

* JSON results get it under a top-level ``"header"`` key
  (:func:`write_json`);
* Markdown/text results start with it, rendered by :func:`header_markdown`
  (:func:`write_markdown`);
* figures carry it in their PNG metadata (:func:`save_figure`).

The header (a dict, in this order)::

    command                     "python benchmarks/NAME.py ARGS..." as invoked (sys.argv)
    git_commit                  `git rev-parse HEAD`, "+dirty" when tracked files differ
                                from it, "unknown" without git
    weights_sha256              {path: sha256} of every weights file the results used
                                ({} for none); paths relative to the repository
    weights_outside_repository  [paths] of those not under galcolor/weights/
    weights_note                (only when that list is not empty) how to make them
    galcolor_version
    date                        UTC, ISO 8601, when the run started
    machine                     platform, CPU, threads, GPU

Results from a command that is not a benchmark script (``galcolor
evaluate``) get the same header in a ``header.json`` beside them::

    python benchmarks/_record.py --header DIR/header.json [--weights default ...] -- COMMAND ...

runs ``COMMAND`` and writes the header (measured before it started) only if
it succeeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from galcolor._atomic import atomic_write

__all__ = ["ROOT", "RESULTS", "SHIPPED_WEIGHTS", "OUTSIDE_NOTE", "record_header", "with_weights",
           "header_markdown", "write_json", "write_text", "write_markdown", "save_figure", "resolve_weights",
           "git_commit", "cpu_model", "machine_summary"]

#: Repository root.
ROOT = Path(__file__).resolve().parents[1]
#: benchmarks/results: one sub-folder per benchmark script.
RESULTS = ROOT / "benchmarks" / "results"
#: Weights under this folder are in the repository; any other weights file is not.
SHIPPED_WEIGHTS = ROOT / "galcolor" / "weights"
#: What a header says about weights that are not in the repository.
OUTSIDE_NOTE = ("weights not in the repository: see the model card's training runs "
                "(galcolor/weights/*/MODEL_CARD.md) for the command that makes them")


def _display(path: Path) -> str:
    """``path`` relative to the repository when inside it, else absolute."""
    path = path.resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _script_command(script: str, arguments: Sequence[str]) -> str:
    """``python benchmarks/NAME.py ARGS...``, the script relative to the repository root."""
    return shlex.join(["python", _display(Path(script)), *arguments])


def resolve_weights(name: str | os.PathLike) -> tuple[Path, bool]:
    """(path, shipped) of a weights argument: an existing file, or a shipped model's name ("default").

    A name that is neither is returned as a path (recorded as missing).
    """
    path = Path(name)
    if path.is_file():
        return path.resolve(), False
    from galcolor.models import pretrained_path

    try:
        return Path(pretrained_path(str(name))).resolve(), True
    except Exception:  # noqa: BLE001 - not a shipped name either: recorded as given
        return path.resolve(), False


def _outside_repository(path: Path) -> bool:
    return not path.resolve().is_relative_to(SHIPPED_WEIGHTS)


def git_commit() -> str:
    """``git rev-parse HEAD`` of the repository, ``+dirty`` for changes to tracked files, else ``unknown``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if status else "")


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, or :func:`platform.processor`, or the architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_summary() -> str:
    """Platform, CPU (cores, usable cores), python, torch threads and the GPU, in one line."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"{cpu_model()}, {os.cpu_count()} cores ({usable} usable)", platform.platform(),
             f"python {platform.python_version()}"]
    try:
        import torch
    except ImportError:
        return "; ".join(parts)
    parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    if torch.cuda.is_available():
        names = sorted({torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())})
        parts.append(f"GPU {torch.cuda.device_count()} x {', '.join(names)} (CUDA {torch.version.cuda})")
    else:
        parts.append("no GPU")
    return "; ".join(parts)


def record_header(weights: Iterable[str | os.PathLike] | None = None, *, argv: Sequence[str] | None = None,
                  command: Sequence[str] | None = None, weights_made_by: str | None = None) -> dict[str, Any]:
    """The header of one run's results (see the module doc); build it when the run starts.

    Parameters
    ----------
    weights : iterable of str or path, optional
        The weights files the results use: paths, or shipped model names
        (``"default"``). None (the default) means the shipped default
        model; an empty list means no weights.
    argv : sequence of str, optional
        The script's arguments, when not ``sys.argv[1:]``.
    command : sequence of str, optional
        A whole command other than this script (``galcolor evaluate ...``).
    weights_made_by : str, optional
        Where the weights outside the repository come from, when not from the
        model card's training runs (e.g. this command trained them).
    """
    from galcolor import __version__

    if command is not None:
        text = shlex.join(command)
    else:
        text = _script_command(sys.argv[0], sys.argv[1:] if argv is None else argv)
    header: dict[str, Any] = {"command": text, "git_commit": git_commit(),
                              **_weights_fields(weights, weights_made_by),
                              "galcolor_version": __version__,
                              "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                              "machine": machine_summary()}
    return header


def with_weights(header: dict[str, Any], weights: Iterable[str | os.PathLike] | None, *,
                 weights_made_by: str | None = None) -> dict[str, Any]:
    """A copy of ``header`` with the weights fields for ``weights`` (e.g. files the run itself trained)."""
    fields = _weights_fields(weights, weights_made_by)
    kept = {key: value for key, value in header.items() if not key.startswith("weights_")}
    return {"command": kept.pop("command"), "git_commit": kept.pop("git_commit"), **fields, **kept}


def _weights_fields(weights: Iterable[str | os.PathLike] | None,
                    weights_made_by: str | None) -> dict[str, Any]:
    """``weights_sha256``, ``weights_outside_repository`` and, for those, ``weights_note``."""
    from galcolor.models import sha256_of

    checksums: dict[str, str] = {}
    outside: list[str] = []
    for name in ["default"] if weights is None else weights:
        path, shipped = resolve_weights(name)
        key = _display(path)
        try:
            checksums[key] = sha256_of(path)
        except OSError:
            checksums[key] = "missing"
        if not shipped and _outside_repository(path) and key not in outside:
            outside.append(key)
    fields: dict[str, Any] = {"weights_sha256": checksums, "weights_outside_repository": outside}
    if outside:
        fields["weights_note"] = (f"weights not in the repository: made by {weights_made_by}"
                                  if weights_made_by else OUTSIDE_NOTE)
    return fields


def header_markdown(header: dict[str, Any]) -> str:
    """The header as the first lines of a Markdown/text result (a list: readable as text and rendered)."""
    lines = [f"- Command:    {header['command']}", f"- Git commit: {header['git_commit']}"]
    weights = header.get("weights_sha256") or {}
    if not weights:
        lines.append("- Weights:    none")
    for path, checksum in weights.items():
        lines.append(f"- Weights:    {path} (sha256 {checksum})")
    if header.get("weights_outside_repository"):
        lines.append(f"- Note:       {header['weights_note']}: "
                     + ", ".join(header["weights_outside_repository"]))
    lines += [f"- galcolor:   {header['galcolor_version']}", f"- Date:       {header['date']}",
              f"- Machine:    {header['machine']}"]
    return "\n".join(lines) + "\n\n"


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` atomically (a reader never sees half a file), creating the folder."""
    with atomic_write(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data: dict[str, Any], header: dict[str, Any], *,
               indent: int = 2) -> None:
    """Write ``{"header": header, **data}`` as JSON, atomically."""
    if "header" in data:
        raise ValueError("the result data has its own 'header' key")
    write_text(path, json.dumps({"header": header, **data}, indent=indent) + "\n")


def write_markdown(path: str | os.PathLike, header: dict[str, Any], text: str) -> None:
    """Write the rendered header followed by ``text``, atomically."""
    write_text(path, header_markdown(header) + text.lstrip("\n"))


def save_figure(figure, path: str | os.PathLike, header: dict[str, Any], **options) -> None:
    """``figure.savefig`` atomically, with the header in the PNG's metadata (``Comment``, ``Source``)."""
    metadata = {"Source": header["command"], "Comment": json.dumps(header)}
    with atomic_write(path) as temporary:
        figure.savefig(temporary, metadata=metadata, **options)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command and, when it succeeds, write its header (measured before it started) as JSON."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--header", type=Path, required=True, help="where to write the header (JSON)")
    parser.add_argument("--weights", nargs="*", default=None,
                        help="weights files or shipped names the command uses (default: the shipped default)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    arguments = parser.parse_args(argv)
    command = arguments.command[1:] if arguments.command[:1] == ["--"] else arguments.command
    if not command:
        parser.error("give the command after --")
    header = record_header(arguments.weights, command=command)
    returncode = subprocess.run(command).returncode
    if returncode == 0:
        write_text(arguments.header, json.dumps(header, indent=2) + "\n")
    return returncode


if __name__ == "__main__":
    sys.exit(main())
