"""`morket client ...` (also `morket-client ...`): import a CSV, run a column, wait, export, and
push a table to a CRM through its exports (`crm-export list | run | follow`).

Authenticated by `MORKET_API_KEY` against `MORKET_URL` (default http://127.0.0.1:8000).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence

from morket_client.client import CRM_RUN_PROGRESS, JSON, Morket, MorketError


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


def _run_line(run: JSON) -> str:
    return json.dumps({"run_id": run["id"], **{name: run[name] for name in CRM_RUN_PROGRESS}, "error": run["error"]})


def _crm_list(m: Morket, args: argparse.Namespace) -> int:
    table_id = _table_id(m, args.table) if args.table else None
    for export in m.crm_exports(table_id):
        print(json.dumps({k: export[k] for k in ("id", "table_id", "crm", "object_type", "key_property")}))
    return 0


def _follow(m: Morket, run_id: str, timeout: float, poll: float) -> int:
    """A line per change of the run; exit status 1 when it ends failed."""
    run: JSON = {}
    for run in m.follow_crm_run(run_id, timeout=timeout, poll=poll):
        print(_run_line(run), flush=True)
    return 1 if run.get("status") == "failed" else 0


def _crm_run(m: Morket, args: argparse.Namespace) -> int:
    run = m.start_crm_run(args.export, row_ids=args.rows, force=args.force)
    if args.follow:
        return _follow(m, str(run["id"]), args.timeout, args.poll)
    print(_run_line(run))
    return 0


def _crm_follow(m: Morket, args: argparse.Namespace) -> int:
    return _follow(m, args.run, args.timeout, args.poll)


def _row_ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"row ids are integers separated by commas, not {text!r}") from None


def _crm_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    crm = commands.add_parser("crm-export", help="push a table to HubSpot or Salesforce (docs/crm.md)")
    actions = crm.add_subparsers(dest="action", required=True)
    p = actions.add_parser("list", help="the workspace's CRM exports, one JSON line each")
    p.add_argument("--table", help="only this table's exports")
    p.set_defaults(handler=_crm_list)
    run = actions.add_parser("run", help="run an export: every row, or --rows; unchanged rows are skipped")
    run.add_argument("export", help="the export's id (see `crm-export list`)")
    run.add_argument("--rows", type=_row_ids, help="only these row ids, comma separated")
    run.add_argument("--force", action="store_true", help="push rows whose values did not change too")
    run.add_argument("--follow", action="store_true", help="print its progress until it ends")
    run.set_defaults(handler=_crm_run)
    follow = actions.add_parser("follow", help="print a run's progress until it ends (exit 1 if it failed)")
    follow.add_argument("run", help="the run's id")
    follow.set_defaults(handler=_crm_follow)
    for p in (run, follow):
        p.add_argument("--timeout", type=float, default=3600.0, help="give up following after this many seconds")
        p.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks")


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
    _crm_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with Morket() as m:
            code: int | None = args.handler(m, args)
    except (MorketError, ValueError, TimeoutError) as exc:
        print(f"morket client: {exc}", file=sys.stderr)
        return 1
    return code or 0


if __name__ == "__main__":
    raise SystemExit(main())
