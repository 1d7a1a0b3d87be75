"""The Python SDK: ``Client`` over HTTP (``http.py``, with keystoneauth1 sessions through
``keystone.py``) and ``RayClient`` over a Ray connection (``ray_client.py``), both returning
the typed results of ``resources.py``. ``runner.Client`` imports them on first use."""
