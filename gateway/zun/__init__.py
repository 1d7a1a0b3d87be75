"""The OpenStack Zun container API (v1, microversions 1.1–1.40)."""
