#!/usr/bin/env python3
"""mlflow_layout_check.py: checks a tree in MLflow's file-store layout (an
`mlruns` directory) against MLflow's documented FileStore format, written
from the format's description and independently of segue's code (standard
library only: MLflow itself is not installed).

    python3 mlflow_layout_check.py MLRUNS

Exits 0 with a one-line summary when every experiment and run is one MLflow's
FileStore reads; else exits 1 naming the first problem (file and field).

What is checked, as FileStore reads it:
  - MLRUNS/EXP_ID/meta.yaml (EXP_ID the decimal experiment id; ".trash" is
    MLflow's own): artifact_location (string), creation_time and
    last_update_time (integer milliseconds), experiment_id (a string equal to
    the directory's name), lifecycle_stage ("active" or "deleted"), name (a
    non-empty string, unique among experiments);
  - MLRUNS/EXP_ID/RUN_ID/meta.yaml: artifact_uri, entry_point_name,
    run_name, source_name, source_version, user_id (strings); end_time
    (integer or null; null only while RUNNING/SCHEDULED), start_time
    (integer); experiment_id (string, = the parent directory); run_id and
    run_uuid (= the directory name, 32 lowercase hex digits);
    lifecycle_stage; source_type (integer in SourceType: 1,2,3,4,1000);
    status (integer in RunStatus: 1..5); tags (a list);
  - params/KEY, tags/KEY: files (KEY may hold '/': subdirectories) whose
    names are MLflow keys ([A-Za-z0-9_.- /]);
  - metrics/KEY: non-empty lines "TIMESTAMP VALUE STEP", TIMESTAMP and STEP
    integers, VALUE a float (Python's float(): also nan, inf);
  - artifacts/ is a directory.
"""
import os
import re
import sys

