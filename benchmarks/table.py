"""Turn one pytest-benchmark JSON (``--benchmark-json``) of ``benchmarks/`` into the kernel table.

Usage: ``python benchmarks/table.py RESULTS.json [OUT.md]``. Prints the Markdown table and writes it to OUT.md
(default ``benchmarks/latest.md``). Rates use each benchmark's fastest round (``min``); every ratio compares two
benchmarks of the same run, never a stored time.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path


def _rate(bench: dict) -> float:
    return bench["extra_info"]["path_steps"] / bench["stats"]["min"]


def table(results: dict) -> str:
    rows: dict[str, dict[str, dict]] = {}
    for bench in results["benchmarks"]:
        info = bench.get("extra_info", {})
        if "kernel" in info:
            rows.setdefault(info["kernel"], {})[info["role"]] = bench
    lines = [
        "| kernel | path-steps/s | ratio to the normal-drawing limit | torchsde speed-up (per path-step) |",
        "|---|---:|---:|---:|",
    ]
    for kernel, roles in rows.items():
        if "ours" not in roles:
            continue
        ours = _rate(roles["ours"])
        limit = f"{ours / _rate(roles['limit']):.2f}" if "limit" in roles else "—"
        torch = f"{ours / _rate(roles['torchsde']):.1f}x" if "torchsde" in roles else "—"
        lines.append(f"| {kernel} | {ours:.3g} | {limit} | {torch} |")
    threads = {b.get("extra_info", {}).get("threads", "default") for b in results["benchmarks"]}
    machine = results.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", platform.processor() or "unknown CPU")
    lines.append("")
    lines.append(f"Measured {results.get('datetime', '')} on {cpu}, Python {machine.get('python_version', '')}; "
                 "limit = `numpy.random.Generator.standard_normal` drawing the kernel's normals in the same run; "
                 f"rates from the fastest of the rounds; BLAS/torch threads: {', '.join(sorted(threads))}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    results = json.loads(Path(argv[0]).read_text())
    text = table(results)
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("latest.md")
    out.write_text(text)
    print(text, end="")
    print(f"(written to {out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
