"""An int8 ONNX copy of a sentence-transformers encoder, built once into the project's home.

Recipe (chosen in issue 7 by cross-validation on ``labels/examples.jsonl``, 5 folds × 3 by
document): export the transformer with ``torch.onnx.export`` (TorchScript exporter, opset 17),
quantise the MatMul weights dynamically to int8 per output channel, and run the result with
onnxruntime one text at a time; mean pooling and L2 normalisation are done here in numpy, as the
source model's Pooling and Normalize modules do. Agreement counts as held when mean kappa and
macro-F1 are each within 0.01 of the torch encoder's; among the variants that held, per-channel
MatMul int8 has the highest cosine fidelity to the torch vectors (in batches: mean 0.992, min
0.955, against 0.954 / 0.82 when every layer is quantised), the safer bet on text unlike the
training set. As shipped (``bench/encoder_speed.py --cv``): 3.76× torch's units/s on 2 cores
(texts run in parallel threads), cosine mean 0.993, min 0.969, macro-F1 and mean kappa each
0.006 below torch's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import numpy as np

from matrixcoder.encoding.sentence_encoder import SentenceEncoder
from matrixcoder.fileio import atomic_path
from matrixcoder.home import home

__all__ = ["RECIPE", "OnnxEncoder"]

# Names the export and quantisation settings; part of the fingerprint and of the file's folder,
# so changing the recipe means a new file and new cache entries.
RECIPE = "onnx-opset17-int8-matmul-perchannel-unbatched-meanpool"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxEncoder:
    """The int8 ONNX form of a mean-pooling sentence-transformers model, exported on first use.

    The file lives at ``home()/encoders/<source fingerprint>-<RECIPE>/model.onnx`` and is written
    atomically, so a crash mid-export leaves nothing behind and the next use exports again.

    Args:
        name: How the user names this encoder.
        source: The torch model it is made from (its folder supplies weights and tokenizer).
        threads: Texts encoded at the same time, each on one core; one per core by default.
    """

    def __init__(self, name: str, source: SentenceEncoder, threads: int | None = None) -> None:
        self.name = name
        self.source = source
        self.threads = threads or os.cpu_count() or 1

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the source's fingerprint and the recipe.

        Not of the exported bytes: the export is not guaranteed byte-identical from run to run,
        and the embedding cache must stay valid when the file is rebuilt.
        """
        return hashlib.sha256(f"{self.source.fingerprint}\0{RECIPE}".encode()).hexdigest()

    @property
    def path(self) -> Path:
        """Where the quantised model is (or will be) stored."""
        return home() / "encoders" / f"{self.source.fingerprint}-{RECIPE}" / "model.onnx"

    @cached_property
    def _session(self):
        import onnxruntime

        if not self.path.is_file():
            _build(self.source, self.path)
        options = onnxruntime.SessionOptions()
        # Parallel over texts, not within one: a single short unpadded text gives intra-op
        # threads too little work (1.12x on 2 cores), while onnxruntime releases the GIL in run().
        options.intra_op_num_threads = 1
        return onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.source.folder / "tokenizer.json"))
        # Truncate where sentence-transformers does, not at the tokenizer file's own limit.
        config = json.loads((self.source.folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        tokenizer.enable_truncation(config["max_seq_length"])
        tokenizer.no_padding()
        return tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in order.

        One text per run, unpadded: dynamic quantisation scales activations over the whole input
        tensor, so in a batch a text's vector would depend on its neighbours and their padding
        (by up to 0.02 a coordinate). Alone it does not, and with no padding to compute it was
        also faster here (482 against 383 units/s in batches of 64).
        """
        vectors = np.empty((len(texts), self._session.get_outputs()[0].shape[-1]), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        with ThreadPoolExecutor(self.threads) as pool:
            for row, vector in enumerate(pool.map(self._embed, encodings)):
                vectors[row] = vector
        return vectors

    def _embed(self, encoding) -> np.ndarray:
        feed = {
            name: np.array([values], dtype=np.int64)
            for name, values in zip(_INPUTS, (encoding.ids, encoding.attention_mask, encoding.type_ids), strict=False)
        }
        # Unpadded, so mean pooling over the attention mask is the mean over all tokens.
        pooled = self._session.run(None, feed)[0][0].mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)


def _build(source: SentenceEncoder, target: Path) -> None:
    """Export ``source``'s transformer to ONNX and quantise it into ``target``, atomically."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class LastHiddenState(torch.nn.Module):
        """The Hugging Face model with positional inputs and a plain tensor output, as the exporter wants."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    transformer = LastHiddenState(source._model[0].auto_model).eval()
    example = torch.ones((2, 8), dtype=torch.long)
    with atomic_path(target) as temporary:
        # The float export only feeds the quantiser; it sits in the scratch folder that
        # atomic_path removes.
        float_model = temporary.with_name("float.onnx")
        with warnings.catch_warnings(), torch.no_grad():
            # Tracer warnings about Python-side shape checks: the batch and sequence axes are
            # declared dynamic below, and the recipe was validated against the torch vectors.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                transformer,
                (example, example, torch.zeros_like(example)),
                str(float_model),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")},
                opset_version=17,
                dynamo=False,
            )
        # The quantiser logs through the root logger advice (pre-processing) that the recipe was
        # measured without; a NullHandler also stops that call from configuring root logging.
        root, level, silent = logging.getLogger(), logging.getLogger().level, logging.NullHandler()
        root.addHandler(silent)
        root.setLevel(logging.ERROR)
        try:
            quantize_dynamic(float_model, temporary, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
        finally:
            root.removeHandler(silent)
            root.setLevel(level)
