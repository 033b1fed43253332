"""Every tutorial scenario (scenarios/*.scenario, narrated by make demo-*) runs as a check, through
`devcluster scenario --check`; and the runner itself refuses what it must."""

import subprocess
from pathlib import Path

import pytest

from conftest import DEVCLUSTER, free_base_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.scenario"))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.stem for s in SCENARIOS])
def test_scenario_holds(scenario, tmp_path):
    p = subprocess.run([str(DEVCLUSTER), "scenario", "--check", "--home", str(tmp_path), "--base-port",
                        str(free_base_port(20)), str(scenario)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    assert f"scenario {scenario.stem}:" in p.stdout and "steps passed" in p.stdout
    # Its cluster is gone, whatever happened.
    assert not (tmp_path / f"scenario-{scenario.stem}" / "dev").exists()


def test_a_step_that_does_not_hold_fails_the_scenario_with_its_line(tmp_path):
    """A scenario whose expectation cannot hold (an event that never comes) fails at that line, says
    why, exits 1, and still removes its cluster; a malformed step is refused before anything runs."""
    failing = tmp_path / "failing.scenario"
    failing.write_text("# A scenario that must fail.\n"
                       "run devcluster up 2 --fresh --demo --base-port {port}\n"
                       "expect all=online within 10s\n"
                       "write 3 objects of 1KiB-2KiB to bkt/x/\n"
                       "event heal_finished from node2 within 1s\n"
                       "say never reached\n")
    p = subprocess.run([str(DEVCLUSTER), "scenario", "--check", "--home", str(tmp_path), "--base-port",
                        str(free_base_port(10)), str(failing)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAIL failing.scenario:5: event heal_finished from node2 within 1s" in p.stdout, p.stdout
    assert "no heal_finished from node2 within 1s" in p.stdout
    assert "ok   write 3 objects of 1KiB-2KiB to bkt/x/: 3 objects" in p.stdout
    assert "never reached" not in p.stdout
    assert not (tmp_path / "scenario-failing" / "dev").exists()

    bad = tmp_path / "bad.scenario"
    bad.write_text("run rm -rf /\n")
    p = subprocess.run([str(DEVCLUSTER), "scenario", "--check", "--home", str(tmp_path), str(bad)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 64 and "bad.scenario:1: a scenario runs devcluster commands" in p.stderr, p.stderr
    assert not (tmp_path / "scenario-bad").exists()


def test_ctrl_c_stops_a_scenario_at_once_and_removes_its_cluster(tmp_path):
    """SIGINT while a step runs (the rebuild scenario writing its 300 objects) ends that step, skips
    the rest and still removes the scenario's cluster, exiting 1."""
    import signal
    p = subprocess.Popen([str(DEVCLUSTER), "scenario", "--check", "--home", str(tmp_path), "--base-port",
                          str(free_base_port(10)), "rebuild"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    try:
        lines = []
        for line in p.stdout:
            lines.append(line)
            if line.startswith("ok   expect all=online"):
                break
        assert lines and lines[-1].startswith("ok   expect all=online"), "".join(lines)
        p.send_signal(signal.SIGINT)
        rest = p.stdout.read()
        assert p.wait(timeout=60) == 1, rest
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # Stopped in the write, or before the next step if the signal came between two.
    assert ("FAIL rebuild.scenario:9: write 300 objects" in rest and "stopped after" in rest) or \
        "stopped before rebuild.scenario:" in rest, rest
    assert "scenario rebuild:" not in rest
    assert not (tmp_path / "scenario-rebuild" / "dev").exists()
