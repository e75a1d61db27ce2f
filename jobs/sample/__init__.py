"""The seeded sample data set (``recs sample``, ``make demo``): a latent-taste world (``world``), items dressed in
text (``items``), written out as landing files (``data``). Not on the nightly path."""
