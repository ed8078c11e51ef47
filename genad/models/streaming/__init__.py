"""Streaming detectors: the stream API of :mod:`genad.streaming` on MemStream and METER."""
from genad.models.streaming.memstream import MemStream
from genad.models.streaming.meter import METER

__all__ = ["METER", "MemStream"]