KEY_RE = re.compile(r"^[A-Za-z0-9_.\- /]+$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
SOURCE_TYPE = {1, 2, 3, 4, 1000}


class Problem(Exception):
    pass


def scalar(text, where):
    """One YAML flow scalar as yaml.safe_load would read it (the subset a
    flat meta.yaml uses)."""
    t = text.strip()
    if t == "" or t in ("null", "~", "Null", "NULL"):
        return None
    if t == "[]":
        return []
    if t == "{}":
        return {}
    if t[0] == "'":
        if len(t) < 2 or t[-1] != "'":
            raise Problem(f"{where}: unterminated single-quoted string")
        inner = t[1:-1]
        if re.search(r"(?<!')'(?!')", inner.replace("''", "")):
            raise Problem(f"{where}: a lone quote inside a single-quoted string")
        return inner.replace("''", "'")
    if t[0] == '"':
        if len(t) < 2 or t[-1] != '"':
            raise Problem(f"{where}: unterminated double-quoted string")
        return bytes(t[1:-1], "utf-8").decode("unicode_escape")
    if re.fullmatch(r"[-+]?[0-9]+", t):
        return int(t)
    if re.fullmatch(r"[-+]?([0-9]*\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?", t):
        return float(t)
    if t in ("true", "True", "false", "False"):
        return t in ("true", "True")
    return t


def read_meta(path):
    """A flat YAML mapping: one "key: value" a line (a "- item" block list
    under a key is accepted too)."""
    if not os.path.isfile(path):
        raise Problem(f"{path}: missing")
    out = {}
    last = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            where = f"{path}:{n}"
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("- ") or line.startswith("  - "):
                if last is None or out[last] is not None and not isinstance(out[last], list):
                    raise Problem(f"{where}: a list item outside a list")
                if out[last] is None:
                    out[last] = []
                out[last].append(scalar(line.split("- ", 1)[1], where))
                continue
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?$", line.rstrip("\n"))
            if not m:
                raise Problem(f"{where}: not a 'key: value' line")
            key = m.group(1)
            if key in out:
                raise Problem(f"{where}: {key} twice")
            out[key] = scalar(m.group(2) or "", where)
            last = key
    return out


def need(meta, path, key, kinds, allow_none=False):
    if key not in meta:
        raise Problem(f"{path}: field {key} missing")
    v = meta[key]
    if v is None and allow_none:
        return v
    if isinstance(v, bool) or not isinstance(v, kinds):
        raise Problem(f"{path}: field {key} is {v!r}, not {kinds}")
    return v


def files_under(d):
    out = []
    for root, dirs, names in os.walk(d):
        for name in names:
            out.append(os.path.relpath(os.path.join(root, name), d))
    return sorted(out)


def check_keys(d, what):
    if not os.path.isdir(d):
        raise Problem(f"{d}: missing ({what} directory)")
    for key in files_under(d):
        if not KEY_RE.match(key) or ".." in key.split("/"):
            raise Problem(f"{d}/{key}: not a valid MLflow {what} name")
    return files_under(d)


def check_run(exp_dir, exp_id, run_id):
    run_dir = os.path.join(exp_dir, run_id)
    path = os.path.join(run_dir, "meta.yaml")
    if not HEX32.match(run_id):
        raise Problem(f"{run_dir}: a run directory's name is not 32 lowercase hex digits")
    meta = read_meta(path)
    for key in ("artifact_uri", "entry_point_name", "run_name", "source_name", "source_version", "user_id",
                "lifecycle_stage"):
        need(meta, path, key, str)
    if meta["lifecycle_stage"] not in ("active", "deleted"):
        raise Problem(f"{path}: lifecycle_stage {meta['lifecycle_stage']!r}")
    if need(meta, path, "experiment_id", str) != exp_id:
        raise Problem(f"{path}: experiment_id {meta['experiment_id']!r} is not its parent {exp_id!r}")
    for key in ("run_id", "run_uuid"):
        if need(meta, path, key, str) != run_id:
            raise Problem(f"{path}: {key} {meta[key]!r} is not the directory's name")
    start = need(meta, path, "start_time", int)
    end = need(meta, path, "end_time", int, allow_none=True)
    status = need(meta, path, "status", int)
    if status not in RUN_STATUS:
        raise Problem(f"{path}: status {status} is not an MLflow RunStatus")
    if end is None and RUN_STATUS[status] not in ("RUNNING", "SCHEDULED"):
        raise Problem(f"{path}: status {RUN_STATUS[status]} without an end_time")
    if end is not None and end < start:
        raise Problem(f"{path}: end_time before start_time")
    if need(meta, path, "source_type", int) not in SOURCE_TYPE:
        raise Problem(f"{path}: source_type {meta['source_type']} is not an MLflow SourceType")
    need(meta, path, "tags", list)
    check_keys(os.path.join(run_dir, "params"), "param")
    check_keys(os.path.join(run_dir, "tags"), "tag")
    mdir = os.path.join(run_dir, "metrics")
    points = 0
    for key in check_keys(mdir, "metric"):
        mpath = os.path.join(mdir, key)
        with open(mpath, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines[-1] != "":
            raise Problem(f"{mpath}: the last line does not end in a newline")
        for n, line in enumerate(lines[:-1], 1):
            parts = line.split(" ")
            if len(parts) != 3:
                raise Problem(f"{mpath}:{n}: not 'timestamp value step'")
            try:
                int(parts[0])
                float(parts[1])
                int(parts[2])
            except ValueError:
                raise Problem(f"{mpath}:{n}: not 'timestamp value step' numbers: {line!r}")
            points += 1
    if not os.path.isdir(os.path.join(run_dir, "artifacts")):
        raise Problem(f"{run_dir}/artifacts: missing")
    return points


def check(mlruns):
    if not os.path.isdir(mlruns):
        raise Problem(f"{mlruns}: not a directory")
    names = set()
    nexp = nrun = npoints = 0
    for exp_id in sorted(os.listdir(mlruns)):
        exp_dir = os.path.join(mlruns, exp_id)
        if exp_id == ".trash" or not os.path.isdir(exp_dir):
            continue
        if not re.fullmatch(r"[0-9]+", exp_id):
            raise Problem(f"{exp_dir}: an experiment directory's name is not its numeric id")
        path = os.path.join(exp_dir, "meta.yaml")
        meta = read_meta(path)
        need(meta, path, "artifact_location", str)
        need(meta, path, "creation_time", int)
        need(meta, path, "last_update_time", int)
        if need(meta, path, "experiment_id", str) != exp_id:
            raise Problem(f"{path}: experiment_id {meta['experiment_id']!r} is not the directory's name")
        if need(meta, path, "lifecycle_stage", str) not in ("active", "deleted"):
            raise Problem(f"{path}: lifecycle_stage {meta['lifecycle_stage']!r}")
        name = need(meta, path, "name", str)
        if not name or name in names:
            raise Problem(f"{path}: experiment name {name!r} empty or not unique")
        names.add(name)
        nexp += 1
        for run_id in sorted(os.listdir(exp_dir)):
            if os.path.isdir(os.path.join(exp_dir, run_id)) and run_id != "tags":
                npoints += check_run(exp_dir, exp_id, run_id)
                nrun += 1
    return nexp, nrun, npoints


def main():
    if len(sys.argv) != 2:
        print("usage: mlflow_layout_check.py MLRUNS", file=sys.stderr)
        return 2
    try:
        nexp, nrun, npoints = check(sys.argv[1])
    except Problem as p:
        print(f"mlflow layout: {p}")
        return 1
    print(f"mlflow layout ok: {nexp} experiments, {nrun} runs, {npoints} metric points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
