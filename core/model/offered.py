"""The models Snapseek offers: one table, the rule that picks the default, and how a model is
named (its open_clip spec, and the id its vectors are filed under).

Every number here is either measured on this project's 2-core development machine (speed, with
the command that measured it) or published by someone else (quality, with its source). A number
that is neither is None and shown as "not published" / "not measured".
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.files import head_tail_hash
from core.types import ModelUnavailable

# the bar a default must clear in every one of three runs (docs/PERFORMANCE.md, "Models")
MIN_PHOTOS_PER_S = 8.0
OPEN_LICENCES = ("Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "CC-BY-4.0")

SPEED_COMMAND = ("python -m benchmarks.run --only models --no-doc --candidates "
                 "ViT-B-32-SigLIP2-256:webli ViT-B-16-SigLIP2:webli "
                 "ViT-B-32-256:datacomp_s34b_b86k ViT-B-32:laion2b_s34b_b79k "
                 "MobileCLIP2-S2:dfndr2b MobileCLIP2-S0:dfndr2b")
RSS_COMMAND = "python -m benchmarks.memory"
SIZE_NOTE = ("parameters of the architecture (created with random weights) × 4 bytes: the fp32 "
             "weights download")

OPEN_CLIP_CSV = ("https://github.com/mlfoundations/open_clip/blob/main/docs/"
                 "openclip_retrieval_results.csv")
SIGLIP2_TABLE = ("https://github.com/google-research/big_vision/blob/main/big_vision/configs/"
                 "proj/image_text/README_siglip2.md (SigLIP 2 authors, arXiv:2502.14786)")
IMMICH_TABLE = ("https://github.com/immich-app/immich/blob/main/docs/docs/features/searching.md "
                "(Crossmodal-3600: mean of R@1, R@5, R@10)")
APPLE_RESULTS = "https://github.com/apple/ml-mobileclip (results/{}.jsonl)"
AMLR_URL = "https://github.com/apple/ml-mobileclip/blob/main/LICENSE_MODELS"
AMLR_FIRST_SENTENCE = (
    "Disclaimer: IMPORTANT: This Apple Machine Learning Research Model is specifically developed "
    "and released by Apple Inc. (\"Apple\") for the sole purpose of scientific research of "
    "artificial intelligence and machine-learning technology.")


@dataclass(frozen=True)
class OfferedModel:
    spec: str                      # open_clip NAME:TAG
    name: str                      # what people read
    licence: str                   # SPDX where one exists; "Apple-AMLR" otherwise
    licence_url: str
    languages: str                 # "English" or "multilingual"
    size_mb: int                   # see SIZE_NOTE
    coco_t2i_r1: float | None      # published zero-shot MSCOCO 5k text→image R@1, in %
    coco_source: str | None
    # published Crossmodal-3600 image retrieval recall (%) by query language
    xm3600_recall: dict[str, float] = field(default_factory=dict)
    xm3600_source: str | None = None
    indexing_runs: tuple[float, ...] = ()  # photos/s here, three runs (see SPEED_COMMAND)
    rss_mb: int | None = None  # resident, both towers answering (benchmarks.memory), here
    speed_note: str = ""  # when and how indexing_runs were measured
    licence_first_sentence: str | None = None  # shown before a non-open licence is accepted
    hub_repo: str | None = None  # where its weights file, config and tokenizer are published
    # the family the tower builder makes without torch (core/model/family.py), or None: the
    # model needs the full installation (torch and open_clip) to export its towers
    family: str | None = None

    @property
    def open(self) -> bool:
        return self.licence in OPEN_LICENCES

    @property
    def photos_per_s(self) -> float | None:
        """Median of the measured runs."""
        runs = sorted(self.indexing_runs)
        return runs[len(runs) // 2] if runs else None

    @property
    def fast_enough(self) -> bool:
        """Indexes at the bar in every run, not on average: users have slow days too."""
        return bool(self.indexing_runs) and min(self.indexing_runs) >= MIN_PHOTOS_PER_S

    @property
    def needs_full_installation(self) -> bool:
        return self.family is None

    def as_dict(self, default: str | None = None) -> dict:
        out = asdict(self)
        out.update(open=self.open, photos_per_s=self.photos_per_s,
                   needs_full_installation=self.needs_full_installation,
                   indexing_runs=list(self.indexing_runs),
                   default=self.spec == (default or DEFAULT_MODEL))
        return out


# Speed: three quiet runs of `make bench` (docs/performance.json, 2026-11-26) where they exist.
# Each row's runs say how they were obtained (speed_note); the rule above picks the default.
QUIET_BENCH = ("`make bench`, 2026-11-26, a quiet machine (docs/performance.json), the image "
               "tower on OpenVINO as indexing runs it")
DEFAULT_RUN = ("`python -m benchmarks.run --only models --no-doc --candidates "
               "ViT-B-32-SigLIP2-256:webli`, 2026-11-26, a quiet machine (load 1.4), run directly; "
               "the image tower on OpenVINO (core/model/runtime.py), as indexing runs it. It was 11.48 "
               "derived before (ViT-B-32-256's runs of 2026-11-24 × "
               "0.958, `python -m benchmarks.quiet --paired ...`); the other measured rows are "
               "from `make bench` of the same day")

MODELS: tuple[OfferedModel, ...] = (
    OfferedModel(
        "ViT-B-32-SigLIP2-256:webli", "SigLIP 2 B/32 (256 px)", "Apache-2.0",
        "https://huggingface.co/timm/ViT-B-32-SigLIP2-256", "multilingual", 1507,
        47.2, SIGLIP2_TABLE,
        {"English": 73.15, "German": 84.44, "Japanese": 55.31}, IMMICH_TABLE,
        indexing_runs=(23.72, 23.56, 23.99), rss_mb=869, speed_note=DEFAULT_RUN,
        hub_repo="timm/ViT-B-32-SigLIP2-256", family="siglip"),
    OfferedModel(
        "ViT-B-16-SigLIP2:webli", "SigLIP 2 B/16 (224 px)", "Apache-2.0",
        "https://huggingface.co/timm/ViT-B-16-SigLIP2", "multilingual", 1501,
        52.1, SIGLIP2_TABLE,
        {"English": 75.19, "German": 86.44, "Japanese": 58.1}, IMMICH_TABLE,
        rss_mb=874,
        speed_note=("not measured on a quiet machine; on the busy one it indexed at about half "
                    "ViT-B-32-256's speed (median 2.0 vs 4.08 photos/s, image tower alone 2.53 "
                    "vs 6.27 img/s, in one `" + SPEED_COMMAND + "` run), so below the bar"),
        hub_repo="timm/ViT-B-16-SigLIP2", family="siglip"),
    OfferedModel(
        "ViT-B-32-256:datacomp_s34b_b86k", "CLIP B/32 DataComp (256 px)", "MIT",
        "https://huggingface.co/laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K", "English", 605,
        39.93, OPEN_CLIP_CSV, indexing_runs=(23.03, 26.91, 25.02), rss_mb=688,
        speed_note=QUIET_BENCH,
        hub_repo="laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K", family="clip"),
    OfferedModel(
        "ViT-B-32:laion2b_s34b_b79k", "CLIP B/32 LAION-2B", "MIT",
        "https://huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "English", 605,
        39.34, OPEN_CLIP_CSV,
        {"English": 68.78, "German": 36.6}, IMMICH_TABLE,
        indexing_runs=(27.04, 27.48, 27.68), rss_mb=686, speed_note=QUIET_BENCH,
        hub_repo="laion/CLIP-ViT-B-32-laion2B-s34B-b79K", family="clip"),
    OfferedModel(
        "MobileCLIP2-S2:dfndr2b", "MobileCLIP2-S2", "Apple-AMLR", AMLR_URL, "English", 397,
        48.82, APPLE_RESULTS.format("mobileclip2_s2"),
        indexing_runs=(20.21, 19.83, 20.43), speed_note=QUIET_BENCH,
        licence_first_sentence=AMLR_FIRST_SENTENCE,
        hub_repo="timm/MobileCLIP2-S2-OpenCLIP"),
    OfferedModel(
        "MobileCLIP2-S0:dfndr2b", "MobileCLIP2-S0", "Apple-AMLR", AMLR_URL, "English", 300,
        43.68, APPLE_RESULTS.format("mobileclip2_s0"),
        indexing_runs=(24.84, 23.21, 26.43), speed_note=QUIET_BENCH,
        licence_first_sentence=AMLR_FIRST_SENTENCE,
        hub_repo="timm/MobileCLIP2-S0-OpenCLIP"),
)


def choose_default(models=MODELS) -> str:
    """The best open-licence model that indexes at ≥ 8 photos/s here in every run: multilingual
    ones first when any clears the bar, then the best published MSCOCO text→image R@1."""
    fit = [m for m in models if m.open and m.fast_enough]
    if not fit:
        raise ValueError("no open-licence model clears the speed bar")
    if any(m.languages == "multilingual" for m in fit):
        fit = [m for m in fit if m.languages == "multilingual"]
    return max(fit, key=lambda m: m.coco_t2i_r1 or 0.0).spec


DEFAULT_MODEL = choose_default()


def offered(spec: str) -> OfferedModel | None:
    """The table's entry for a spec, or None for a model folder or any other open_clip model."""
    return next((m for m in MODELS if m.spec == spec), None)


