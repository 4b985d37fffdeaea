"""Compute cycles and mapping efficiency equal SCALE-Sim 3.0.0's COMPUTE_REPORT.csv, 8-bit fixed mode.

Reference numbers: SCALE-Sim 3.0.0 (`pip install scalesim==3.0.0 numpy==2.3.5` in a scratch venv, never
a project dependency), run as
    python -m scalesim.scale -c <cfg> -t topo.csv -l layout.csv -p out -s N
with TOPOLOGY below as topo.csv, a header-only layout.csv, InterfaceBandwidth = CALC, 64 KiB buffers,
ArrayHeight × ArrayWidth = 8×8, 16×16 and 8×16, Dataflow os / ws / is. The lists are the "Total Cycles" and
"Mapping Efficiency %" columns of its COMPUTE_REPORT.csv, one entry per layer, copied verbatim.
SCALE-Sim reports folds · per-fold cycles − 1 (the 0-based index of the last output's cycle).
"""
import numpy as np
import pytest

from golden.spec import DEFAULT_SPEC
from sim.config import ArrayConfig
from sim.dataflow import plan_folds
from sim.topology_csv import read_topology

TOPOLOGY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
conv_a, 10, 10, 3, 3, 4, 8,1,
conv_b, 12, 12, 3, 3, 16, 20,2,
pw_c, 7, 7, 1, 1, 40, 24,1,
conv_d, 9, 9, 5, 5, 3, 6,2,
fc_e, 1, 1, 1, 1, 70, 10,1,
conv_f, 6, 11, 2, 3, 5, 33,1,
"""

# (rows, cols, dataflow): (Total Cycles per layer, Mapping Efficiency % per layer)
SCALESIM = {
    (8, 8, "os"): ([399, 2369, 1133, 177, 167, 1319], [100.0, 75.0, 87.5, 42.1875, 7.8125, 77.34375]),
    (16, 16, "os"): ([263, 1043, 559, 104, 99, 539], [50.0, 46.875, 57.421875, 21.09375, 3.90625, 64.453125]),
    (8, 16, "os"): ([463, 1659, 867, 193, 91, 935], [50.0, 56.25, 65.625, 21.09375, 7.8125, 64.453125]),
    (8, 8, "ws"): ([429, 3131, 1064, 309, 413, 1339],
                   [90.0, 83.33333333333334, 100.0, 70.3125, 60.763888888888886, 77.34375]),
    (16, 16, "ws"): ([329, 1475, 569, 274, 234, 545], [37.5, 62.5, 62.5, 35.15625, 54.6875, 64.453125]),
    (8, 16, "ws"): ([469, 2375, 789, 389, 278, 899], [45.0, 62.5, 75.0, 35.15625, 60.763888888888886, 64.453125]),
    (8, 8, "is"): ([1199, 3779, 1609, 559, 287, 1319], [90.0, 90.0, 87.5, 52.734375, 12.152777777777777, 87.890625]),
    (16, 16, "is"): ([647, 1781, 839, 259, 279, 473], [75.0, 75.0, 63.802083333333336, 52.734375, 5.46875, 87.890625]),
    (8, 16, "is"): ([759, 2699, 1079, 359, 359, 755], [90.0, 75.0, 76.5625, 52.734375, 6.076388888888888, 87.890625]),
}


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    path = tmp_path_factory.mktemp("topo") / "topo.csv"
    path.write_text(TOPOLOGY)
    return read_topology(path, DEFAULT_SPEC).workload


@pytest.mark.parametrize("key", sorted(SCALESIM), ids=lambda k: f"{k[0]}x{k[1]}-{k[2]}")
def test_compute_cycles_equal_scalesim(workload, key):
    rows, cols, dataflow = key
    cycles, mapping = SCALESIM[key]
    folds = plan_folds(workload, ArrayConfig(rows=rows, cols=cols, dataflow=dataflow))
    assert np.array_equal(folds.compute_cycles, np.array(cycles))
    assert np.array_equal(folds.busy_cycles, np.array(cycles) + 1)  # the off-by-one, documented
    # a float mean of per-fold fractions in SCALE-Sim, an exact ratio here: equal to the printed digits
    assert np.allclose(folds.mapping_efficiency * 100, mapping, rtol=0, atol=1e-9)


def test_scalesim_closed_forms_by_hand(workload):
    """conv_a on 8×8: Npx = 8·8 = 64, Kw = 3·3·4 = 36, Nf = 8 (SCALE-Sim's formulas of the issue)."""
    layer = [workload.names.index("conv_a")]
    r = c = 8
    expected = {"os": (64 // r) * (8 // c) * (r + c + 36 - 2),
                "ws": -(-36 // r) * (8 // c) * (2 * r + c + 64 - 2),
                "is": -(-36 // r) * (64 // c) * (2 * r + c + 8 - 2)}
    for dataflow, busy in expected.items():
        folds = plan_folds(workload, ArrayConfig(rows=r, cols=c, dataflow=dataflow))
        assert int(folds.busy_cycles[layer][0]) == busy
