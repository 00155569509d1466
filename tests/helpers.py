"""Test helpers: tiny open_clip models saved as local-dir folders, and synthetic photos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
# MobileCLIP2's shape in miniature: the text tower apart (CustomTextCLIP), no causal mask
TINY_CUSTOM_TEXT_CONFIG = {**TINY_CONFIG, "custom_text": True,
                           "text_cfg": {**TINY_CONFIG["text_cfg"], "no_causal_mask": True}}
PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bicubic",
              "resize_mode": "shortest"}


def save_local_dir(model, model_cfg: dict, folder: Path) -> Path:
    """Save a model the way open_clip's `local-dir:` loader reads it."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps(
        {"model_cfg": model_cfg, "preprocess_cfg": PREPROCESS}))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    return folder


def make_random_model(folder: Path, seed: int = 0, config: dict | None = None) -> str:
    import open_clip
    import torch

    torch.manual_seed(seed)
    cfg = config or TINY_CONFIG
    kind = open_clip.CustomTextCLIP if cfg.get("custom_text") else open_clip.CLIP
    model = kind(**{k: v for k, v in cfg.items() if k != "custom_text"})
    save_local_dir(model, cfg, folder)
    return f"local-dir:{folder}"


COLOURS = {
    "red": (220, 30, 30), "green": (30, 180, 40), "blue": (30, 60, 220),
    "yellow": (240, 220, 30), "purple": (140, 40, 170), "orange": (250, 140, 20),
}


