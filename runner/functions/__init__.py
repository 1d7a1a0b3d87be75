"""Functions: register an image and a handler once, invoke it many times.

``model`` holds the function, instance and invocation records; ``shim`` is the
stdlib-only runtime mounted into Python images; ``wire`` is the host side of
its socket protocol; ``instance`` turns a function into the capsule that runs
one warm instance of it.
"""
