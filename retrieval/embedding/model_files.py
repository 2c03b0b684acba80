"""What a sentence-transformers folder holds, read from its JSON files without torch.

The ONNX backends need the window, the pooling and a fingerprint of the weights; reading them
here keeps the question path free of torch and sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.errors import ModelError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SUPPORTED_POOLING = ("mean", "cls")


@dataclass(frozen=True)
class ModelFiles:
    folder: Path
    weights: Path
    max_tokens: int
    dimension: int
    pooling: str  # "mean" or "cls"
    normalize: bool
    model_type: str
    num_heads: int
    hidden_size: int

    @property
    def tokenizer_file(self) -> Path:
        return self.folder / "tokenizer.json"

    def weights_stat(self) -> tuple[int, int]:
        """(size, mtime_ns): a cheap check that the weights are the ones fingerprinted."""
        stat = self.weights.stat()
        return stat.st_size, stat.st_mtime_ns


def read_model_files(folder: Path) -> ModelFiles:
    """Raises ModelError when the folder is not a model the ONNX backends can run."""
    if not folder.is_dir():
        raise ModelError(f"model folder {folder} does not exist")
    weights = next((folder / n for n in WEIGHT_FILES if (folder / n).is_file()), None)
    if weights is None:
        raise ModelError(f"no model weights ({' or '.join(WEIGHT_FILES)}) in {folder}")
    if not (folder / "tokenizer.json").is_file():
        raise ModelError(
            f"{folder} has no fast tokenizer (tokenizer.json); "
            "use NEWSDESK_EMBEDDING_BACKEND=torch for this model"
        )
    config = _json(folder / "config.json")
    st_config = _json(folder / "sentence_bert_config.json", required=False)
    modules = _json(folder / "modules.json", required=False) or []
    pooling_dir = next(
        (m.get("path", "") for m in modules if str(m.get("type", "")).endswith("Pooling")),
        "1_Pooling",
    )
    pooling_config = _json(folder / pooling_dir / "config.json", required=False) or {}
    pooling = _pooling(pooling_config)
    normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
    hidden = int(config.get("hidden_size", 0))
    max_tokens = int(
        (st_config or {}).get("max_seq_length") or config.get("max_position_embeddings", 512)
    )
    return ModelFiles(
        folder=folder,
        weights=weights,
        max_tokens=max_tokens,
        dimension=int(pooling_config.get("word_embedding_dimension", hidden)),
        pooling=pooling,
        normalize=normalize,
        model_type=str(config.get("model_type", "")),
        num_heads=int(config.get("num_attention_heads", 0)),
        hidden_size=hidden,
    )


def weights_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pooling(config: dict[str, Any]) -> str:
    if not config or config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    modes = sorted(k for k, v in config.items() if k.startswith("pooling_mode") and v)
    raise ModelError(
        f"the ONNX backends support {' and '.join(SUPPORTED_POOLING)} pooling, not {modes}; "
        "use NEWSDESK_EMBEDDING_BACKEND=torch for this model"
    )


def _json(path: Path, *, required: bool = True) -> Any:
    if not path.is_file():
        if required:
            raise ModelError(f"{path} is missing; is this a sentence-transformers folder?")
        return None
    return json.loads(path.read_text(encoding="utf-8"))
