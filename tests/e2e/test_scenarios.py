"""Every tutorial scenario (scenarios/*.scenario, narrated by make demo-*) runs as a check."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.scenario"))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.stem for s in SCENARIOS])
def test_scenario_holds(scenario, tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "scenario.py"), "--check", "--home", str(tmp_path), str(scenario)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    assert f"scenario {scenario.stem}:" in p.stdout
