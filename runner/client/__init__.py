"""The Python SDK: ``Client`` over HTTP (``http.py``) and ``RayClient`` over a Ray
connection (``ray_client.py``). ``runner.Client`` imports them on first use."""
