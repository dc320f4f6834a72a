"""The paper's models as batched ensembles: K members in one module, every parameter K x ...

- `MLPEnsemble`: input (flattened) -> H -> ... -> H -> classes, ReLU (PAPER.md "Models and
  training"). Weights are stacked K x in x out and applied with bmm; an input shared by all
  members (B x D) is broadcast by `torch.matmul`, never copied K times. It also has a hand-written
  training step (`sgd_step`): forward, backward and an in-place SGD update fused into
  `baddbmm_(alpha=-lr)` on the weights, the engine's fast path.
- `CNNEnsemble`: the paper's CIFAR-10 CNN: crop 2 px per side of 32 x 32 images, then
  [conv 200 5x5 (padding 2) -> BN -> ReLU -> maxpool 3x3 stride 3 (ceil mode, so 8 x 8 digits
  work too)] x 2 -> dense 384 -> BN -> ReLU -> dense 192 -> BN -> ReLU -> dense classes;
  channels and units scaled by `width_mult`. Members are batched as one grouped convolution
  (groups=K, channels member-major) and per-member BatchNorm over K*C channels; a shared input
  uses a plain convolution with all K*C output channels (no K-fold copy). Measured on CPU
  (1 thread, K=8, batch 32, forward + backward): torch.func.vmap over the members was slowest;
  a Python loop over members was ~25% faster than the grouped convolution for the 3-channel first
  layer and ~10% slower for the second. We keep the grouped convolution: no loop over members,
  and cuDNN runs grouped convolutions well on GPUs.

Initialisation is PyTorch's nn.Linear / nn.Conv2d default (weight and bias uniform in
+-1/sqrt(fan_in)), drawn for member k from a generator seeded with seed + k, so member k of a
K-member ensemble equals a 1-member ensemble built with seed + k.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memcore.spec import ModelSpec

Hidden = Callable[[Tensor], Tensor] | None  # applied to every hidden activation (regularizers)


def member_seeds(seed: int | Sequence[int], members: int) -> list[int]:
    """Member k's initialisation seed: seed + k, or seed[k] when one seed per member is given
    (a batched run of several specs: engine.batching)."""
    if isinstance(seed, int):
        return [seed + k for k in range(members)]
    if len(seed) != members:
        raise ValueError(f"{len(seed)} member seeds given for {members} members")
    return [int(sd) for sd in seed]


def _uniform_init(shape: tuple[int, ...], fan_in: int, gen: torch.Generator) -> Tensor:
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return torch.empty(shape).uniform_(-bound, bound, generator=gen)


class Ensemble(nn.Module):
    """K models with stacked parameters; `forward(x)` -> logits K x B x C.

    x is shared (B x *input_shape) or per member (K x B x *input_shape). `hidden`, when given,
    is applied to every hidden activation after its ReLU (dropout, hidden noise)."""

    members: int
    input_shape: tuple[int, ...]
    n_classes: int

    def weight_params(self) -> list[Tensor]:
        """Parameters that weight decay and the fast SGD step act on (all of them)."""
        return list(self.parameters())


class MLPEnsemble(Ensemble):
    def __init__(self, input_shape, n_classes: int, width: int, depth: int, members: int, seed):
        super().__init__()
        self.members, self.input_shape, self.n_classes = members, tuple(input_shape), n_classes
        d_in = math.prod(self.input_shape)
        self.sizes = [d_in] + [width] * depth + [n_classes]
        gens = [torch.Generator().manual_seed(sd) for sd in member_seeds(seed, members)]
        ws, bs = [], []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w, b = [], []
            for g in gens:  # nn.Linear order: weight (out x in), then bias
                w.append(_uniform_init((fan_out, fan_in), fan_in, g).t())
                b.append(_uniform_init((fan_out,), fan_in, g))
            ws.append(nn.Parameter(torch.stack(w).contiguous()))  # K x in x out
            bs.append(nn.Parameter(torch.stack(b)))  # K x out
        self.weights, self.biases = nn.ParameterList(ws), nn.ParameterList(bs)
        self._bufs: dict[tuple, list[Tensor]] = {}

    def forward(self, x: Tensor, hidden: Hidden = None) -> Tensor:
        if x.dim() in (2, 3) and x.shape[-1] == self.sizes[0]:  # already flat: B x D, K x B x D
            shared = x.dim() == 2
        else:
            shared = x.dim() == len(self.input_shape) + 1
        a = x.reshape(x.shape[0], -1) if shared else x.reshape(x.shape[0], x.shape[1], -1)
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            # matmul broadcasts a shared B x D input against K x D x H without a K-fold copy
            if a.dim() == 2:
                a = torch.matmul(a, w) + b.unsqueeze(1)
            else:
                a = torch.baddbmm(b.unsqueeze(1), a, w)
            if i < n - 1:
                a = torch.relu(a)
                if hidden is not None:
                    a = hidden(a)
        return a

    @torch.no_grad()
    def sgd_step(
        self,
        x_KxBxD: Tensor,
        y_KxB: Tensor,
        *,
        lr: float,
        momentum: float = 0.0,
        bufs: list[Tensor] | None = None,
        decay_K: Tensor | None = None,
        hidden: Callable[[Tensor], tuple[Tensor, Tensor | None]] | None = None,
        example_w: Tensor | None = None,
    ) -> None:
        """One SGD step on each member's mean cross-entropy, by hand, updating in place.

        hidden(a) -> (a', mult) applies a regularizer to a hidden activation and returns the
        factor its gradient is multiplied by (a dropout mask) or None (additive noise).
        example_w (B) weights each example's loss instead of 1/B (adversarial training).
        decay_K: per-member L2 coefficient (grad += decay * param, like torch.optim.SGD).
        bufs: momentum buffers like self.parameters() (weights then biases), updated in place.
        """
        K, B = y_KxB.shape
        # acts: each layer's input; relus: hidden ReLU outputs (before a regularizer), whose
        # positive entries pass the gradient; masks: dropout factors (None: nothing to apply)
        acts, relus, masks = [x_KxBxD], [], []
        n = len(self.weights)
        a = x_KxBxD
        for i in range(n):
            z = torch.baddbmm(self.biases[i].unsqueeze(1), a, self.weights[i])
            if i == n - 1:
                a = z
                break
            a = z.relu_()
            relus.append(a)
            m = None
            if hidden is not None:
                a, m = hidden(a)
            acts.append(a)
            masks.append(m)
        # dL/dlogits of mean CE: (softmax - onehot) / B, written into the logits buffer
        delta = torch.softmax(a, dim=-1)
        delta.scatter_add_(2, y_KxB.unsqueeze(2), delta.new_full((K, B, 1), -1.0))
        if example_w is None:
            delta.mul_(1.0 / B)
        else:
            delta.mul_(example_w.view(1, -1, 1))
        # (1 - lr*wd) p - lr g == p - lr (g + wd p): shrink, then the fused update
        shrink = 1.0 - lr * decay_K if decay_K is not None and momentum == 0 else None
        for i in reversed(range(n)):
            w, b = self.weights[i], self.biases[i]
            a_prev = acts[i]
            nxt = None
            if i > 0:  # the backward signal must use the weights before this step's update
                g = torch.bmm(delta, w.transpose(1, 2))
                # ReLU backward in one kernel (g where relu > 0, else 0), as autograd does
                nxt = torch.ops.aten.threshold_backward(g, relus[i - 1], 0)
                if masks[i - 1] is not None:
                    nxt.mul_(masks[i - 1])
            gb = delta.sum(1)
            if momentum == 0:
                if shrink is not None:  # after nxt: the backward used the old weights
                    w.mul_(shrink.view(-1, 1, 1))
                    b.mul_(shrink.view(-1, 1))
                w.baddbmm_(a_prev.transpose(1, 2), delta, alpha=-lr)
                b.add_(gb, alpha=-lr)
            else:
                vw, vb = bufs[i], bufs[n + i]
                # v = m v + g in one pass: the gemm scales the buffer (beta) as it accumulates
                vw.baddbmm_(a_prev.transpose(1, 2), delta, beta=momentum)
                vb.mul_(momentum).add_(gb)
                if decay_K is not None:
                    vw.addcmul_(w, decay_K.view(-1, 1, 1))
                    vb.addcmul_(b, decay_K.view(-1, 1))
                w.add_(vw, alpha=-lr)
                b.add_(vb, alpha=-lr)
            delta = nxt

    def param_order(self) -> list[Tensor]:
        """Parameters in self.parameters() order: weights then biases."""
        return list(self.parameters())


class CNNEnsemble(Ensemble):
    def __init__(self, input_shape, n_classes: int, width_mult: float, members: int, seed):
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(
                f"model.arch='cnn' needs image data (C x H x W), got input shape {input_shape}"
            )
        self.members, self.input_shape, self.n_classes = members, tuple(input_shape), n_classes
        c, h, w = input_shape
        self.crop = 2 if (h, w) == (32, 32) else 0  # the paper's 28 x 28 crop of CIFAR-10
        h, w = h - 2 * self.crop, w - 2 * self.crop
        ch = max(1, round(200 * width_mult))
        d1, d2 = max(1, round(384 * width_mult)), max(1, round(192 * width_mult))
        self.channels = [c, ch, ch]
        if min(h, w) < 7:
            raise ValueError(
                f"model.arch='cnn' needs images of side >= 7 (after cropping), got {input_shape}"
            )
        for _ in range(2):  # 3 x 3 max-pool, stride 3, ceil mode
            h, w = math.ceil((h - 3) / 3) + 1, math.ceil((w - 3) / 3) + 1
        self.flat = ch * h * w
        dense = [self.flat, d1, d2, n_classes]
        gens = [torch.Generator().manual_seed(sd) for sd in member_seeds(seed, members)]
        convs_w, convs_b, dense_w, dense_b = [], [], [], []
        for g in gens:  # member-major: all of member k's layers from its own generator
            cw, cb, dw, db = [], [], [], []
            for cin, cout in zip(self.channels[:-1], self.channels[1:], strict=True):
                cw.append(_uniform_init((cout, cin, 5, 5), cin * 25, g))
                cb.append(_uniform_init((cout,), cin * 25, g))
            for fi, fo in zip(dense[:-1], dense[1:], strict=True):
                dw.append(_uniform_init((fo, fi), fi, g).t())
                db.append(_uniform_init((fo,), fi, g))
            convs_w.append(cw), convs_b.append(cb), dense_w.append(dw), dense_b.append(db)

        def stack(per_member, i):
            return nn.Parameter(torch.stack([m[i] for m in per_member]).contiguous())

        self.conv_w = nn.ParameterList([stack(convs_w, i) for i in range(2)])  # K x out x in x 5x5
        self.conv_b = nn.ParameterList([stack(convs_b, i) for i in range(2)])
        self.dense_w = nn.ParameterList([stack(dense_w, i) for i in range(3)])  # K x in x out
        self.dense_b = nn.ParameterList([stack(dense_b, i) for i in range(3)])
        bn = [ch, ch, d1, d2]
        self.bn_w = nn.ParameterList([nn.Parameter(torch.ones(members, n)) for n in bn])
        self.bn_b = nn.ParameterList([nn.Parameter(torch.zeros(members, n)) for n in bn])
        for i, n in enumerate(bn):
            self.register_buffer(f"bn_mean{i}", torch.zeros(members * n))
            self.register_buffer(f"bn_var{i}", torch.ones(members * n))

    def _bn(self, i: int, x: Tensor) -> Tensor:
        """Per-member BatchNorm: x is B x (K*C) [x H x W], channels member-major."""
        return F.batch_norm(
            x,
            getattr(self, f"bn_mean{i}"),
            getattr(self, f"bn_var{i}"),
            self.bn_w[i].reshape(-1),
            self.bn_b[i].reshape(-1),
            training=self.training,
        )

    def forward(self, x: Tensor, hidden: Hidden = None) -> Tensor:
        K = self.members
        shared = x.dim() == 4
        if self.crop:
            x = x[..., self.crop : -self.crop, self.crop : -self.crop]
        for i in range(2):
            w = self.conv_w[i].reshape(-1, *self.conv_w[i].shape[2:])  # (K*out) x in x 5 x 5
            if i == 0 and shared:
                h = F.conv2d(x, w, self.conv_b[i].reshape(-1), padding=2)
            else:
                if i == 0:  # K x B x C x H x W -> B x (K*C) x H x W, member-major channels
                    x = x.transpose(0, 1).reshape(x.shape[1], -1, *x.shape[3:])
                h = F.conv2d(x, w, self.conv_b[i].reshape(-1), padding=2, groups=K)
            h = F.max_pool2d(torch.relu(self._bn(i, h)), 3, 3, ceil_mode=True)
            if hidden is not None:  # regularizers see K x B x C x H x W
                B, _, hh, ww = h.shape
                h = hidden(h.view(B, K, -1, hh, ww).transpose(0, 1)).transpose(0, 1)
                h = h.reshape(B, -1, hh, ww)
            x = h
        B = x.shape[0]
        a = x.reshape(B, K, self.flat).transpose(0, 1)  # K x B x F
        for i in range(3):
            a = torch.baddbmm(self.dense_b[i].unsqueeze(1), a, self.dense_w[i])
            if i < 2:
                a = self._bn(2 + i, a.transpose(0, 1).reshape(B, -1)).view(B, K, -1)
                a = torch.relu(a).transpose(0, 1)
                if hidden is not None:
                    a = hidden(a)
        return a


def build(
    model: ModelSpec,
    input_shape: tuple[int, ...],
    n_classes: int,
    members: int,
    seed: int | Sequence[int],
    device: torch.device | str = "cpu",
) -> Ensemble:
    """The spec's ensemble on `device`; member k initialised from a generator seeded seed + k
    (or seed[k]: `member_seeds`)."""
    if model.arch == "mlp":
        net: Ensemble = MLPEnsemble(input_shape, n_classes, model.width, model.depth, members, seed)
    elif model.arch == "cnn":
        net = CNNEnsemble(input_shape, n_classes, model.width_mult, members, seed)
    else:  # pragma: no cover - the spec validates arch
        raise ValueError(f"model.arch={model.arch!r} is invalid")
    return net.to(device)
