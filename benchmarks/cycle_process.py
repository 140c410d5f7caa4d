"""One ``zenops monitor --json`` process, measured as a deployment or a schedule starts it.

Wall and CPU seconds and peak RSS of a new process (with the benchmark's Prefect server,
or its own temporary one), read by ``os.wait4`` in a small launcher that forks it; and
the check that a cycle saw exactly the batches the benchmark dropped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Runs one command as its own child and reports the child's wall, CPU and peak RSS. A
# child forked from this benchmark's large process would carry the benchmark's RSS in
# its ru_maxrss (Linux keeps the pre-exec high-water mark), so a small Python forks it.
LAUNCHER = """
import json, os, sys, time
report, command = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(command[0], command)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(report, "w") as out:
    json.dump({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
               "code": os.waitstatus_to_exitcode(status)}, out)
"""


def figure(wall: float, cpu: float, **more: Any) -> dict[str, Any]:
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), **more}


def check_cycle(result: dict[str, Any], names: list[str], rows: int) -> None:
    """Fail unless the cycle saw exactly one new batch of ``rows`` rows per model named."""
    seen = {m["model"]: (len(m["batches"]), m["rows"]) for m in result["models"]}
    if seen != {name: (1, rows) for name in names}:
        raise RuntimeError(f"the cycle did not see one {rows}-row batch per model: {seen}")


@dataclass
class Cold:
    """New ``zenops monitor --json`` processes, with the benchmark's Prefect server or without."""

    api: str
    environment: dict[str, str]  # this benchmark's own environment, before it set anything
    home: Path  # PREFECT_HOME of the children: the temporary server's database lives there
    primed: bool = False
    zenops: str = field(default_factory=lambda: zenops_command())

    def run(self, workspace: Any, mode: str, rows: int | None, names: list[str] | None = None) -> dict:
        """Wall and CPU seconds and peak RSS of one cycle; ``rows`` None: check nothing."""
        env = {**self.environment, "PREFECT_HOME": str(self.home)}
        env.pop("PREFECT_API_URL", None)
        if mode == "server":
            env["PREFECT_API_URL"] = self.api
        command = [self.zenops, "--workspace", str(workspace.root), "monitor", "--json", *(names or [])]
        with tempfile.TemporaryDirectory() as folder:
            report, out, err = (Path(folder) / name for name in ("usage.json", "out.json", "err.txt"))
            with out.open("wb") as stdout, err.open("wb") as stderr:
                launch = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report), *command]
                subprocess.run(launch, stdout=stdout, stderr=stderr, env=env, cwd=workspace.root, check=True)
            usage = json.loads(report.read_text())
            if usage["code"] != 0:
                tail = err.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{' '.join(command[1:5])} exited {usage['code']}: {tail}")
            result = json.loads(out.read_text())
        if rows is not None:
            check_cycle(result, names or [spec.name for spec in workspace.config.models], rows)
        return figure(usage["wall_s"], usage["cpu_s"], peak_rss_mb=round(usage["maxrss_kb"] / 1024, 0))

    def prime(self, workspace: Any) -> None:
        """Once, a cycle with nothing new and no server: its temporary server creates its database."""
        if not self.primed:
            self.run(workspace, "alone", None)
            self.primed = True


def zenops_command() -> str:
    """The project's ``zenops`` entry point (``.venv/bin/zenops``), else the one beside Python."""
    project = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "zenops"
    return str(project if project.exists() else Path(sys.executable).with_name("zenops"))
