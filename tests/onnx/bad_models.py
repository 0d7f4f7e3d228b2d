"""Writes the ONNX files `cnnc import` must refuse (tests/suite_85_onnx.sh), each built with
Debian's python3-onnx and, where it should be, valid for onnx.checker: so each is refused for
the one reason its name gives.

    /usr/bin/python3 tests/onnx/bad_models.py GOOD.onnx OUT_DIR

GOOD.onnx is a model cnnc exported (its bytes are cut for the truncated cases). The suite
holds the message each case must give.
"""
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    print(f"bad_models: cannot import onnx ({e}); install python3-onnx", file=sys.stderr)
    sys.exit(77)


def conv_model(name, w=None, conv_attrs=None, inputs_shape=(None, 1, 8, 8), extra_nodes=(), conv_inputs=None,
               init=None, elem=TensorProto.FLOAT):
    """Input [N, 1, 8, 8] -> Conv (4 filters, 3x3) -> Flatten -> Gemm 10 -> Softmax."""
    w = np.ones((4, 1, 3, 3), np.float32) if w is None else w
    dims = ["N" if d is None else d for d in inputs_shape]
    x = helper.make_tensor_value_info("x", elem, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(np.zeros((144, 10), np.float32), "D")]
    if init is not None:
        inits = init
    nodes = [helper.make_node("Conv", conv_inputs or ["x", "W"], ["c"], name="conv", **(conv_attrs or {})),
             helper.make_node("Flatten", ["c"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "D"], ["g"], name="dense"),
             helper.make_node("Softmax", ["g"], ["y"], name="softmax")]
    nodes[1:1] = list(extra_nodes)
    graph = helper.make_graph(nodes, name, [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def raw_tensor(name, dims, raw):
    # Built by hand: onnx.helper refuses data that does not fit the dims, which is the point.
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def save(model, path):
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def main():
    good, out = sys.argv[1], sys.argv[2]
    data = open(good, "rb").read()
    open(f"{out}/truncated.onnx", "wb").write(data[: len(data) // 2])
    open(f"{out}/truncated_header.onnx", "wb").write(data[:7])
    open(f"{out}/empty.onnx", "wb").write(b"")
    open(f"{out}/text.onnx", "wb").write(b"model mnist_cnn { input 28x28x1; flatten; }\n")
    # Messages nested 5000 deep: GraphProto (field 7 of ModelProto) holding nodes whose
    # attributes hold graphs ... protobuf-c would recurse once per level.
    deep = b""
    for _ in range(3000):  # GraphProto.node (1) -> NodeProto.attribute (5) -> AttributeProto.g (6)
        deep = b"\x32" + varint(len(deep)) + deep
        deep = b"\x2a" + varint(len(deep)) + deep
        deep = b"\x0a" + varint(len(deep)) + deep
    open(f"{out}/nesting.onnx", "wb").write(b"\x3a" + varint(len(deep)) + deep)

    save(conv_model("double", w=np.ones((4, 1, 3, 3), np.float64)), f"{out}/double_kernel.onnx")
    save(conv_model("int_input", elem=TensorProto.INT64), f"{out}/int_input.onnx")
    big = raw_tensor("W", [1 << 40, 1 << 40, 3, 3], b"")
    save(conv_model("overflow", init=[big, numpy_helper.from_array(np.zeros((144, 10), np.float32), "D")]),
         f"{out}/overflow_dims.onnx")
    short = raw_tensor("W", [4, 1, 3, 3], b"\0" * 20)
    save(conv_model("short", init=[short, numpy_helper.from_array(np.zeros((144, 10), np.float32), "D")]),
         f"{out}/short_data.onnx")
    save(conv_model("missing", init=[numpy_helper.from_array(np.zeros((144, 10), np.float32), "D")]),
         f"{out}/missing_initializer.onnx")
    save(conv_model("dilation", conv_attrs={"dilations": [2, 2]}), f"{out}/dilation.onnx")
    save(conv_model("groups", w=np.ones((4, 1, 3, 3), np.float32), conv_attrs={"group": 2}), f"{out}/groups.onnx")
    save(conv_model("pads", conv_attrs={"pads": [1, 0, 0, 1]}), f"{out}/asymmetric_pads.onnx")
    save(conv_model("dynamic", inputs_shape=(None, 1, "H", 8)), f"{out}/dynamic_dim.onnx")
    save(conv_model("unknown", extra_nodes=[helper.make_node("LeakyRelu", ["c"], ["c2"], name="leaky")]),
         f"{out}/unknown_op.onnx")
    # A cycle: the two Relus read each other's outputs.
    m = conv_model("cycle")
    m.graph.node.insert(1, helper.make_node("Relu", ["c", "r2"], ["r1"], name="relu_a"))
    m.graph.node.insert(2, helper.make_node("Relu", ["r1"], ["r2"], name="relu_b"))
    save(m, f"{out}/cycle.onnx")
    # The graph layers (contract section 6) where cnnc cannot follow. A BatchNormalization in
    # training form (opset 15's training_mode), and one whose scale does not fit the channels.
    def bn_model(name, scale=4, opset=13, **attrs):
        m = conv_model(name, extra_nodes=[helper.make_node("BatchNormalization", ["c", "s", "b", "mean", "var"],
                                                           ["c2"], name="bn", **attrs)])
        m.graph.initializer.extend([numpy_helper.from_array(np.ones(scale, np.float32), "s")] +
                                   [numpy_helper.from_array(np.ones(4, np.float32), n) for n in ("b", "mean", "var")])
        m.graph.node[2].input[0] = "c2"
        del m.opset_import[:]
        m.opset_import.extend([helper.make_opsetid("", opset)])
        return m
    save(bn_model("bn_training", opset=15, training_mode=1), f"{out}/bn_training.onnx")
    save(bn_model("bn_scale", scale=3), f"{out}/bn_scale.onnx")
    # A branch that leads nowhere: the convolution's output also read by a Relu nothing reads.
    m = conv_model("branch")
    m.graph.node.insert(1, helper.make_node("Relu", ["c"], ["unused"], name="side"))
    save(m, f"{out}/branch.onnx")
    # Add of two tensors of different shapes (ONNX broadcasts; Keras' Add does not).
    w2 = np.ones((2, 1, 3, 3), np.float32)
    m = conv_model("add_shapes", extra_nodes=[helper.make_node("Conv", ["x", "W2"], ["c2"], name="conv2"),
                                              helper.make_node("Add", ["c", "c2"], ["s"], name="add")])
    m.graph.initializer.extend([numpy_helper.from_array(w2, "W2")])
    m.graph.node[3].input[0] = "s"
    save(m, f"{out}/add_shapes.onnx")
    # Concat along the height, not the channels.
    m = conv_model("concat_axis", extra_nodes=[helper.make_node("Concat", ["c", "c"], ["j"], name="concat", axis=2)])
    m.graph.node[2].input[0] = "j"
    m.graph.initializer[1].CopyFrom(numpy_helper.from_array(np.zeros((288, 10), np.float32), "D"))
    save(m, f"{out}/concat_axis.onnx")
    # GlobalAveragePool's [N, C, 1, 1] read by something other than a Flatten.
    m = conv_model("pooled_reader", extra_nodes=[helper.make_node("GlobalAveragePool", ["c"], ["p"], name="gap"),
                                                 helper.make_node("Relu", ["p"], ["r"], name="relu")])
    m.graph.node[3].input[0] = "r"
    m.graph.initializer[1].CopyFrom(numpy_helper.from_array(np.zeros((4, 10), np.float32), "D"))
    save(m, f"{out}/pooled_reader.onnx")
    # Valid ONNX that checks out as a model cnnc cannot train on MNIST: 5 classes.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])
    g = helper.make_graph([helper.make_node("Flatten", ["x"], ["f"], name="flatten"),
                           helper.make_node("Gemm", ["f", "D"], ["y"], name="dense")], "five", [x], [y],
                          [numpy_helper.from_array(np.zeros((784, 5), np.float32), "D")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{out}/five_classes.onnx")

    # Two small models cnnc must accept, written as other exporters write them: PyTorch's NCHW
    # with a Reshape to 2-D and MatMul then Add; Keras's NHWC input with Transpose pairs.
    rng = np.random.default_rng(85)
    conv_w = rng.uniform(-1, 1, (2, 1, 3, 3)).astype(np.float32)
    dense_w = rng.uniform(-0.2, 0.2, (392, 10)).astype(np.float32)
    bias = rng.uniform(-1, 1, 10).astype(np.float32)
    inits = [numpy_helper.from_array(conv_w, "W"), numpy_helper.from_array(dense_w, "D"),
             numpy_helper.from_array(bias, "B"), numpy_helper.from_array(np.array([0, -1], np.int64), "shape")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "shape"], ["f"], name="reshape"),
             helper.make_node("MatMul", ["f", "D"], ["m"], name="matmul"),
             helper.make_node("Add", ["m", "B"], ["a"], name="add"),
             helper.make_node("Softmax", ["a"], ["y"], name="softmax", axis=1)]
    g = helper.make_graph(nodes, "nchw", [x], [y], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{out}/good_nchw.onnx")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 28, 28, 1])
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="to_nchw", perm=[0, 3, 1, 2])] + nodes
    nodes[1].input[0] = "t"
    nodes.insert(4, helper.make_node("Transpose", ["p"], ["pt"], name="to_nhwc", perm=[0, 2, 3, 1]))
    nodes[5].input[0] = "pt"
    nodes[5].op_type = "Flatten"
    del nodes[5].input[1]
    nodes[5].attribute.extend([helper.make_attribute("axis", 1)])
    # As tf2onnx leaves them: the activation between a Transpose pair, still conv2d's own.
    nodes[1].output[0] = "c_nchw"
    nodes.insert(2, helper.make_node("Transpose", ["c_nchw"], ["c"], name="conv_to_nhwc", perm=[0, 2, 3, 1]))
    nodes.insert(4, helper.make_node("Transpose", ["r"], ["r_nchw"], name="relu_to_nchw", perm=[0, 3, 1, 2]))
    nodes[5].input[0] = "r_nchw"
    g = helper.make_graph(nodes, "nhwc", [x], [y], inits[:3])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{out}/good_nhwc.onnx")


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


main()
