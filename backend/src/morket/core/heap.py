"""The garbage collector of a long-lived server process: settled once after startup.

An API process imports a few hundred modules and builds the app, its routes and their pydantic
schemas at startup: several hundred thousand objects that live as long as the process. CPython's
cyclic collector does not know that; every full (generation 2) collection walks all of them
again. Under load a request allocates enough containers to trigger a young collection every few
hundred allocations and a full one every few seconds; each full pass over the startup heap took
tens of milliseconds, and every request in flight waited for it. That was the ~150 ms p99 that
every endpoint, even the bare one, showed in `bench/api.py` (docs/request-path.md).

`settle_heap()` collects what startup left as garbage, then moves every surviving object to the
permanent generation (`gc.freeze()`, the way Instagram's and Gunicorn's pre-fork servers do it),
so later collections only look at objects created by requests. The young-generation threshold is
raised from 700 to 10,000 allocations: a request's short-lived containers are mostly freed by
reference counting before a collection ever looks at them, so fewer, larger young passes cost
less in total. Reference cycles are still collected, just less often.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Collect startup garbage and exclude the startup heap from later collections."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
