#!/usr/bin/python3
"""Time and peak memory of each stage of a real `segue train`, from the outside.

Runs the command given after `--` (a `segue train --workspace W ...`), stamps
each line of its verbose output as it arrives (train.c flushes after every
line), and samples the process's resident set (/proc/PID/status VmRSS) every
20 ms. A stage runs from the previous stage's last line to its own last line;
its peak is the largest VmRSS sampled in that span. The stages are recognised
by the first word of train.c's lines:

  training on ...      dataset load (catalogue + snapshot into memory)
  content: ...         content vectors
  cluster / sonic map  k-means and PCA
  quality prior ...    XGBoost with its cross-validation
  co-occurrence: ...   the CSR matrices and the co-occurrence model
  implicit ALS: ...    ALS (its seconds per iteration are on the line)
  EASE: / RP3beta: / title ...
  wrote model ...      track facts from the catalogue and writing the file

Prints one JSON object: {"stages": [{"stage", "seconds", "peak_mb"}...],
"total_seconds", "peak_mb", "als_seconds_per_iteration"}.

  bench/train_stages.py [--label L] -- segue train --workspace W
"""
import json
import re
import subprocess
import sys
import threading
import time

STAGES = [
    ("training on", "dataset load"),
    ("content:", "content"),
    ("  cluster", "k-means + PCA"),
    ("sonic map", "k-means + PCA"),
    ("quality prior", "quality"),
    ("  xgboost", "quality"),
    ("  mean", "quality"),
    ("  ridge", "quality"),
    ("  (", "quality"),
    ("co-occurrence", "co-occurrence"),
    ("implicit ALS", "ALS"),
    ("EASE", "EASE"),
    ("RP3beta", "RP3beta"),
    ("title", "title"),
    ("wrote model", "track facts + write"),
]


def stage_of(line, previous):
    for prefix, name in STAGES:
        if line.startswith(prefix):
            return name
    return previous


def main():
    args = sys.argv[1:]
    label = ""
    if args[:1] == ["--label"]:
        label, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, bufsize=1)
    samples = []  # (t, rss_mb)
    done = threading.Event()

    def sampler():
        path = "/proc/%d/status" % proc.pid
        while not done.is_set():
            try:
                with open(path) as f:
                    for l in f:
                        if l.startswith("VmRSS:"):
                            samples.append((time.monotonic() - t0, int(l.split()[1]) / 1024.0))
                            break
            except OSError:
                break
            time.sleep(0.02)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    lines = []  # (t, stage, text)
    stage = None
    for line in proc.stdout:
        t = time.monotonic() - t0
        stage = stage_of(line, stage)
        lines.append((t, stage, line.rstrip("\n")))
        sys.stderr.write(line)
    rc = proc.wait()
    done.set()
    th.join()
    total = time.monotonic() - t0
    # Stage ends: the last line of each stage, in order of first appearance.
    order, end = [], {}
    for t, s, _ in lines:
        if s is None:
            continue
        if s not in end:
            order.append(s)
        end[s] = t
    out, start = [], 0.0
    for s in order:
        peak = max([m for (ts, m) in samples if start <= ts <= end[s]] or [0.0])
        out.append({"stage": s, "seconds": round(end[s] - start, 3), "peak_mb": round(peak)})
        start = end[s]
    als = None
    for _, _, text in lines:
        m = re.search(r"([0-9.]+) s per iteration", text)
        if m:
            als = float(m.group(1))
    print(json.dumps({"label": label, "exit": rc, "stages": out, "total_seconds": round(total, 3),
                      "peak_mb": round(max([m for _, m in samples] or [0.0])),
                      "als_seconds_per_iteration": als}))
    return rc


if __name__ == "__main__":
    sys.exit(main())
