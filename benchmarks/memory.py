"""Resident memory of a process with a library open and its model loaded, per candidate model.

`python -m benchmarks.memory [NAME:TAG ...]`: each model (random weights: memory does not depend
on them) is measured in a fresh process: a library is opened, the model loaded and one query
encoded, then VmRSS is read from /proc/self/status. Prints JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ["ViT-B-32-SigLIP2-256:webli", "ViT-B-16-SigLIP2:webli",
              "ViT-B-32-256:datacomp_s34b_b86k", "ViT-B-32:laion2b_s34b_b79k",
              "MobileCLIP2-S2:dfndr2b", "MobileCLIP2-S0:dfndr2b"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def one(spec: str, work: Path) -> dict:
    """In this process: open a library on the model and load it."""
    from core.library import Library

    before = rss_mb()
    lib = Library(work / "home", model=spec)
    emb = lib.load_model()
    emb.encode_text(["a dog on the beach"])
    out = {"rss_mb": round(rss_mb()), "python_and_imports_mb": round(before),
           "text_precision": emb.text_precision}
    lib.close()
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:
        print(json.dumps(one(argv[1], Path(argv[2]))))
        return 0
    from .data import random_weight_model

    results = {}
    with tempfile.TemporaryDirectory(prefix="snapseek-memory-") as tmp:
        for arch in argv or CANDIDATES:
            name, tag = arch.split(":", 1)
            spec = random_weight_model(name, tag, Path(tmp) / name)
            work = Path(tmp) / f"work-{name}"
            work.mkdir()
            proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--one", spec,
                                   str(work)], capture_output=True, text=True, cwd=ROOT)
            if proc.returncode:
                raise SystemExit(f"{arch}: {proc.stderr.strip().splitlines()[-1]}")
            results[arch] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(arch, results[arch], file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
