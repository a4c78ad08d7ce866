"""`morket client ...` (also `morket-client ...`): import a CSV, run a column, wait, export.

Authenticated by `MORKET_API_KEY` against `MORKET_URL` (default http://127.0.0.1:8000).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence

from morket_client.client import Morket, MorketError


def _import(m: Morket, args: argparse.Namespace) -> None:
    with open(args.file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        header = reader.fieldnames or []
    table = m.find_table(args.table)
    if table is None:
        table = m.create_table(args.table, [{"name": name, "type": "text"} for name in header])
    ids = m.add_rows(table["id"], rows)
    print(json.dumps({"table_id": table["id"], "rows": len(ids)}))


def _table_id(m: Morket, name: str) -> str:
    table = m.find_table(name)
    if table is None:
        raise SystemExit(f"no table named {name!r}")
    return str(table["id"])


def _run(m: Morket, args: argparse.Namespace) -> None:
    jobs = m.run_column(_table_id(m, args.table), args.column)
    for job in jobs:
        if args.wait:
            job = m.wait_for_job(job["id"])
        print(json.dumps({"job_id": job["id"], "status": job["status"]}))


def _wait(m: Morket, args: argparse.Namespace) -> None:
    job = m.wait_for_job(args.job, timeout=args.timeout)
    print(json.dumps({"job_id": job["id"], "status": job["status"]}))


def _export(m: Morket, args: argparse.Namespace) -> None:
    with open(args.out, "wb") as out:
        written = m.export_csv(_table_id(m, args.table), out)
    print(json.dumps({"out": args.out, "bytes": written}))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="morket client", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    p = commands.add_parser("import", help="import a CSV file into a table (created if missing)")
    p.add_argument("file")
    p.add_argument("--table", required=True)
    p.set_defaults(handler=_import)
    p = commands.add_parser("run", help="run an enrichment column on a table")
    p.add_argument("--table", required=True)
    p.add_argument("--column", required=True)
    p.add_argument("--wait", action="store_true", help="wait for the job to finish")
    p.set_defaults(handler=_run)
    p = commands.add_parser("wait", help="wait for an enrichment job to finish")
    p.add_argument("job")
    p.add_argument("--timeout", type=float, default=3600.0)
    p.set_defaults(handler=_wait)
    p = commands.add_parser("export", help="export a table to CSV")
    p.add_argument("--table", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(handler=_export)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with Morket() as m:
            args.handler(m, args)
    except (MorketError, ValueError) as exc:
        print(f"morket client: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
