"""Benchmarks (results in docs/benchmarks.md): ``python -m jobs.bench`` (scale: ``scale``, with ``data``,
``night`` and ``kernels``), ``python -m jobs.bench.quality`` (MovieLens-100K: ``quality``, ``quality_report``,
``movielens``) and ``python -m jobs.bench.protocols``. Not on the nightly path."""
