"""The towers as OpenVINO graphs, made from the weights file's tensors with OpenVINO's own graph
API: no torch, no open_clip, no export step. Each op says what open_clip's module computes;
core/model/family.py says which modules a model has."""

from __future__ import annotations

import numpy as np

from core.model.family import Encoder, Text, Vision
from core.model.weightsfile import WeightsFile
from core.thirdparty import openvino, openvino_ops


class Graph:
    """Constants from one weights file, and the ops both towers are made of."""

    def __init__(self, weights: WeightsFile):
        self.w, self.ops = weights, openvino_ops()

    def const(self, value) -> object:
        return self.ops.constant(np.ascontiguousarray(value, np.float32))

    def ints(self, values) -> object:
        return self.ops.constant(np.asarray(values, np.int64))

    def tensor(self, name: str) -> object:
        return self.const(self.w[name])

    def linear(self, x, name: str, bias: bool = True):
        """torch's Linear: x · Wᵀ + b, W as [out, in]."""
        y = self.ops.matmul(x, self.tensor(name + ".weight"), False, True)
        if bias and name + ".bias" in self.w:
            y = self.ops.add(y, self.tensor(name + ".bias"))
        return y

    def layer_norm(self, x, name: str, eps: float):
        n = self.ops.mvn(x, self.ints([-1]), True, eps, "inside_sqrt")
        return self.ops.add(self.ops.multiply(n, self.tensor(name + ".weight")),
                            self.tensor(name + ".bias"))

    def act(self, x, kind: str):
        if kind == "quick":  # open_clip's QuickGELU
            return self.ops.multiply(x, self.ops.sigmoid(self.ops.multiply(x, self.const(1.702))))
        return self.ops.gelu(x, "tanh" if kind == "tanh" else "erf")

    def heads(self, x, heads: int, head_dim: int):
        """[B, N, H·d] → [B, H, N, d]."""
        x = self.ops.reshape(x, self.ints([0, 0, heads, head_dim]), True)
        return self.ops.transpose(x, self.ints([0, 2, 1, 3]))

    def merge_heads(self, x, width: int):
        """[B, H, N, d] → [B, N, H·d]."""
        x = self.ops.transpose(x, self.ints([0, 2, 1, 3]))
        return self.ops.reshape(x, self.ints([0, 0, width]), True)

    def attention(self, q, k, v, head_dim: int, causal: bool = False):
        """softmax(q·kᵀ/√d [+ the causal mask]) · v; q may have a batch of one (broadcast)."""
        scores = self.ops.multiply(self.ops.matmul(q, k, False, True),
                                   self.const(head_dim ** -0.5))
        if causal:
            n = self.ops.gather(self.ops.shape_of(k), self.ints([2]), self.ints(0))
            rows = self.ops.range(self.ints(0), self.ops.squeeze(n, self.ints([0])),
                                  self.ints(1), "i64")
            above = self.ops.greater(self.ops.unsqueeze(rows, self.ints([0])),
                                     self.ops.unsqueeze(rows, self.ints([1])))
            scores = self.ops.select(above, self.const(-np.inf), scores)
        return self.ops.matmul(self.ops.softmax(scores, -1), v, False, False)

    def block(self, x, enc: Encoder, i: int):
        """One pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)) (layer scale if any)."""
        p = f"{enc.prefix}{i}."
        timm = enc.naming == "timm"
        n1, n2 = ("norm1", "norm2") if timm else ("ln_1", "ln_2")
        d = enc.width // enc.heads
        h = self.layer_norm(x, p + n1, enc.eps)
        if timm:
            qkv = self.linear(h, p + "attn.qkv")
        else:
            qkv = self.ops.add(self.ops.matmul(h, self.tensor(p + "attn.in_proj_weight"), False,
                                               True), self.tensor(p + "attn.in_proj_bias"))
        qkv = self.ops.reshape(qkv, self.ints([0, 0, 3, enc.heads, d]), True)
        qkv = self.ops.transpose(qkv, self.ints([2, 0, 3, 1, 4]))  # [3, B, H, N, d]
        q, k, v = (self.ops.squeeze(self.ops.gather(qkv, self.ints([j]), self.ints(0)),
                                    self.ints([0])) for j in range(3))
        h = self.merge_heads(self.attention(q, k, v, d, enc.causal), enc.width)
        h = self.linear(h, p + ("attn.proj" if timm else "attn.out_proj"))
        x = self.ops.add(x, self._scaled(h, p + ("ls1" if timm else "ls_1")))
        h = self.layer_norm(x, p + n2, enc.eps)
        fc1, fc2 = ("mlp.fc1", "mlp.fc2") if timm else ("mlp.c_fc", "mlp.c_proj")
        h = self.linear(self.act(self.linear(h, p + fc1), enc.act), p + fc2)
        return self.ops.add(x, self._scaled(h, p + ("ls2" if timm else "ls_2")))

    def _scaled(self, h, name: str):
        gamma = name + ".gamma"
        return self.ops.multiply(h, self.tensor(gamma)) if gamma in self.w else h

    def encoder(self, x, enc: Encoder):
        for i in range(enc.layers):
            x = self.block(x, enc, i)
        return x

    def take(self, x, index: int, axis: int = 1):
        """x[:, index] (one position along `axis`, that axis gone)."""
        return self.ops.gather(x, self.ints(index), self.ints(axis))


