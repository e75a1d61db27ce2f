"""Training and selection: the run's frozen snapshot (``snapshot``), the candidates' holdout evaluation and the
champion's final fit (``candidates``), the champion/challenger gate (``gate``) and Optuna tuning (``tune``)."""
