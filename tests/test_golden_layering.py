"""golden/ is the contract every other folder reads: it imports nothing from sim/, rtl/, verify/ or train/
(README.md, Layout). Checked statically over every module's import statements, lazy ones included."""
import ast
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
FORBIDDEN = {"sim", "rtl", "verify", "train", "bench", "commands", "cli", "dist", "dask", "distributed"}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_golden_imports_nothing_from_other_folders():
    modules = sorted(GOLDEN.glob("*.py"))
    assert len(modules) >= 15  # the walk really sees golden/
    bad = {p.name: sorted(_imported_roots(p) & FORBIDDEN) for p in modules}
    assert {name: roots for name, roots in bad.items() if roots} == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from sim.config import ArrayConfig\nimport numpy\n")
    assert _imported_roots(tmp_path / "m.py") & FORBIDDEN == {"sim"}
