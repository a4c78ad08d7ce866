"""Durable runs: the part every "paced batch run" shares (docs/runs.md).

A durable run is a row of a run table (HTTP column runs, CRM export runs) whose work a Temporal
workflow does batch by batch. `workflow` is the workflow skeleton, `pacing` the activity side
(pacing clock, heartbeats, waiting out a 429), `lifecycle` the run row's bookkeeping (start,
cancel, settle), `repository` its SQL, `reconciler` the sweep that starts or settles runs whose
workflow never started or died, `routes` the route glue. A kind supplies its activities and its
rules; enrichment jobs use the reconciler only (their workflow is of another shape).
"""
