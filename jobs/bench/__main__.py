"""``python -m jobs.bench``: the scale benchmark (``jobs.bench.scale``)."""

from jobs.bench.scale import main

raise SystemExit(main())
