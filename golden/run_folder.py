"""Run folders that cannot lie: every file a command writes is built in memory, staged, fsynced and published
as a whole, with a run manifest (run.json) written last.

    with RunFolder(out, "sim", force=False) as folder:   # checks --out, locks it, cleans our leftovers
        ...expensive work...
        folder.publish({"summary.json": b"...", "cycles.png": render_png}, inputs={"--model": path})

- `RunFolder(...)` is entered before any expensive work: it creates the parent folder, refuses an --out that is
  a file, not writable, or a non-empty folder that does not hold a complete run of the same command (unless
  `force`), and takes an exclusive lock (fcntl.flock on `.<name>.lock` next to --out) so that a second run into
  the same folder is refused instead of mixing files.
- `publish(files)` writes every file (bytes, or a callable returning bytes, rendered here) into a staging folder
  `.<name>.staging-*` next to --out, fsyncs each file, writes run.json last (command line, project version and
  git commit, input file hashes, file hashes, "complete": true), fsyncs the folder, then swaps it in for --out
  (the old folder is renamed to `.<name>.old-*` and removed). A reader sees the old run or the new one, never
  a mix; a run killed at any point leaves only dot-files of ours, which the next run into --out removes.
- `publish_file(path, write)` is the one-file version (export-model): lock, clean leftovers, atomic write.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .atomic import atomic_path, fsync_dir, umask

MANIFEST = "run.json"
Content = bytes | Callable[[], bytes]


class RunFolderError(ValueError):
    """An output path that cannot be used (the message names the option and the path)."""


def file_sha256(path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def project_identity() -> dict:
    """{"version": the installed dqt-hw version or None, "git_commit": HEAD of the source tree or None,
    "git_dirty": whether tracked files differ from HEAD (None without git)}."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        ver = version("dqt-hw")
    except PackageNotFoundError:
        ver = None
    root = Path(__file__).resolve().parents[1]
    commit = dirty = None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10, check=True).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {"version": ver, "git_commit": commit, "git_dirty": dirty}


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _check_names(names) -> None:
    """Each name a relative path inside the folder (not run.json); no two naming the same file, none a folder of
    another (e.g. "a" and "a/b"). Raises ValueError naming them."""
    seen = {}
    for name in names:
        path = Path(name)
        if not path.parts or path.is_absolute() or any(p in ("..", ".") for p in path.parts) \
                or path.as_posix() == MANIFEST:
            raise ValueError(f"run folder: file name {name!r} must be a relative path inside the folder, "
                             f"not {MANIFEST}")
        key = path.as_posix()
        if key in seen:
            raise ValueError(f"run folder: file names {seen[key]!r} and {name!r} name the same file")
        seen[key] = name
    for key, name in seen.items():
        for parent in Path(key).parents:
            if parent.as_posix() in seen:
                raise ValueError(f"run folder: {seen[parent.as_posix()]!r} is both a file and the folder of {name!r}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def _locked(target: Path, option: str) -> Iterator[None]:
    """Hold an exclusive flock on `.<name>.lock` next to `target`; refuse at once if another run holds it.
    The lock file is removed on release (re-checked by inode after locking, so a racing unlink is safe)."""
    lock = target.parent / f".{target.name}.lock"
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise RunFolderError(f"{option} {target}: cannot write in {target.parent} ({e.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderError(f"{option} {target}: another run is writing there now (lock {lock.name})") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder removed the file between our open and our lock: take the new one
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def _clean_leftovers(target: Path) -> None:
    """Remove staging folders, swapped-out old folders and temp files a killed run of ours left next to target."""
    for pattern in (f".{target.name}.staging-*", f".{target.name}.old-*", f".{target.name}.*.tmp"):
        for leftover in target.parent.glob(pattern):
            _remove(leftover)


def _parent(target: Path, option: str, create: bool) -> None:
    parent = target.parent
    if create:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise RunFolderError(f"{option} {target}: {parent} or a folder above it is a file") from None
        except OSError as e:
            raise RunFolderError(f"{option} {target}: cannot create folder {parent} ({e.strerror})") from None
    elif not parent.is_dir():
        raise RunFolderError(f"{option} {target}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunFolderError(f"{option} {target}: folder {parent} is not writable")


def read_manifest(out) -> dict | None:
    """The run.json of a published run folder, or None when absent or unreadable."""
    try:
        manifest = json.loads((Path(out) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


class RunFolder:
    """One command's output folder (see the module docstring). Use as a context manager."""

    def __init__(self, out, command: str, force: bool = False, option: str = "--out") -> None:
        self.out = Path(os.path.abspath(out))
        self.command, self.force, self.option = command, force, option
        self._lock = None

    def __enter__(self) -> RunFolder:
        out, option = self.out, self.option
        if out.exists() and not out.is_dir():
            raise RunFolderError(f"{option} {out}: exists and is not a folder")
        _parent(out, option, create=True)
        self._lock = _locked(out, option)
        self._lock.__enter__()
        try:
            _clean_leftovers(out)
            self._check_existing()
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)

    def _check_existing(self) -> None:
        out = self.out
        if not out.is_dir() or not any(out.iterdir()) or self.force:
            return
        manifest = read_manifest(out)
        if manifest is None or manifest.get("command") != self.command or manifest.get("complete") is not True:
            raise RunFolderError(f"{self.option} {out}: folder is not empty and holds no previous '{self.command}' "
                                 f"run (no complete {MANIFEST}); choose an empty folder or pass --force to replace it")

    def publish(self, files: Mapping[str, Content], inputs: Mapping[str, str | os.PathLike] | None = None,
                argv: list[str] | None = None) -> list[Path]:
        """Render and write `files` into a staging folder, then run.json, then swap it in for the output folder;
        returns the published paths (run.json last). `inputs` maps a label (e.g. "--model") to an input file."""
        if self._lock is None:
            raise RuntimeError("RunFolder.publish called outside its with-block")
        out = self.out
        _check_names(files)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
        try:
            listed = {}
            for name, content in files.items():
                data = content() if callable(content) else content
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                _fsync_write(path, data)
                listed[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            manifest = {
                "command": self.command,
                "argv": list(sys.argv if argv is None else argv),
                **project_identity(),
                "inputs": {label: {"path": os.path.abspath(p), "bytes": os.path.getsize(p), "sha256": file_sha256(p)}
                           for label, p in (inputs or {}).items()},
                "files": listed,
                "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "complete": True,
            }
            _fsync_write(staging / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
            os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes 0700; give the mode mkdir would
            fsync_dir(staging)
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.replace(out, old)
                os.replace(staging, out)
                fsync_dir(out.parent)
                shutil.rmtree(old)
            else:
                os.replace(staging, out)
            fsync_dir(out.parent)
        except BaseException:
            _remove(staging)
            raise
        return [out / name for name in files] + [out / MANIFEST]


def check_file_target(path, option: str = "-o") -> Path:
    """The absolute path of an output file, after checking (before any work) that it is not a folder and that its
    folder exists and is writable; raises RunFolderError naming the option."""
    path = Path(os.path.abspath(path))
    if path.is_dir():
        raise RunFolderError(f"{option} {path}: is a folder, expected a file name")
    _parent(path, option, create=False)
    return path


def publish_file(path, write: Callable[[Path], None], option: str = "-o") -> Path:
    """Write one output file the same way: check it (check_file_target), lock it, remove temp files a killed
    run left (`.<name>.*.tmp`), then `write(tmp)` and fsync + os.replace (golden.atomic)."""
    path = check_file_target(path, option)
    with _locked(path, option):
        _clean_leftovers(path)
        with atomic_path(path) as tmp:
            write(tmp)
    return path
