"""`vae.torch.to_module(dir)`: a run's model as a `torch.nn.Module`, its weights loaded from
`model.safetensors` under the same module paths (`encoder.hidden.0.weight`, ...), strictly.

It builds the VAE, the conditional VAE, the autoencoder, GAN and DCGAN from their layer lists
(dense, convolution, transposed convolution, batch normalization, ReLU, Leaky ReLU, tanh,
softplus, flatten, reshape). Images are channel-last, as the toolkit stores them: `[n, height,
width, channels]` (or `[n, pixels]`); convolutions and batch normalization over images see them
permuted to PyTorch's `[n, channels, height, width]` and back. M2, two stochastic layers and M1 +
M2 are refused with a clear error. Needs torch (imported here only)."""

import json
import os
import struct
from typing import Any, Dict, List, Tuple

import numpy as np

from .errors import BadFileError, InvalidInputError, NotFoundError

_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def _read_safetensors(path: str) -> Dict[str, np.ndarray]:
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise BadFileError(f"{path}: too short for a safetensors file")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise BadFileError(f"{path}: header of {size} bytes in a {len(data)}-byte file")
    header = json.loads(data[8 : 8 + size])
    body = memoryview(data)[8 + size :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise BadFileError(f"{path}: tensor {name} has dtype {info['dtype']}")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors


def to_module(directory: "os.PathLike[str] | str"):
    """The model of the run in `directory` as a `torch.nn.Module` in evaluation mode with
    `encode(x, y=None) -> (mean, log_var)`, `decode(z, y=None) -> images` (the decoder's means) and
    `forward(x, y=None) -> (reconstruction, mean, log_var)` through the mean; a GAN's with
    `decode(z)` (the generator's images), `discriminate(x)` (the discriminator's logits) and
    `forward(z)` = `decode(z)`; a VAE-GAN's with `encode(x)`, `decode(z)`, `discriminate(x)`,
    `features(x)` (Dis_l, the discriminator's layer list) and `forward(x)` as a VAE's."""
    import torch

    directory = os.fspath(directory)
    config_path = os.path.join(directory, "config.json")
    if not os.path.isfile(config_path):
        raise NotFoundError(f"{config_path}: no such file (is {directory} a run directory?)")
    with open(config_path) as f:
        config = json.load(f)
    model = config.get("model", {})
    adversarial = ("gan", "dcgan", "vae-gan")
    if model.get("kind") not in ("vae", "ae") + adversarial or model.get("top") or model.get("features"):
        raise InvalidInputError(
            "vae.torch.to_module builds the VAE, the conditional VAE, the autoencoder, GAN, DCGAN and VAE-GAN; "
            f"this run's model is {model.get('kind')}"
            + (" with two stochastic layers" if model.get("top") else "")
            + (" on M1's codes" if model.get("features") else "")
        )
    tensors = _read_safetensors(os.path.join(directory, "model.safetensors"))
    module = (_Gan if model["kind"] in adversarial else _Model)(model, tensors)
    state = {name: torch.from_numpy(value) for name, value in tensors.items()}
    module.load_state_dict(state, strict=True)
    return module.eval()


def _out_shape(spec: dict, shape: Tuple[int, ...]) -> Tuple[int, ...]:
    kind = spec["type"]
    if kind == "linear":
        return (spec["out"],)
    if kind == "flatten":
        return (int(np.prod(shape)),)
    if kind == "reshape":
        return tuple(spec["shape"])
    if kind in ("conv2d", "conv_transpose2d"):
        h, w, _ = shape
        k, s, p = spec["kernel"], spec.get("stride", 1), spec.get("padding", 0)
        if kind == "conv2d":
            return ((h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1, spec["out"])
        o = spec.get("output_padding", 0)
        return ((h - 1) * s - 2 * p + k + o, (w - 1) * s - 2 * p + k + o, spec["out"])
    return shape


def _reads_image(layers) -> bool:
    for spec in layers:
        if spec["type"] in ("conv2d", "conv_transpose2d"):
            return True
        if spec["type"] == "linear":
            return False
    return False


def _place(root, path: str, module) -> None:
    from torch import nn

    parts = path.split(".")
    for part in parts[:-1]:
        if not hasattr(root, part):
            root.add_module(part, nn.Module())
        root = getattr(root, part)
    root.add_module(parts[-1], module)


def _build(root, layers, shape):
    """The steps of a layer list reading `shape`, its modules placed under `root` with the
    toolkit's names (the N-th layer with weights is `hidden.N` unless named); the output shape."""
    from torch import nn

    steps: List[Tuple[str, Any]] = []
    weighted = 0
    for spec in layers:
        kind = spec["type"]
        out = _out_shape(spec, shape)
        if kind in ("linear", "conv2d", "conv_transpose2d", "batch_norm"):
            name = spec.get("name") or f"hidden.{weighted}"
            weighted += 1
            layer: Any
            if kind == "linear":
                layer = nn.Linear(int(np.prod(shape)), spec["out"])
            elif kind == "conv2d":
                layer = nn.Conv2d(shape[2], spec["out"], spec["kernel"], spec.get("stride", 1), spec.get("padding", 0))
            elif kind == "conv_transpose2d":
                layer = nn.ConvTranspose2d(
                    shape[2], spec["out"], spec["kernel"], spec.get("stride", 1),
                    spec.get("padding", 0), spec.get("output_padding", 0),
                )
            elif len(shape) == 3:
                layer = nn.BatchNorm2d(shape[2])
            else:
                layer = nn.BatchNorm1d(shape[-1])
            _place(root, name, layer)
            steps.append((kind, layer))
        elif kind in ("relu", "tanh", "softplus"):
            steps.append((kind, None))
        elif kind == "leaky_relu":
            steps.append((kind, spec["slope"]))
        elif kind == "reshape":
            steps.append(("reshape", tuple(spec["shape"])))
        elif kind == "flatten":
            steps.append(("flatten", None))
        shape = out
    return steps, shape


def _run(steps, x):
    import torch
    import torch.nn.functional as F

    for kind, what in steps:
        if kind == "linear":
            x = what(x.reshape(x.shape[0], -1))
        elif kind in ("conv2d", "conv_transpose2d") or (kind == "batch_norm" and x.dim() == 4):
            x = what(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        elif kind == "batch_norm":
            x = what(x)
        elif kind == "relu":
            x = F.relu(x)
        elif kind == "leaky_relu":
            x = F.leaky_relu(x, what)
        elif kind == "tanh":
            x = torch.tanh(x)
        elif kind == "softplus":
            x = F.softplus(x)
        elif kind == "reshape":
            x = x.reshape((x.shape[0],) + what)
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
    return x


def _Gan(model: dict, tensors: Dict[str, np.ndarray]):
    import torch
    from torch import nn

    image = model["image"]
    h, w, c = image["height"], image["width"], image["channels"]

    # A VAE-GAN's generator is its decoder, beside an encoder.
    encoded = model["kind"] == "vae-gan"
    generator = "decoder" if encoded else "generator"

    class Gan(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module(generator, nn.Module())
            self.discriminator = nn.Module()
            self.g_steps, body = _build(getattr(self, generator), model["decoder"], (model["latent"],))
            if f"{generator}.output.weight" in tensors:
                _place(getattr(self, generator), "output", nn.Linear(int(np.prod(body)), h * w * c))
            if encoded:
                self.encoder = nn.Module()
                shape = (h, w, c) if _reads_image(model["encoder"]) else (h * w * c,)
                self.enc_steps, body = _build(self.encoder, model["encoder"], shape)
                for head in ("mean", "log_var"):
                    _place(self.encoder, head, nn.Linear(int(np.prod(body)), model["latent"]))
            layers = model["discriminator"]
            shape = (h, w, c) if _reads_image(layers) else (h * w * c,)
            self.d_steps, body = _build(self.discriminator, layers, shape)
            if "discriminator.output.weight" in tensors:
                _place(self.discriminator, "output", nn.Linear(int(np.prod(body)), 1))

        def decode(self, z):
            z = torch.as_tensor(z, dtype=torch.float32)
            n = z.shape[0]
            body = _run(self.g_steps, z).reshape(n, -1)
            if hasattr(getattr(self, generator), "output"):
                body = getattr(self, generator).output(body)
            return torch.sigmoid(body).reshape((n, h, w) if c == 1 else (n, h, w, c))

        def features(self, x):
            x = torch.as_tensor(x, dtype=torch.float32)
            n = x.shape[0]
            x = x.reshape((n, h, w, c) if _reads_image(model["discriminator"]) else (n, -1))
            return _run(self.d_steps, x).reshape(n, -1)

        def discriminate(self, x):
            body = self.features(x)
            if hasattr(self.discriminator, "output"):
                body = self.discriminator.output(body)
            return body.reshape(body.shape[0])

        def encode(self, x):
            if not encoded:
                raise InvalidInputError("a GAN has no encoder")
            x = torch.as_tensor(x, dtype=torch.float32)
            n = x.shape[0]
            x = x.reshape((n, h, w, c) if _reads_image(model["encoder"]) else (n, -1))
            body = _run(self.enc_steps, x).reshape(n, -1)
            return self.encoder.mean(body), self.encoder.log_var(body)

        def forward(self, x):
            if not encoded:
                return self.decode(x)
            mean, log_var = self.encode(x)
            return self.decode(mean), mean, log_var

    return Gan()


def _Model(model: dict, tensors: Dict[str, np.ndarray]):
    import torch
    from torch import nn
    import torch.nn.functional as F

    image = model["image"]
    h, w, c = image["height"], image["width"], image["channels"]
    classes, latent = model["classes"], model["latent"]

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Module()
            self.decoder = nn.Module()
            self.image_reader = _reads_image(model["encoder"])
            enc_in = (h, w, c + classes) if self.image_reader else (h * w * c + classes,)
            self.enc_steps, body = _build(self.encoder, model["encoder"], enc_in)
            width = int(np.prod(body))
            heads = ["code"] if model["kind"] == "ae" else ["mean", "log_var"]
            for head in heads:
                _place(self.encoder, head, nn.Linear(width, latent))
            self.dec_steps, body = _build(self.decoder, model["decoder"], (latent + classes,))
            if "decoder.output.weight" in tensors:
                _place(self.decoder, "output", nn.Linear(int(np.prod(body)), h * w * c))
            if "decoder.log_var" in tensors:
                self.decoder.register_parameter("log_var", nn.Parameter(torch.zeros(tensors["decoder.log_var"].shape)))

        def _one_hot(self, y, n):
            if classes == 0:
                return None
            if y is None:
                raise InvalidInputError("this conditional model needs a label per row")
            return F.one_hot(torch.as_tensor(y, dtype=torch.long), classes).to(torch.float32).reshape(n, classes)

        def encode(self, x, y=None):
            x = torch.as_tensor(x, dtype=torch.float32)
            n = x.shape[0]
            onehot = self._one_hot(y, n)
            if self.image_reader:
                x = x.reshape(n, h, w, c)
                if onehot is not None:
                    x = torch.cat([x, onehot[:, None, None, :].expand(n, h, w, classes)], dim=3)
            else:
                x = x.reshape(n, -1)
                if onehot is not None:
                    x = torch.cat([x, onehot], dim=1)
            body = _run(self.enc_steps, x).reshape(n, -1)
            if model["kind"] == "ae":
                code = self.encoder.code(body)
                return code, torch.full_like(code, float("-inf"))
            return self.encoder.mean(body), self.encoder.log_var(body)

        def decode(self, z, y=None):
            z = torch.as_tensor(z, dtype=torch.float32)
            n = z.shape[0]
            onehot = self._one_hot(y, n)
            if onehot is not None:
                z = torch.cat([z, onehot], dim=1)
            body = _run(self.dec_steps, z).reshape(n, -1)
            if hasattr(self.decoder, "output"):
                body = self.decoder.output(body)
            return torch.sigmoid(body).reshape((n, h, w) if c == 1 else (n, h, w, c))

        def forward(self, x, y=None):
            mean, log_var = self.encode(x, y)
            return self.decode(mean, y), mean, log_var

    return Model()
