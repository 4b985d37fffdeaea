"""torch is an optional extra: the core CLI (golden, sim, ...) imports and runs without it."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['sklearn'] = None; "


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_TORCH + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_cli_without_torch_lists_and_runs_core_commands(tmp_path):
    """export-model, sim and gen-rtl run to completion (their lazy imports included) with torch unimportable."""
    model = tmp_path / "tiny.safetensors"
    runs = [["export-model", "--model", "tiny", "--backend", "numpy", "-o", str(model)],
            ["sim", "--model", str(model), "--plan", "uniform:4", "--backend", "numpy", "--out", str(tmp_path / "sim")],
            ["gen-rtl", "--pe", "2x2", "--out", str(tmp_path / "rtl")]]
    r = _run("from click.testing import CliRunner; from cli import cli; "
             "res = CliRunner().invoke(cli, ['--help']); print(res.output); "
             f"codes = [CliRunner().invoke(cli, args).exit_code for args in {runs!r}]; print(codes)")
    assert r.returncode == 0, r.stderr
    assert "train" in r.stdout and "import" in r.stdout and r.stdout.strip().endswith("[0, 0, 0]"), r.stdout
    assert (tmp_path / "sim" / "summary.json").is_file() and (tmp_path / "rtl" / "manifest.json").is_file()


def test_train_and_import_without_torch_say_which_extra_is_missing():
    for args in ("['train', '--out', 'x']", "['import', 'x.pt', '--arch', 'resnet18', '-o', 'y']",
                 "['train-bench', '--out', 'x']"):
        r = _run("from click.testing import CliRunner; from cli import cli; "
                 f"res = CliRunner().invoke(cli, {args}); print(res.exit_code, res.output)")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("1 ") and "needs the [train] extra" in r.stdout, r.stdout


def test_golden_never_imports_train():
    r = _run("import golden.inference, golden.model_file, golden.session; "
             "print(sorted(m for m in sys.modules if m == 'train' or m.startswith('train.')))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