def display_name(spec: str) -> str:
    """A model as people read it: the offered table's name, else its spec."""
    m = offered(spec)
    return m.name if m else spec


# -- a model as open_clip names it, and as the catalog knows it --------------------------------
LOCAL_DIR = "local-dir:"
HF_HUB = "hf-hub:"


@dataclass(frozen=True)
class ModelSpec:
    """A model in open_clip's own spellings: NAME:TAG, hf-hub:org/repo or local-dir:PATH."""

    text: str

    @property
    def kind(self) -> str:
        if self.text.startswith(LOCAL_DIR):
            return "local-dir"
        if self.text.startswith(HF_HUB):
            return "hf-hub"
        return "pretrained"

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        text = text.strip()
        if text.startswith(LOCAL_DIR):
            folder = Path(text[len(LOCAL_DIR):]).expanduser()
            return cls(LOCAL_DIR + str(folder.resolve()))
        if text.startswith(HF_HUB):
            return cls(text)
        if ":" not in text:
            raise ModelUnavailable(
                f"Model '{text}' has no pretrained tag. Use NAME:TAG (for example "
                f"{DEFAULT_MODEL}), hf-hub:org/repo or local-dir:/path/to/folder."
            )
        return cls(text)


def file_fingerprint(path: str | os.PathLike) -> str:
    """Cheap identity of a weights file: its size and its first and last megabyte."""
    return head_tail_hash(path, 1 << 20, digest_size=8)


def model_id(spec: str, fingerprint: str, dim: int) -> str:
    """What the catalog files vectors under: the spec, its weights' fingerprint and the vectors'
    dimension, so that other weights under the same name are another model. A spec may hold
    "#" (a folder's name): the parts are read from the right."""
    return f"{spec}#{fingerprint}#{dim}"


def runtime_key(model_id: str) -> str:
    """A model's towers' names in a runtime folder: one per model id (spec, weights, dim)."""
    import hashlib

    return hashlib.blake2b(model_id.encode(), digest_size=10).hexdigest()


def spec_of(model_id: str) -> str:
    """The spec part of a model id (spec#fingerprint#dim)."""
    return model_id.rsplit("#", 2)[0]


def fingerprint_of(model_id: str) -> str:
    """The weights' fingerprint in a model id."""
    return model_id.rsplit("#", 2)[-2]


def dim_of(model_id: str) -> int:
    try:
        return int(model_id.rsplit("#", 1)[1])
    except (IndexError, ValueError):
        return 0
