"""An lstmcli model as a PyTorch module, and back: ``to_torch`` and ``from_torch``.

Needs the optional extra (``pip install 'lstmcli[torch]'``); nothing else in lstmcli imports
this package. The module is PyTorch's ``examples/word_language_model`` ``RNNModel``, whose
state dict names are the model file's own::

    encoder   nn.Embedding(V, E)
    drop      nn.Dropout(p)                         on the embeddings and before the decoder
    rnn       nn.LSTM(E, H, L, dropout=p)           or nn.RNN(..., nonlinearity="tanh");
                                                    gates i, f, g, o in both engines
    decoder   nn.Linear(H, V)                       its weight *is* encoder.weight when tied

which is lstmcli's model step for step: the same dropout sites (the embeddings, between
layers, before the decoder), the same gate order and biases, so a conversion either way
copies the numbers and changes none of them.

    import lstmcli.checkpoint as C
    from lstmcli.torchbridge import from_torch, to_torch

    ck = C.load("model.safetensors")
    net = to_torch(ck)                       # train it with anything PyTorch has
    C.save("further.safetensors", from_torch(net, like=ck))

For training on several processes or GPUs, ``torchrun -m lstmcli.torchbridge.train``
(:mod:`lstmcli.torchbridge.train`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lstmcli.checkpoint import Checkpoint
from lstmcli.errors import CheckpointError, LstmError
from lstmcli.model import ModelConfig, param_shapes

try:
    import torch
except ImportError:  # pragma: no cover - the extra is missing
    raise LstmError(
        "lstmcli.torchbridge needs PyTorch; install it with: pip install 'lstmcli[torch]'"
    ) from None

__all__ = ["RNNModel", "checkpoint_of", "from_torch", "to_torch"]

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class RNNModel(torch.nn.Module):
    """Embedding → dropout → L-layer LSTM or tanh RNN → dropout → linear decoder.

    ``forward(x, state)``: x (T, B) long ids, time-major; state None (zeros) or what the
    previous window returned — (h, c), each (L, B, H), for the LSTM; h for the RNN.
    Returns logits (T, B, V) and the new state.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        V, E, H, L = cfg.vocab_size, cfg.embed_size, cfg.hidden_size, cfg.num_layers
        self.config = cfg
        self.drop = torch.nn.Dropout(cfg.dropout)
        self.encoder = torch.nn.Embedding(V, E)
        between = cfg.dropout if L > 1 else 0.0  # nn.LSTM's dropout acts between layers
        if cfg.cell == "lstm":
            self.rnn = torch.nn.LSTM(E, H, L, dropout=between)
        else:
            self.rnn = torch.nn.RNN(E, H, L, nonlinearity="tanh", dropout=between)
        self.decoder = torch.nn.Linear(H, V)
        if cfg.tie_weights:  # one tensor under two names, as in the state dict
            self.decoder.weight = self.encoder.weight
        self.to(TORCH_DTYPES[cfg.dtype])

    def forward(self, x: torch.Tensor, state=None):
        emb = self.drop(self.encoder(x))  # (T, B, E)
        out, state = self.rnn(emb, state)  # (T, B, H)
        return self.decoder(self.drop(out)), state  # (T, B, V)


def checkpoint_of(model) -> Checkpoint:
    """The :class:`~lstmcli.checkpoint.Checkpoint` behind ``model``: a checkpoint, a model
    file's path, an :class:`lstmcli.Model` or a :class:`~lstmcli.predict.Predictor`."""
    if isinstance(model, Checkpoint):
        return model
    if isinstance(model, str | os.PathLike):
        from lstmcli import checkpoint

        return checkpoint.load(Path(model))
    predictor = getattr(model, "predictor", model)  # lstmcli.Model wraps a Predictor
    ck = getattr(predictor, "ckpt", None)
    if isinstance(ck, Checkpoint):
        return ck
    raise LstmError(
        f"expected an lstmcli model (a Checkpoint, lstmcli.Model or a .safetensors path), "
        f"got {type(model).__name__}"
    )


def to_torch(model, device: str | torch.device | None = None) -> RNNModel:
    """An :class:`RNNModel` holding exactly the weights of ``model`` (see
    :func:`checkpoint_of`), in the model's dtype, on ``device`` (default: the CPU)."""
    ck = checkpoint_of(model)
    net = RNNModel(ck.config)
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in ck.params.items()}
    if ck.config.tie_weights:
        state["decoder.weight"] = state["encoder.weight"]
    net.load_state_dict(state, strict=True)
    return net.to(device) if device is not None else net


def _unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel (or DataParallel) wrapper."""
    while isinstance(module, torch.nn.parallel.DistributedDataParallel | torch.nn.DataParallel):
        module = module.module
    return module


def from_torch(
    module: torch.nn.Module,
    like,
    *,
    train: dict | None = None,
    history: list[dict] | None = None,
) -> Checkpoint:
    """The lstmcli model of ``module``'s weights, with ``like``'s metadata: its config,
    vocabulary, tokenizer (spec and versions), example line, and training record and
    history unless ``train`` / ``history`` replace them. Save it with
    :func:`lstmcli.checkpoint.save`.

    ``module`` is an :class:`RNNModel` or any module with the same state dict names and
    shapes (a DDP wrapper is looked through); CheckpointError when it does not match.
    """
    ck = checkpoint_of(like)
    cfg = ck.config
    sd = _unwrap(module).state_dict()
    shapes = param_shapes(cfg)
    allowed = set(shapes) | ({"decoder.weight"} if cfg.tie_weights else set())
    extra = sorted(set(sd) - allowed)
    if extra:
        raise CheckpointError(
            f"the torch module has a tensor {extra[0]!r} the model does not; "
            "it is not a word_language_model RNNModel of this model"
        )
    dt = np.dtype(cfg.dtype)
    params = {}
    for name, shape in shapes.items():
        if name not in sd:
            raise CheckpointError(f"the torch module lacks tensor {name!r}; it is not this model")
        t = sd[name].detach()
        if tuple(t.shape) != shape:
            raise CheckpointError(
                f"tensor {name!r} of the torch module has shape {tuple(t.shape)}, "
                f"the model needs {shape}"
            )
        params[name] = t.cpu().numpy().astype(dt, copy=True)
        if not np.isfinite(params[name]).all():
            raise CheckpointError(f"tensor {name!r} of the torch module holds NaN or inf values")
    tied = cfg.tie_weights and "decoder.weight" in sd
    if tied and not torch.equal(sd["decoder.weight"].cpu(), sd["encoder.weight"].cpu()):
        raise CheckpointError(
            "the model is tied but the module's decoder.weight differs from encoder.weight"
        )
    return Checkpoint(
        config=cfg,
        params=params,
        vocab=list(ck.vocab),
        tokenizer=dict(ck.tokenizer),
        train=dict(ck.train) if train is None else train,
        history=list(ck.history) if history is None else history,
        example=ck.example,
    )