def draw_photo(colour: str = "red", shape: str = "circle", size=(640, 480), seed: int = 0
               ) -> Image.Image:
    """A synthetic picture: a coloured shape on a light, slightly varied background."""
    import random

    rnd = random.Random(seed)
    w, h = size
    bg = tuple(190 + rnd.randint(0, 50) for _ in range(3))
    im = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(im)
    s = min(w, h)
    cx, cy = w // 2 + rnd.randint(-s // 10, s // 10), h // 2 + rnd.randint(-s // 10, s // 10)
    r = int(s * rnd.uniform(0.25, 0.38))
    fill = tuple(max(0, min(255, c + rnd.randint(-20, 20))) for c in COLOURS[colour])
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        d.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    else:  # stripe
        d.rectangle([0, cy - r // 3, w, cy + r // 3], fill=fill)
    return im


def make_photo(path: Path, colour: str = "red", shape: str = "circle", size=(640, 480),
               exif_date: str | None = "2021:07:14 10:30:00", orientation: int | None = None,
               seed: int = 0, fmt: str | None = None) -> Path:
    """A synthetic photo file with EXIF (date, camera, orientation)."""
    im = draw_photo(colour, shape, size, seed)
    exif = Image.Exif()
    if exif_date:
        exif[0x0132] = exif_date
        exif.get_ifd(0x8769)[0x9003] = exif_date
    exif[0x010F] = "Snapseek"
    exif[0x0110] = "Synthetic 1"
    if orientation:
        exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = fmt or {".png": "PNG", ".webp": "WEBP", ".gif": "GIF", ".bmp": "BMP",
                  ".tif": "TIFF", ".tiff": "TIFF"}.get(path.suffix.lower(), "JPEG")
    kwargs = {"exif": exif.tobytes()} if fmt in ("JPEG", "PNG", "WEBP", "TIFF") else {}
    if fmt == "JPEG":
        kwargs["quality"] = 90
    im.save(path, fmt, **kwargs)
    return path


def run_cli(*args: str, home: Path, model: str | None = None, check: bool = True,
            env: dict | None = None, timeout: float = 300, isolated: bool = False
            ) -> subprocess.CompletedProcess:
    """Run `snapseek` as a user would, with no network for the hub.

    In this process (`core.cli.main` with its own stdout, stderr and log handler: no second
    interpreter importing torch and loading the model, seconds each), unless `isolated` or
    `env` is given (settings read once at import), or SNAPSEEK_TEST_CLI=subprocess: then a
    fresh interpreter, as the installed command runs."""
    cmd = [sys.executable, "-m", "core.cli", "--home", str(home)]
    if model:
        cmd += ["--model", model]
    # --threads and --device set process-wide state (torch's thread count): a process of their own
    isolated = isolated or any(a.startswith(("--threads", "--device")) for a in args)
    if isolated or env or os.environ.get("SNAPSEEK_TEST_CLI") == "subprocess":
        full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        full_env.update(env or {})
        proc = subprocess.run(cmd + list(args), capture_output=True, text=True, env=full_env,
                              cwd=ROOT, timeout=timeout)
    else:
        proc = _run_cli_here(cmd, list(args))
    if check and proc.returncode != 0:
        raise AssertionError(f"snapseek {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def _run_cli_here(cmd: list[str], args: list[str]) -> subprocess.CompletedProcess:
    import contextlib
    import io
    import logging

    from core.cli import main

    streams = [io.BytesIO(), io.BytesIO()]
    out, err = (io.TextIOWrapper(b, encoding="utf-8", errors="surrogateescape",
                                 write_through=True) for b in streams)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers[:] = []  # main's basicConfig then logs to this run's stderr, as a process does
    offline = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(cmd[3:] + args)
            except SystemExit as exc:  # argparse: usage errors exit 2, --help 0
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        if offline is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = offline
    text = [b.getvalue().decode("utf-8", "replace") for b in streams]
    return subprocess.CompletedProcess(cmd + args, code, text[0], text[1])


def make_video(path: Path, scenes: list[tuple[str, str, float]], fps: int = 10,
               size=(192, 144), creation_time: str | None = "2021-07-14T10:30:00Z",
               location: str | None = None, faststart: bool = False) -> Path:
    """A small MPEG-4 video of coloured-shape scenes (colour, shape, seconds), one keyframe
    per second like a phone's, with the container tags phones write."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    # faststart puts the index first, as streaming cameras and phones do
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        if creation_time:
            out.metadata["creation_time"] = creation_time
        if location:
            out.metadata["location"] = location
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.gop_size = fps
        for n, (colour, shape, seconds) in enumerate(scenes):
            picture = np.asarray(draw_photo(colour, shape, size, seed=n))
            for _ in range(int(seconds * fps)):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_camera_photo(path: Path, make: str, model: str, colour: str = "red",
                      shape: str = "circle", seed: int = 0) -> Path:
    """A synthetic JPEG whose EXIF names a camera (Make and Model tags)."""
    im = draw_photo(colour, shape, (320, 240), seed)
    exif = Image.Exif()
    # Pillow reads EXIF strings as Latin-1, as many cameras write them
    exif[0x010F] = make if make.isascii() else make.encode("latin-1")
    exif[0x0110] = model if model.isascii() else model.encode("latin-1")
    exif[0x0132] = "2021:07:14 10:30:00"
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def files_under(folder: Path) -> list[Path]:
    """Every file below a folder (none when it does not exist)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG file's chunks as (type, payload), in file order."""
    import struct

    pos, out = 8, []
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return out


def build_png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG file from (type, payload) chunks, each with a correct length and CRC."""
    import struct
    import zlib

    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(payload)) + kind + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        for kind, payload in chunks)


def write_video(path: Path, fmt: str, codec: str, seconds: float = 2, fps: int = 10,
                colour: str = "red", size=(192, 144)) -> Path:
    """A short video in any container and codec PyAV writes (.ts, .vob, .flv ...)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.gop_size = fps
        picture = np.asarray(draw_photo(colour, "circle", size))
        for _ in range(int(seconds * fps)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def without_override_capabilities() -> list[str]:
    """A command prefix under which chmod 000 is refused for real: for a user nothing; for root
    (CI), root still but without the capabilities that override file permissions (setpriv), so
    that the checkout and its interpreter are reached wherever they are (a private folder)."""
    import shutil

    import pytest

    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv to drop the override capabilities")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root and not allowed to drop capabilities")
    return prefix


def home_holding(tmp_path: Path, runtime: Path) -> Path:
    """`tmp_path`/home, empty but for a model's towers made before (a copy of `runtime`)."""
    import shutil

    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(runtime, home / "runtime")
    return home


class Watching:
    """`snapseek watch` in a process of its own, its lines read with a deadline (a silent
    process never blocks a test), and ended however the test ends: SIGTERM, then SIGKILL."""

    def __init__(self, home: Path, model: str, env: dict | None = None):
        self.said: list[str] = []
        self._partial = b""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "--home", str(home), "--model", model, "watch"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(env or {})})

    def wait_for(self, words: str, timeout: float = 120) -> str:
        """The first line to come that holds `words` (read from the pipe itself: no buffer
        can hold a line back from the deadline)."""
        import select
        import time

        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:  # it ended
                break
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            for line in lines:
                self.said.append(line.decode(errors="replace") + "\n")
                if words in self.said[-1]:
                    return self.said[-1]
        raise AssertionError(f"no {words!r} in:\n{''.join(self.said)}")

    def stop(self) -> int:
        """Asked to end as a logout asks; killed if it has not within a minute."""
        import signal

        self.proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, _ = self.proc.communicate()
        self.said.append((self._partial + (rest or b"")).decode(errors="replace"))
        return self.proc.returncode

    def __enter__(self) -> Watching:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.stop()
