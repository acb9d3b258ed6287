"""Build the sentiment ONNX graph straight from BERT weights (numpy arrays).

Training-time only (needs the ``onnx`` package from the ``train`` extra); the
runtime never imports this module.

The graph is ONE model: ``input_ids`` + ``attention_mask`` (int64, [batch, seq])
in, ``probabilities`` (float32, [batch, 3]) out. Inside: BERT encoder
(all-MiniLM-L6-v2 layout), masked mean pooling, L2 normalisation, linear head,
softmax. Building it from the weights (instead of tracing a torch module) keeps
one export path for the frozen and the fine-tuned model, needs no torch, and
lets us emit onnxruntime's fused contrib ops (``Attention``,
``SkipLayerNormalization``, ``BiasGelu``) which the dynamic quantizer turns into
``QAttention`` + ``MatMulInteger``: that is what makes int8 fast on 2 cores.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

LABELS = ("negative", "neutral", "positive")

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Read a .safetensors file into numpy arrays (no torch, no safetensors package)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dt = _ST_DTYPES[meta["dtype"]]
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dt).reshape(meta["shape"]).copy()
    return out


def _strip_prefix(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for k, v in weights.items():
        for p in ("bert.", "encoder_model.", "model."):
            if k.startswith(p) and not k.startswith("encoder.layer"):
                k = k[len(p):]
        out[k] = v
    return out


def build_model(
    weights: dict[str, np.ndarray],
    head_w: np.ndarray,
    head_b: np.ndarray,
    *,
    num_heads: int = 12,
    eps: float = 1e-12,
    fused: bool = True,
    normalize: bool = True,
    opset: int = 17,
):
    """Return an ``onnx.ModelProto`` for encoder + mean pooling + head + softmax.

    ``weights`` uses Hugging Face BertModel names (``embeddings.*``,
    ``encoder.layer.N.*``). ``head_w`` is [hidden, 3], ``head_b`` is [3].
    ``fused=True`` emits onnxruntime contrib ops (CPU-only graph is fine: the
    runtime is onnxruntime); ``fused=False`` emits plain ONNX ops only.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = {k: np.asarray(v) for k, v in _strip_prefix(weights).items()}
    nodes: list = []
    inits: list = []

    def init(name: str, arr) -> str:
        arr = np.asarray(arr)
        if arr.dtype == np.float64 or arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(op, inputs, outputs=None, name=None, domain=None, **attrs):
        name = name or f"{op}_{len(nodes)}"
        outputs = outputs or [name + "_out"]
        kw = {"domain": domain} if domain else {}
        nodes.append(helper.make_node(op, inputs, outputs, name=name, **kw, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    hidden = w["embeddings.word_embeddings.weight"].shape[1]
    head_dim = hidden // num_heads
    n_layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("encoder.layer."))

    # --- embeddings: word + position + token_type[0] (folded), LayerNorm
    word = w["embeddings.word_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0][None, :]
    init("word_emb", word)
    init("pos_emb", w["embeddings.position_embeddings.weight"])
    we = node("Gather", ["word_emb", "input_ids"], name="word_gather")
    shape = node("Shape", ["input_ids"], name="ids_shape")
    init("one_idx", np.array(1, dtype=np.int64))
    init("zero_i64", np.array(0, dtype=np.int64))
    init("one_i64", np.array(1, dtype=np.int64))
    seq = node("Gather", [shape, "one_idx"], name="seq_len", axis=0)
    pos_ids = node("Range", ["zero_i64", seq, "one_i64"], name="pos_range")
    pe = node("Gather", ["pos_emb", pos_ids], name="pos_gather")
    emb = node("Add", [we, pe], name="emb_add")
    x = node(
        "LayerNormalization",
        [emb, init("emb_ln_g", w["embeddings.LayerNorm.weight"]), init("emb_ln_b", w["embeddings.LayerNorm.bias"])],
        name="emb_ln", axis=-1, epsilon=eps,
    )

    mask_f = node("Cast", ["attention_mask"], name="mask_f", to=TensorProto.FLOAT)
    if fused:
        mask_i32 = node("Cast", ["attention_mask"], name="mask_i32", to=TensorProto.INT32)
    else:
        init("axes_12", np.array([1, 2], dtype=np.int64))
        m4 = node("Unsqueeze", [mask_f, "axes_12"], name="mask_4d")
        init("one_f", np.array(1.0, dtype=np.float32))
        init("neg_big", np.array(-10000.0, dtype=np.float32))
        inv = node("Sub", ["one_f", m4], name="mask_inv")
        mask_add = node("Mul", [inv, "neg_big"], name="mask_add")
        init("shape_bsnh", np.array([0, 0, num_heads, head_dim], dtype=np.int64))
        init("shape_bsh", np.array([0, 0, hidden], dtype=np.int64))
        init("scale", np.array(1.0 / math.sqrt(head_dim), dtype=np.float32))
        init("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
        init("half", np.array(0.5, dtype=np.float32))

    for i in range(n_layers):
        p = f"encoder.layer.{i}."
        wq, wk, wv = (w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value"))
        bq, bk, bv = (w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value"))
        wo, bo = w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"]
        ln1g, ln1b = w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]
        wi, bi = w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]
        wo2, bo2 = w[p + "output.dense.weight"], w[p + "output.dense.bias"]
        ln2g, ln2b = w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
        L = f"l{i}_"
        if fused:
            qkv_w = np.concatenate([wq.T, wk.T, wv.T], axis=1)  # [H, 3H]
            qkv_b = np.concatenate([bq, bk, bv])
            ctx = node(
                "Attention",
                [x, init(L + "qkv_w", qkv_w), init(L + "qkv_b", qkv_b), mask_i32],
                name=L + "attn", domain="com.microsoft", num_heads=num_heads,
            )
            ao = node("MatMul", [ctx, init(L + "ao_w", wo.T)], name=L + "ao_mm")
            x1 = node(
                "SkipLayerNormalization",
                [ao, x, init(L + "ln1_g", ln1g), init(L + "ln1_b", ln1b), init(L + "ao_b", bo)],
                name=L + "ln1", domain="com.microsoft", epsilon=eps,
            )
            h = node("MatMul", [x1, init(L + "fi_w", wi.T)], name=L + "fi_mm")
            h = node("BiasGelu", [h, init(L + "fi_b", bi)], name=L + "gelu", domain="com.microsoft")
            h = node("MatMul", [h, init(L + "fo_w", wo2.T)], name=L + "fo_mm")
            x = node(
                "SkipLayerNormalization",
                [h, x1, init(L + "ln2_g", ln2g), init(L + "ln2_b", ln2b), init(L + "fo_b", bo2)],
                name=L + "ln2", domain="com.microsoft", epsilon=eps,
            )
        else:
            def lin(inp, W, b, nm):
                mm = node("MatMul", [inp, init(L + nm + "_w", W.T)], name=L + nm + "_mm")
                return node("Add", [mm, init(L + nm + "_b", b)], name=L + nm + "_add")

            def heads(t, nm, perm):
                r = node("Reshape", [t, "shape_bsnh"], name=L + nm + "_rs")
                return node("Transpose", [r], name=L + nm + "_tr", perm=perm)

            q = heads(lin(x, wq, bq, "q"), "q", [0, 2, 1, 3])
            k = heads(lin(x, wk, bk, "k"), "k", [0, 2, 3, 1])
            v = heads(lin(x, wv, bv, "v"), "v", [0, 2, 1, 3])
            s = node("MatMul", [q, k], name=L + "qk")
            s = node("Mul", [s, "scale"], name=L + "qk_scale")
            s = node("Add", [s, mask_add], name=L + "qk_mask")
            a = node("Softmax", [s], name=L + "softmax", axis=-1)
            c = node("MatMul", [a, v], name=L + "ctx")
            c = node("Transpose", [c], name=L + "ctx_tr", perm=[0, 2, 1, 3])
            c = node("Reshape", [c, "shape_bsh"], name=L + "ctx_rs")
            ao = lin(c, wo, bo, "ao")
            r1 = node("Add", [ao, x], name=L + "res1")
            x1 = node("LayerNormalization", [r1, init(L + "ln1_g", ln1g), init(L + "ln1_b", ln1b)],
                      name=L + "ln1", axis=-1, epsilon=eps)
            h = lin(x1, wi, bi, "fi")
            g = node("Div", [h, "sqrt2"], name=L + "g_div")
            g = node("Erf", [g], name=L + "g_erf")
            g = node("Add", [g, "one_f"], name=L + "g_add")
            g = node("Mul", [h, g], name=L + "g_mul")
            g = node("Mul", [g, "half"], name=L + "g_half")
            h = lin(g, wo2, bo2, "fo")
            r2 = node("Add", [h, x1], name=L + "res2")
            x = node("LayerNormalization", [r2, init(L + "ln2_g", ln2g), init(L + "ln2_b", ln2b)],
                     name=L + "ln2", axis=-1, epsilon=eps)

    # --- masked mean pooling (+ L2 normalise as sentence-transformers does)
    init("axis_m1", np.array([-1], dtype=np.int64))
    init("axis_1", np.array([1], dtype=np.int64))
    init("eps_pool", np.array(1e-9, dtype=np.float32))
    m3 = node("Unsqueeze", [mask_f, "axis_m1"], name="pool_mask")
    hm = node("Mul", [x, m3], name="pool_mul")
    ssum = node("ReduceSum", [hm, "axis_1"], name="pool_sum", keepdims=0)
    cnt = node("ReduceSum", [m3, "axis_1"], name="pool_cnt", keepdims=0)
    cnt = node("Max", [cnt, "eps_pool"], name="pool_cnt_clamp")
    pooled = node("Div", [ssum, cnt], name="pool_mean")
    if normalize:
        init("eps_norm", np.array(1e-12, dtype=np.float32))
        nrm = node("ReduceL2", [pooled], name="l2", axes=[-1], keepdims=1)
        nrm = node("Max", [nrm, "eps_norm"], name="l2_clamp")
        pooled = node("Div", [pooled, nrm], name="l2_div")
    logits = node("MatMul", [pooled, init("head_w", np.asarray(head_w, np.float32))], name="head_mm")
    logits = node("Add", [logits, init("head_b", np.asarray(head_b, np.float32))], name="head_add")
    node("Softmax", [logits], ["probabilities"], name="softmax_out", axis=-1)

    graph = helper.make_graph(
        nodes,
        "pulsewire_sentiment",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", len(LABELS)])],
        inits,
    )
    opsets = [helper.make_opsetid("", opset)]
    if fused:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="pulsewire")
    model.ir_version = 8
    return model


def build_encoder_only(weights: dict[str, np.ndarray], **kw):
    """Graph whose 'probabilities' output is replaced by the pooled embedding.

    Used to compute frozen-encoder features for training the linear head
    without torch: a head of identity weights would need 384 outputs, so we
    build the full model and expose the normalised pooled vector instead.
    """
    import onnx
    from onnx import TensorProto, helper

    hidden = _strip_prefix(weights)["embeddings.word_embeddings.weight"].shape[1]
    m = build_model(weights, np.zeros((hidden, len(LABELS)), np.float32), np.zeros(len(LABELS), np.float32), **kw)
    g = m.graph
    # the input of head_mm is the pooled (normalised) vector
    pooled_name = next(n for n in g.node if n.name == "head_mm").input[0]
    keep = []
    for n in g.node:
        if n.name in ("head_mm", "head_add", "softmax_out"):
            continue
        keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    del g.output[:]
    g.output.extend([helper.make_tensor_value_info(pooled_name, TensorProto.FLOAT, ["batch", hidden])])
    for name in ("head_w", "head_b"):
        for i, t in enumerate(g.initializer):
            if t.name == name:
                del g.initializer[i]
                break
    return m


def quantize_int8(fp32_path: str | Path, int8_path: str | Path) -> None:
    """Dynamic int8 quantization, per-channel weights (QAttention + MatMulInteger + Gather)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32_path),
        str(int8_path),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Attention", "Gather"],
        nodes_to_exclude=["head_mm", "pos_gather", "seq_len"],
        extra_options={"DefaultTensorType": 1},
    )


def tiny_random_weights(vocab: int = 30522, hidden: int = 8, layers: int = 2, inter: int = 16,
                        max_pos: int = 512, seed: int = 0) -> dict[str, np.ndarray]:
    """Random BERT weights of a tiny shape, for test fixtures (exactness of padding, not accuracy)."""
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(vocab, hidden),
        "embeddings.position_embeddings.weight": r(max_pos, hidden),
        "embeddings.token_type_embeddings.weight": r(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            w[p + f"attention.self.{n}.weight"] = r(hidden, hidden)
            w[p + f"attention.self.{n}.bias"] = r(hidden, scale=0.1)
        w[p + "attention.output.dense.weight"] = r(hidden, hidden)
        w[p + "attention.output.dense.bias"] = r(hidden, scale=0.1)
        w[p + "attention.output.LayerNorm.weight"] = np.ones(hidden, np.float32)
        w[p + "attention.output.LayerNorm.bias"] = np.zeros(hidden, np.float32)
        w[p + "intermediate.dense.weight"] = r(inter, hidden)
        w[p + "intermediate.dense.bias"] = r(inter, scale=0.1)
        w[p + "output.dense.weight"] = r(hidden, inter)
        w[p + "output.dense.bias"] = r(hidden, scale=0.1)
        w[p + "output.LayerNorm.weight"] = np.ones(hidden, np.float32)
        w[p + "output.LayerNorm.bias"] = np.zeros(hidden, np.float32)
    return w


def write_tiny_fixture(dest: str | Path, tokenizer_json: str | Path, seed: int = 0) -> None:
    """Write a tiny fp32 model dir (model.onnx, tokenizer.json, manifest.json) for tests.

    ``python -c "from pulsewire.models.sentiment.onnx_build import write_tiny_fixture as w;
    w('tests/fixtures/sentiment/tiny_fp32', 'models/sentiment/artifacts/tokenizer.json')"``
    """
    import hashlib
    import shutil

    import onnx

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    w = tiny_random_weights(seed=seed)
    head_w = (rng.standard_normal((8, 3)) * 8).astype(np.float32)
    onnx.save(build_model(w, head_w, np.zeros(3, np.float32), num_heads=2, fused=True), str(dest / "model.onnx"))
    shutil.copy(tokenizer_json, dest / "tokenizer.json")
    files = {n: hashlib.sha256((dest / n).read_bytes()).hexdigest() for n in ("model.onnx", "tokenizer.json")}
    manifest = {"name": "tiny-random-test-model", "version": "tiny-random-fp32-test", "labels": list(LABELS),
                "model": "model.onnx", "tokenizer": "tokenizer.json", "pad_id": 0, "max_position_embeddings": 512,
                "files": files, "note": "random weights: for padding/contract tests only"}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
