"""Snapseek's core: catalog, models, indexing and search; never imports Qt."""

from core.thirdparty import telemetry_off

telemetry_off()  # before any library that phones home can be imported (core/thirdparty.py)
