"""Peak memory of one evaluation at m=60000 beyond the data itself.

Each measurement runs ``bench/memory_probe.py`` in a fresh process; the
figure is stored in the benchmark's ``extra_info`` (the time is that of the
whole probe process and is not of interest).  The returned gradients, about
``2 n s`` values, count as extra memory.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AVAILABLE, DTYPES

PROBE = Path(__file__).with_name("memory_probe.py")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                    reason="peak-RSS reset needs Linux /proc")
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("backend", AVAILABLE)
def test_peak_memory(benchmark, backend, dtype):
    benchmark.group = f"memory m60000-n784-s196 {dtype}"

    def probe():
        out = subprocess.run([sys.executable, str(PROBE), backend, "60000", "784", "196",
                              dtype, "2"], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    result = benchmark.pedantic(probe, rounds=1, iterations=1)
    benchmark.extra_info.update(result, impl=backend)
    assert result["extra_bytes"] >= 0
