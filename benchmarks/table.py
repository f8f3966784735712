"""Turn one pytest-benchmark JSON (``--benchmark-json``) of ``benchmarks/`` into the kernel table.

Usage: ``python benchmarks/table.py RESULTS.json [OUT.md]``. Prints the Markdown table and writes it to OUT.md
(default ``benchmarks/latest.md``). Rates use each benchmark's fastest round (``min``); every ratio compares two
benchmarks of the same run, never a stored time. A run of ``benchmarks/test_gpu_kernels.py`` (it has a ``copy``
benchmark) gives the GPU table: speed-up over one CPU core, and the rate the measured copy bandwidth allows for the
step's memory traffic (``bytes_per_path_step``).
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path


def _rate(bench: dict) -> float:
    return bench["extra_info"]["path_steps"] / bench["stats"]["min"]


def _rows(results: dict) -> dict[str, dict[str, dict]]:
    rows: dict[str, dict[str, dict]] = {}
    for bench in results["benchmarks"]:
        info = bench.get("extra_info", {})
        if "kernel" in info:
            rows.setdefault(info["kernel"], {})[info["role"]] = bench
    return rows


def gpu_table(results: dict) -> str:
    (copy,) = [b for b in results["benchmarks"] if b.get("extra_info", {}).get("role") == "copy"]
    bandwidth = copy["extra_info"]["bytes"] / copy["stats"]["min"]
    lines = [
        "| kernel (GPU) | path-steps/s | ratio to the normal-drawing limit | speed-up over one CPU core "
        "| bandwidth bound (path-steps/s) | fraction of the bound |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kernel, roles in _rows(results).items():
        if "ours" not in roles:
            continue
        ours = _rate(roles["ours"])
        limit = f"{ours / _rate(roles['limit']):.2f}" if "limit" in roles else "—"
        cpu = f"{ours / _rate(roles['cpu']):.0f}x" if "cpu" in roles else "—"
        bound = bandwidth / roles["ours"]["extra_info"]["bytes_per_path_step"]
        lines.append(f"| {kernel} | {ours:.3g} | {limit} | {cpu} | {bound:.3g} | {ours / bound:.2f} |")
    device = copy["extra_info"].get("device", "GPU")
    lines.append("")
    lines.append(f"Measured {results.get('datetime', '')} on {device}; device-to-device copy "
                 f"{bandwidth / 1e12:.2f} TB/s (bytes read + written); limit = `cupy.random.Generator.standard_normal`"
                 " drawing the kernel's normals; one CPU core = the same kernel on NumPy with one BLAS thread; "
                 "the bound counts the traffic of the step's array operations as written (no fusion).")
    return "\n".join(lines) + "\n"


def table(results: dict) -> str:
    if any(b.get("extra_info", {}).get("role") == "copy" for b in results["benchmarks"]):
        return gpu_table(results)
    rows = _rows(results)
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
