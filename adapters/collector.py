"""Python's garbage collector set for a process that serves for hours: a web worker under
`pathways serve`, or `pathways worker`.

The defaults suit a short script. A server keeps what it loaded at start for its whole life
(modules, every pathway's parsed definition, compiled templates: about 250,000 objects on the
demo programme), and one cold dashboard page at 100,000 clients makes hundreds of thousands of
rows. With the defaults such a page ran about 313 collections, one or two of them full ones
walking the whole heap: 0.15 to 0.3 s of a 0.86 s page, measured with gc.callbacks on
PostgreSQL (README, "Benchmarks").

So, once the process has loaded what it keeps: collect once, freeze what is left (full
collections then leave it out; `gc.freeze`), and collect the young generation after 10,000
new objects rather than 700. Reference counting frees almost everything as before; only
garbage in cycles waits a little longer to be freed.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 10_000


def settle_for_serving() -> None:
    """Leave what the process has loaded so far out of later collections, and collect the
    young generation less often. Call it once the process is ready for its first request
    (or round); calling it again freezes what was made since."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_GENERATION_THRESHOLD), middle, old)
