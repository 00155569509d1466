"""A model's published weights file (safetensors) read as numpy arrays mapped from the file:
no torch, no copy of a tensor until it is used, and a table's rows read only when asked for.

The format is a little-endian u64 header length, a JSON header naming each tensor's dtype,
shape and byte range, then the bytes (https://github.com/huggingface/safetensors)."""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64,
           "I64": np.int64, "I32": np.int32}
MAX_HEADER = 100 << 20  # a header larger than this is not a weights file


class WeightsError(ValueError):
    """A file that is not a readable safetensors file; the message says why, in one line."""


@dataclass(frozen=True)
class Tensor:
    """Where one tensor lies in the file."""

    dtype: str
    shape: tuple[int, ...]
    offset: int  # from the start of the file

    def as_dict(self, path: str | os.PathLike) -> dict:
        return {"path": str(path), "dtype": self.dtype, "shape": list(self.shape),
                "offset": self.offset}


class WeightsFile:
    """The tensors of one safetensors file, by name, as float32 arrays on demand."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                raw = f.read(8)
                if len(raw) != 8:
                    raise WeightsError(f"{self.path.name} is too short to be a weights file")
                (size,) = struct.unpack("<Q", raw)
                if not 0 < size <= MAX_HEADER:
                    raise WeightsError(f"{self.path.name} is not a safetensors file")
                header = json.loads(f.read(size))
            total = self.path.stat().st_size
        except (OSError, ValueError) as exc:
            if isinstance(exc, WeightsError):
                raise
            raise WeightsError(f"{self.path.name} cannot be read as a weights file ({exc})"
                               ) from exc
        self.metadata = header.pop("__metadata__", {}) or {}
        start = 8 + size
        self.tensors: dict[str, Tensor] = {}
        for name, info in header.items():
            begin, end = info["data_offsets"]
            dtype, shape = info["dtype"], tuple(int(n) for n in info["shape"])
            if dtype not in _DTYPES:
                raise WeightsError(f"{self.path.name}: tensor {name} has dtype {dtype}, which "
                                   "Snapseek does not read")
            want = int(np.prod(shape, dtype=np.int64)) * np.dtype(_DTYPES[dtype]).itemsize
            if end - begin != want or start + end > total:
                raise WeightsError(f"{self.path.name} is cut short or damaged (tensor {name})")
            self.tensors[name] = Tensor(dtype, shape, start + begin)

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def names(self, prefix: str = "") -> list[str]:
        return [n for n in self.tensors if n.startswith(prefix)]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.tensors[name].shape

    def raw(self, name: str) -> np.ndarray:
        """The tensor as stored, mapped from the file (read-only)."""
        return mapped(self.path, self.tensors[name])

    def __getitem__(self, name: str) -> np.ndarray:
        """The tensor as float32 (bf16 and fp16 widened exactly)."""
        return as_float32(self.raw(name), self.tensors[name].dtype)


def mapped(path: str | os.PathLike, t: Tensor) -> np.ndarray:
    """A tensor's bytes mapped from the file, in its stored type."""
    dtype = np.dtype(_DTYPES[t.dtype]).newbyteorder("<")
    count = int(np.prod(t.shape, dtype=np.int64))
    if count == 0:
        return np.zeros(t.shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=t.offset, shape=t.shape)


def as_float32(values: np.ndarray, dtype: str) -> np.ndarray:
    """float32 of a stored tensor: bf16 is the top half of a float32."""
    if dtype == "BF16":
        return (np.asarray(values, np.uint32) << 16).view(np.float32)
    if dtype == "F32":
        return np.asarray(values)
    return np.asarray(values, np.float32)


class TokenTable:
    """The text tower's token embedding, left in the weights file: only the rows a query's
    tokens name are read (SigLIP 2's 256k × 768 table never becomes resident)."""

    def __init__(self, where: dict):
        self._dtype = where["dtype"]
        self._rows = mapped(where["path"], Tensor(where["dtype"], tuple(where["shape"]),
                                                  int(where["offset"])))

    @property
    def shape(self) -> tuple[int, ...]:
        return self._rows.shape

    def __getitem__(self, tokens: np.ndarray) -> np.ndarray:
        return as_float32(self._rows[tokens], self._dtype)
