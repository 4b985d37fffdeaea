"""Resumable results: a JSON-lines journal of (key, result) written as chunks finish, read back on a re-run.

A key is `stable_key(*parts)` = sha256 of the parts' canonical JSON (sorted keys, no spaces), so it is the same
in every process and on every machine (never Python's salted `hash`). Results must be JSON values; floats
round-trip exactly (json writes repr), so a resumed run writes the same bytes as an uninterrupted one.
A line torn by a crash (the last one, unparsable) is dropped when the journal is opened.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from golden.atomic import atomic_write_bytes


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def stable_key(*parts) -> str:
    """sha256 hex of the canonical JSON of `parts` (TypeError naming the value when a part is not JSON)."""
    try:
        text = _canonical(list(parts))
    except (TypeError, ValueError) as e:
        raise TypeError(f"stable_key: parts must be JSON values ({e})") from e
    return hashlib.sha256(text.encode()).hexdigest()


class Journal:
    """Append-only JSON lines {"key": ..., "result": ...} at `path`; `load()` gives {key: result}."""

    def __init__(self, path):
        self.path = Path(path)

    def load(self) -> dict:
        """Every complete entry; a torn last line is cut off the file (atomically) so appends stay parsable."""
        if not self.path.is_file():
            return {}
        lines = self.path.read_bytes().split(b"\n")
        done, kept = {}, []
        for i, line in enumerate(lines):
            if not line:
                continue
            try:
                entry = json.loads(line)
                done[entry["key"]] = entry["result"]
                kept.append(line)
            except (ValueError, KeyError, TypeError) as e:
                if i != len(lines) - 1:
                    raise ValueError(f"journal {self.path}: line {i + 1} is not a journal entry ({e})") from e
                atomic_write_bytes(self.path, b"".join(k + b"\n" for k in kept))
        return done

    def append(self, entries: Iterable[tuple[str, object]]) -> None:
        """Append entries and fsync, so a finished chunk survives a crash of this process."""
        text = "".join(json.dumps({"key": key, "result": result}, separators=(",", ":"), allow_nan=False) + "\n"
                       for key, result in entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
