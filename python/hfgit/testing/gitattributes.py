"""The `.gitattributes` file the Hub writes into the first commit of every new repo.

The Hub generates it server-side (private code), so these lists are reconstructed from copies in
public repos; see hub-protocol.md section 6. Tests compare against them, so the order matters:
they are kept exactly as the Hub writes them.
"""

from __future__ import annotations

__all__ = [
    "DATASET_LFS_SECTIONS",
    "MODEL_LFS_PATTERNS",
    "default_gitattributes",
]

MODEL_LFS_PATTERNS: tuple[str, ...] = (
    "*.7z",
    "*.arrow",
    "*.bin",
    "*.bz2",
    "*.ckpt",
    "*.ftz",
    "*.gz",
    "*.h5",
    "*.joblib",
    "*.lfs.*",
    "*.mlmodel",
    "*.model",
    "*.msgpack",
    "*.npy",
    "*.npz",
    "*.onnx",
    "*.ot",
    "*.parquet",
    "*.pb",
    "*.pickle",
    "*.pkl",
    "*.pt",
    "*.pth",
    "*.rar",
    "*.safetensors",
    "saved_model/**/*",
    "*.tar.*",
    "*.tar",
    "*.tflite",
    "*.tgz",
    "*.wasm",
    "*.xz",
    "*.zip",
    "*.zst",
    "*tfevents*",
)
"""Patterns tracked by LFS in a new model repo (35 lines, Hub order)."""


def _dataset_base_patterns() -> tuple[str, ...]:
    """The model list with the dataset-only archive formats inserted after `*.lfs.*`."""
    position = MODEL_LFS_PATTERNS.index("*.lfs.*") + 1
    return (*MODEL_LFS_PATTERNS[:position], "*.lz4", "*.mds", *MODEL_LFS_PATTERNS[position:])


DATASET_LFS_SECTIONS: tuple[tuple[str | None, tuple[str, ...]], ...] = (
    (None, _dataset_base_patterns()),
    ("# Audio files - uncompressed", ("*.pcm", "*.sam", "*.raw")),
    ("# Audio files - compressed", ("*.aac", "*.flac", "*.mp3", "*.ogg", "*.wav")),
    ("# Image files - uncompressed", ("*.bmp", "*.gif", "*.png", "*.tiff")),
    ("# Image files - compressed", ("*.jpg", "*.jpeg", "*.webp")),
    ("# Video files - compressed", ("*.mp4", "*.webm")),
)
"""Patterns tracked by LFS in a new dataset repo, as (comment line or None, patterns) groups."""


def _lfs_line(pattern: str) -> str:
    return f"{pattern} filter=lfs diff=lfs merge=lfs -text"


def default_gitattributes(repo_type: str = "model") -> str:
    """Return the Hub's default `.gitattributes` text for a new repo of `repo_type`.

    Datasets get the dataset list; models and spaces get the model list (what the Hub writes for
    spaces is unconfirmed, the model list is the best guess). The text ends with a newline.
    """
    if repo_type not in ("model", "dataset", "space"):
        raise ValueError(f"repo_type must be 'model', 'dataset' or 'space', not {repo_type!r}")
    lines: list[str] = []
    if repo_type == "dataset":
        for comment, patterns in DATASET_LFS_SECTIONS:
            if comment is not None:
                lines.append(comment)
            lines.extend(_lfs_line(pattern) for pattern in patterns)
    else:
        lines.extend(_lfs_line(pattern) for pattern in MODEL_LFS_PATTERNS)
    return "\n".join(lines) + "\n"