def image_tower(weights: WeightsFile, v: Vision):
    """[B, 3, S, S] float32 pictures (normalised as preprocessing leaves them) → [B, E]."""
    g = Graph(weights)
    ops, p = g.ops, v.prefix
    pixels = ops.parameter([-1, 3, v.image_size, v.image_size], np.float32, name="pixels")
    conv = "conv1.weight" if v.kind == "open_clip" else "patch_embed.proj.weight"
    x = ops.convolution(pixels, g.tensor(p + conv), [v.patch, v.patch], [0, 0], [0, 0], [1, 1])
    if v.kind == "timm":
        x = ops.add(x, ops.reshape(g.tensor(p + "patch_embed.proj.bias"),
                                   g.ints([1, -1, 1, 1]), False))
    x = ops.transpose(ops.reshape(x, g.ints([0, v.encoder.width, -1]), True), g.ints([0, 2, 1]))
    if v.kind == "open_clip":
        batch = ops.gather(ops.shape_of(pixels), g.ints([0]), g.ints(0))
        cls = ops.broadcast(g.const(weights[p + "class_embedding"][None, None, :]),
                            ops.concat([batch, g.ints([1, v.encoder.width])], 0))
        x = ops.concat([cls, x], 1)
        x = ops.add(x, g.tensor(p + "positional_embedding"))
        if p + "ln_pre.weight" in weights:
            x = g.layer_norm(x, p + "ln_pre", v.encoder.eps)
        x = g.encoder(x, v.encoder)
        x = g.layer_norm(g.take(x, 0), p + "ln_post", v.encoder.eps)
        out = ops.matmul(x, g.tensor(p + "proj"), False, False)
    else:
        x = ops.add(x, g.tensor(p + "pos_embed"))
        if p + "norm_pre.weight" in weights:
            x = g.layer_norm(x, p + "norm_pre", v.encoder.eps)
        x = g.layer_norm(g.encoder(x, v.encoder), p + "norm", v.encoder.eps)
        out = _attention_pool(g, x, v) if v.pool == "map" else ops.reduce_mean(x, g.ints([1]),
                                                                                False)
        if "visual.head.proj.weight" in weights:  # open_clip's TimmModel projection
            out = g.linear(out, "visual.head.proj")
    return _model(ops, out, [pixels], "image")


def _attention_pool(g: Graph, x, v: Vision):
    """timm's AttentionPoolLatent: a learnt query attends to the tokens, then an MLP."""
    ops, p, enc = g.ops, v.prefix + "attn_pool.", v.encoder
    d = enc.width // enc.heads
    q = g.heads(g.linear(g.tensor(p + "latent"), p + "q"), enc.heads, d)  # [1, H, L, d]
    kv = ops.reshape(g.linear(x, p + "kv"), g.ints([0, 0, 2, enc.heads, d]), True)
    kv = ops.transpose(kv, g.ints([2, 0, 3, 1, 4]))  # [2, B, H, N, d]
    k, val = (ops.squeeze(ops.gather(kv, g.ints([j]), g.ints(0)), g.ints([0])) for j in (0, 1))
    h = g.linear(g.merge_heads(g.attention(q, k, val, d), enc.width), p + "proj")
    mlp = g.linear(g.act(g.linear(g.layer_norm(h, p + "norm", enc.eps), p + "mlp.fc1"),
                         enc.act), p + "mlp.fc2")
    return g.take(ops.add(h, mlp), 0)


def text_tower(weights: WeightsFile, t: Text):
    """The text tower after its token embedding: ("embeds" [B, C, W] rows of the token table,
    and "tokens" [B, C] int64 where the end-of-text position is needed) → [B, E]."""
    g = Graph(weights)
    ops, p, width = g.ops, t.prefix, t.encoder.width
    embeds = ops.parameter([-1, t.context_length, width], np.float32, name="embeds")
    inputs = [embeds]
    positions = weights[p + "positional_embedding"][:t.context_length]
    x = g.layer_norm(g.encoder(ops.add(embeds, g.const(positions)), t.encoder), p + "ln_final",
                     t.encoder.eps)
    if t.pool == "argmax":  # open_clip: the position of the highest token id, end of text
        tokens = ops.parameter([-1, t.context_length], np.int64, name="tokens")
        inputs.insert(0, tokens)
        where = ops.topk(tokens, g.ints(1), 1, "max", "none", "i64").output(1)  # [B, 1]
        x = ops.squeeze(ops.gather(x, where, g.ints(1), 1), g.ints([1]))
    else:
        x = g.take(x, t.context_length - 1)
    if p + "text_projection.weight" in weights:
        x = g.linear(x, p + "text_projection")
    elif p + "text_projection" in weights:
        x = ops.matmul(x, g.tensor(p + "text_projection"), False, False)
    return _model(ops, x, inputs, "text")


def _model(ops, out, inputs, name: str):
    for param in inputs:  # fed by name: "pixels", "tokens", "embeds"
        param.output(0).get_tensor().set_names({param.get_friendly_name()})
    return openvino().Model([ops.result(out)], inputs, name)
