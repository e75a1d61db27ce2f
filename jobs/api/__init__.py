"""``recs serve``: an HTTP read API over the published version, for services.

``reader`` keeps the published version in memory and follows each publish atomically; ``routes`` has the
routes (``build_router``, mountable by another app such as the Airflow plugin) and the standalone app
(``build_app``); ``auth`` the bearer-token check; ``server`` runs it with uvicorn.
"""
