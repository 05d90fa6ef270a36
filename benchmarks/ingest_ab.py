"""Two versions of privstats' ingest, timed in alternating pairs on the same big log.

    .venv/bin/python benchmarks/ingest_ab.py REV_A REV_B [--pairs 30] [--lines 2000000]

On a shared 2-core machine one run of a 2-million-line ingest varies by 0.2 to 0.4 s, and
the machine's speed drifts by a third within the hour, so two versions are only compared
side by side: each revision is checked out into a git worktree with its C extensions built
(and checked to import its own package there), then the two ingest the same cached log
(``ingest_speed.py``'s) in turn, ``--pairs`` times, each into a fresh store, each run from
its own worktree. It prints each version's median and fastest wall time and CPU
time, and the mean and standard deviation of the pairs' differences (B minus A): a
difference smaller than two standard errors (twice the deviation over the square root of
the pairs) is noise. The two stores of the first pair are compared column by column too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow.parquet as pq
from ingest_speed import FORMAT, _input

from privstats.key import create_key
from privstats.store import Store

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs=2, help="two git revisions (A, then B)")
    parser.add_argument("--pairs", type=int, default=30, help="alternating pairs of runs")
    parser.add_argument("--lines", type=int, default=2_000_000, help="lines of the log")
    args = parser.parse_args(argv)
    log = _input(args.lines, 0)
    with tempfile.TemporaryDirectory(prefix="privstats-ab-") as tmp:
        work = Path(tmp)
        key = create_key(work / "key" / "key")
        trees = [_tree(rev, work / f"tree-{i}") for i, rev in enumerate(args.revisions)]
        runs: list[list[tuple[float, float]]] = [[], []]
        for pair in range(args.pairs):
            for side, tree in enumerate(trees):
                store = work / f"store-{side}"
                shutil.rmtree(store, ignore_errors=True)
                runs[side].append(_ingest(tree, log, store, key))
            if pair == 0:
                same = _same(work / "store-0", work / "store-1")
                print("the two stores are equal" if same else "the two stores DIFFER", flush=True)
        for name, side in zip(args.revisions, runs, strict=True):
            walls, cpus = [w for w, _ in side], [c for _, c in side]
            print(
                f"{name:>12}: median {statistics.median(walls):.2f} s, fastest "
                f"{min(walls):.2f} s, CPU median {statistics.median(cpus):.2f} s"
            )
        differences = [b[0] - a[0] for a, b in zip(*runs, strict=True)]
        spread = statistics.stdev(differences) if len(differences) > 1 else float("nan")
        print(
            f"B - A over {len(differences)} pairs: mean {statistics.mean(differences):+.3f} s, "
            f"sd {spread:.3f} s, standard error {spread / len(differences) ** 0.5:.3f} s"
        )
        for tree in trees:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)])
    return 0


def _tree(revision: str, path: Path) -> Path:
    """``revision`` checked out at ``path``, its C extensions built in place."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--quiet", "--detach", str(path), revision],
        check=True,
    )
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=path,
        check=True,
        capture_output=True,
    )
    subprocess.run([sys.executable, "-m", "compileall", "-q", "privstats"], cwd=path, check=True)
    # The interpreter puts its working directory first on the path (and this venv has the
    # main checkout installed): make sure the tree's own package is the one imported.
    found = subprocess.run(
        [sys.executable, "-c", "import privstats; print(privstats.__file__)"],
        cwd=path,
        env=dict(os.environ, PYTHONPATH=str(path)),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not Path(found).is_relative_to(path):
        raise SystemExit(f"{revision}: privstats imports from {found}, not from its worktree")
    return path


def _ingest(tree: Path, log: Path, store: Path, key: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``privstats ingest access`` of ``tree``'s code."""
    env = dict(os.environ, PYTHONPATH=str(tree), PRIVSTATS_KEY_FILE=str(key))
    command = [sys.executable, "-m", "privstats.cli", "--store", str(store)]
    command += ["ingest", "access", "--format", FORMAT, str(log)]
    before = os.times()
    # Run in the tree: ``-m`` puts the working directory ahead of PYTHONPATH.
    subprocess.run(command, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return after.elapsed - before.elapsed, cpu


def _same(a: Path, b: Path) -> bool:
    """Whether two stores hold the same access rows, file by file (day by day)."""
    files_a, files_b = Store(a).files("access"), Store(b).files("access")
    if [f.parent.name for f in files_a] != [f.parent.name for f in files_b]:
        return False
    for x, y in zip(files_a, files_b, strict=True):
        ta, tb = pq.read_table(x), pq.read_table(y)
        if ta.schema != tb.schema:
            return False
        for name in ta.column_names:
            ca, cb = ta[name], tb[name]
            if hasattr(ca.type, "value_type"):  # dictionaries may number labels differently
                ca, cb = ca.cast(ca.type.value_type), cb.cast(cb.type.value_type)
            if not ca.equals(cb):
                return False
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
